#!/usr/bin/env bash
# Encoder suite, standalone part: builds test/unit/encoder_check (make
# encoder_check) and compares every golden inference row of
# ../shared/testmodels/golden/ with the tokenizer, encoder and heads run
# without a server.  Prints the failing rows in full, the passing ones
# counted, the largest difference of each model, and ends with
# "encoder_check: N passed, M failed" (rows).
#   ENCODER_CHECK_VERBOSE=1   print every row's line
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
SHARED=${BERT_SHARED:-$ROOT/../shared}

log=$(mktemp)
if ! make -s encoder_check >"$log" 2>&1; then
	cat "$log"
	rm -f "$log"
	echo "encoder_check: 0 passed, 1 failed"
	exit 1
fi
rm -f "$log"

out=$(test/unit/encoder_check "$SHARED/testmodels" 2>&1)
rc=$?
if [ "${ENCODER_CHECK_VERBOSE:-0}" = 1 ]; then
	echo "$out"
else
	echo "$out" | grep -v '^ok ' | grep -v '^encoder_check:'
	echo "  $(echo "$out" | grep -c '^ok ') rows ok"
	echo "$out" | grep '^encoder_check:' || echo "encoder_check: 0 passed, 1 failed"
fi
[ "$rc" -eq 0 ]
