#!/usr/bin/env bash
# Training suite, standalone part: builds test/unit/train_check and
# data_check (make train_check), runs the golden training steps of the four
# tiny models of ../shared/testmodels/golden/train/ and the checks of the
# input recipes (masking, next-sentence pairs, word alignment).  Prints train_check's lines for
# each model (failures in full, passes counted) and ends with
# "train_check: N passed, M failed" over all models.
#   TRAIN_CHECK_VERBOSE=1   print every checked quantity
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
SHARED=${BERT_SHARED:-$ROOT/../shared}
MODELS=$SHARED/testmodels
GOLDEN=$MODELS/golden/train

if ! make -s train_check >/tmp/train_check_build.$$ 2>&1; then
	cat /tmp/train_check_build.$$
	rm -f /tmp/train_check_build.$$
	echo "train_check: 0 passed, 1 failed"
	exit 1
fi
rm -f /tmp/train_check_build.$$

passed=0
failed=0
for m in bert-tiny-random-cls distilbert-tiny-random-cls bert-tiny-random-ner bert-tiny-random-pretrain; do
	out=$(test/unit/train_check "$MODELS/$m" "$GOLDEN/$m.json" "$GOLDEN/$m.grads.safetensors" \
		"$GOLDEN/$m.after.safetensors" 2>&1)
	rc=$?
	if [ "${TRAIN_CHECK_VERBOSE:-0}" = 1 ]; then
		echo "$out"
	else
		echo "$out" | grep -v '^ok ' | grep -v '^train_check:'
		echo "  $(echo "$out" | grep -c '^ok ') checks ok, e.g.:"
		echo "$out" | grep -E '^ok +(loss step 5|inference parity before|gradient with dropout|grad .*word_embeddings|after training, all but)' |
			sed 's/^/    /'
	fi
	p=$(echo "$out" | sed -n 's/^train_check: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$out" | sed -n 's/^train_check: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		p=0
		f=1
	fi
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
done
# the input recipes of the three tasks
out=$(test/unit/data_check "$MODELS/bert-tiny-random-pretrain" 2>&1)
echo "$out"
p=$(echo "$out" | sed -n 's/^data_check: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(echo "$out" | sed -n 's/^data_check: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-1}))
echo "train_check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
