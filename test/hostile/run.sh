#!/usr/bin/env bash
# test/hostile/run.sh: hostile inputs and injected faults against bert.
#
#   text      huge, degenerate and garbage text: results must be defined and
#             the cost bounded by the sequence limit, not by the text length
#   encoding  SQL_ASCII and LATIN1 databases
#   bounds    the rows, memory and forward passes of one call are bounded:
#             bert_fill_mask, the batched forms, bert_answer windows
#   cancel    statement_timeout and pg_cancel_backend during long work
#   filesystem  model files deleted, replaced, truncated, overwritten,
#             unreadable or linked outside bert.model_dir while a backend
#             holds the model in its cache
#   blas      bert.threads capped at the CPUs; OpenBLAS under an
#             address-space limit (a second server started with ulimit -v)
#   cache     the shared prepared copies of bert.cache_dir: stale, truncated,
#             garbage, rewritten while mapped or during a call, unwritable
#             directory, full disk, a plan file measured again while a
#             backend holds the model, 8 backends loading a new model at once,
#             private memory per backend
# Every case asserts an ERROR with a clear message or a defined result, and
# prints PASS/FAIL with the figure or error it saw.  The last line is
# "hostile: N passed, M failed"; the exit status is non-zero when M > 0.
#
# Run by test/run_tests.sh with the cluster started (PGHOST... exported), or
# alone: it then starts its own throwaway cluster (the extension must be
# installed: make install).  HOSTILE_SKIP_CRASHERS=1 skips the cases known to
# crash the server (reported as SKIP); HOSTILE_GROUPS="text cancel" runs only
# those groups.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export ROOT

if [ -z "${PGHOST:-}" ]; then
	# shellcheck source=../cluster.sh
	source "$ROOT/test/cluster.sh"
	cluster_start || exit 1
	OWN_CLUSTER=1
fi
: "${BERT_SHARED:=$(cd "$ROOT/../shared" && pwd)}"
: "${BERT_TESTMODELS:=$BERT_SHARED/testmodels}"
: "${BERT_MODELS:=$BERT_SHARED/models}"
SHARED_SRC=$(cd "$ROOT/../shared" 2>/dev/null && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

source "$HERE/lib.sh"

WORK=$(mktemp -d "${CLUSTER_DIR:-/tmp}/hostile.XXXXXX")
chmod 755 "$WORK"
DB=bert_hostile
DB_ASCII=bert_hostile_sqlascii
DB_LATIN1=bert_hostile_latin1
SERVER_LOG=${CLUSTER_DIR:+$CLUSTER_DIR/server.log}
LOG_START=0
[ -n "$SERVER_LOG" ] && [ -f "$SERVER_LOG" ] && LOG_START=$(stat -c %s "$SERVER_LOG")

as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
	# a group's own server (blas.sh), if one is still up
	declare -F blas_cleanup >/dev/null && blas_cleanup
	for d in "$DB" "$DB_ASCII" "$DB_LATIN1"; do
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1
	done
	chmod -R u+rwX "$WORK" 2>/dev/null
	rm -rf "$WORK"
}
if [ -n "${OWN_CLUSTER:-}" ]; then
	trap 'cleanup; cluster_stop' EXIT
else
	trap cleanup EXIT
fi

# one UTF8 database for most cases; model_dir defaults to the test models
export PGOPTIONS="${PGOPTIONS:-} -c bert.model_dir=${BERT_TESTMODELS// /\\ }"
for d in "$DB" "$DB_ASCII" "$DB_LATIN1"; do
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1
done
psql -X -q -d postgres -v ON_ERROR_STOP=1 \
	-c "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'" \
	-c "CREATE DATABASE $DB_ASCII TEMPLATE template0 ENCODING 'SQL_ASCII' LOCALE 'C'" \
	-c "CREATE DATABASE $DB_LATIN1 TEMPLATE template0 ENCODING 'LATIN1' LOCALE 'C'" ||
	{ echo "hostile: could not create the test databases"; echo "hostile: 0 passed, 1 failed"; exit 1; }
for d in "$DB" "$DB_ASCII" "$DB_LATIN1"; do
	psql -X -q -d "$d" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION bert" >/dev/null ||
		{ echo "hostile: CREATE EXTENSION bert failed in $d (make install?)"; echo "hostile: 0 passed, 1 failed"; exit 1; }
done

SUMMARY=()
START_MS=$(now_ms)
for group in ${HOSTILE_GROUPS:-text encoding bounds cancel filesystem blas cache}; do
	t0=$(now_ms)
	source "$HERE/$group.sh"
	"group_$group"
	SUMMARY+=("$group: $GROUP_SUMMARY ($(( ($(now_ms) - t0) / 1000 )) s)")
done

# after everything: no backend may have died
echo "== hostile/server-log"
crashes=""
if [ -n "$SERVER_LOG" ] && [ -f "$SERVER_LOG" ]; then
	crashes=$(tail -c +$((LOG_START + 1)) "$SERVER_LOG" |
		grep -E "terminated by signal|server process .* (was terminated|exited with exit code)|PANIC" || true)
	if [ -n "$crashes" ]; then
		fail "server-log/no-crash" "$(printf '%s\n' "$crashes" | grep -c .) crash line(s): $(printf '%s' "$crashes" | head -3 | tr '\n' ' ')"
	else
		pass "server-log/no-crash" "no 'terminated by signal' / 'server process' line since the suite started"
	fi
else
	skip "server-log/no-crash" "no server log at \$CLUSTER_DIR/server.log"
fi

echo "== hostile summary ($(( ($(now_ms) - START_MS) / 1000 )) s)"
printf '%s\n' "${SUMMARY[@]}"
echo "hostile: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
