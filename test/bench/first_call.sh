#!/usr/bin/env bash
# test/bench/first_call.sh: the cost of the first model call of a new
# connection.  Not part of the test command.
#
#   bash test/bench/first_call.sh [N]      (N connections, default 15)
#
# Starts a throwaway cluster (test/cluster.sh) with bert in
# shared_preload_libraries (FIRST_CALL_PRELOAD=0: loaded on first use
# instead), points bert.model_dir at the bench models (BENCH_CACHE, default
# /tmp/bert-bench, as test/bench/bench.sh makes them; a random F32 BERT base
# is generated there if missing), and runs one connection that writes the
# model's cache and plan files.  Then each of N new connections runs the same
# bert_sentiment() call twice, timed by psql (\timing): the first call pays
# for loading the model, touching its mapped weights and opening OpenBLAS,
# the second is warm.  Prints both times per connection, the medians and the
# median of first - warm, with the CPU and the OpenBLAS kernel.
# FIRST_CALL_MODEL names another model under bert.model_dir;
# FIRST_CALL_EVICT=1 evicts the model file from the page cache first.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${1:-15}
SHARED=$(cd "$ROOT/../shared" && pwd)
CACHE=${BENCH_CACHE:-/tmp/bert-bench}
MODELS=$CACHE/models
MODEL=${FIRST_CALL_MODEL:-bert-base}
TEXT="a gripping, beautifully acted film that stays with you long after the credits"

if [ ! -f "$MODELS/$MODEL/model.safetensors" ]; then
	[ "$MODEL" = bert-base ] || { echo "no model $MODELS/$MODEL" >&2; exit 1; }
	mkdir -p "$MODELS"
	rm -rf "$MODELS/$MODEL.tmp"
	/usr/bin/python3 "$SHARED/tools/ref/make_random_model.py" "$MODELS/$MODEL.tmp" --arch bert \
		--layers 12 --hidden 768 --heads 12 --intermediate 3072 >/dev/null
	mv "$MODELS/$MODEL.tmp" "$MODELS/$MODEL"
fi
chmod -R u+w,a+rX "$CACHE"

source test/cluster.sh
as_pg test -r "$MODELS/$MODEL/model.safetensors" ||
	{ echo "the server's user cannot read $MODELS: set BENCH_CACHE to a folder it can reach" >&2; exit 1; }
PRELOAD=${FIRST_CALL_PRELOAD:-1}
opts=(-c "bert.model_dir=$MODELS")
[ "$PRELOAD" = 1 ] && opts+=(-c shared_preload_libraries=bert)
CLUSTER_DIR=$(server_dir)
PGPORT=$(free_port)
server_create "$CLUSTER_DIR" "$PGPORT" UTF8 "${opts[@]}"
export PGHOST=$CLUSTER_DIR PGPORT PGUSER=postgres PGDATABASE=postgres CLUSTER_DIR
trap cluster_stop EXIT
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION bert"
# FIRST_CALL_EVICT=1: drop the model file from the page cache first, so that
# the next connection reads it back through bert's mapping (in 2 MB folios
# where the kernel gives them, see README "Memory and first call")
[ "${FIRST_CALL_EVICT:-0}" = 1 ] &&
	dd if="$MODELS/$MODEL/model.safetensors" iflag=nocache count=0 status=none
# the cache and plan files, the page cache warm
psql -X -q -v ON_ERROR_STOP=1 -c "SELECT bert_sentiment('$TEXT', '$MODEL')" >/dev/null
core=$(psql -X -qAt -c "SELECT bert_sentiment('$TEXT', '$MODEL')" \
	-c "SELECT gemm_plan FROM bert_models() WHERE name = '$MODEL'" 2>/dev/null | tail -1 || true)

call="SELECT bert_sentiment('$TEXT', '$MODEL');"
# one connection: the CPU time of its backend (ns, /proc/PID/schedstat)
# before and after each call, and psql's wall-clock time of each call
conn() {
	psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SELECT pg_backend_pid() AS pid \\gset
\\setenv BPID :pid
\\! awk '{ print "cpu", \$1 }' /proc/\$BPID/schedstat
\\timing on
$call
\\timing off
\\! awk '{ print "cpu", \$1 }' /proc/\$BPID/schedstat
\\timing on
$call
\\timing off
\\! awk '{ print "cpu", \$1 }' /proc/\$BPID/schedstat
SELECT 'load ' || load_ms FROM bert_models() WHERE name = '$MODEL';
SQL
}
printf '%-5s %10s %10s %10s %12s %12s %12s %8s\n' conn first_ms warm_ms extra_ms first_cpu_ms warm_cpu_ms extra_cpu_ms load_ms
rows=()
for i in $(seq 1 "$N"); do
	row=$(conn | awk -v i="$i" '
		/^cpu / { c[++nc] = $2 }
		/^Time: / { w[++nw] = $2 }
		/^load / { l = $2 }
		END {
			fc = (c[2] - c[1]) / 1e6; wc = (c[3] - c[2]) / 1e6
			printf "%-5s %10.3f %10.3f %10.3f %12.3f %12.3f %12.3f %8.3f", i, w[1], w[2], w[1] - w[2], fc, wc, fc - wc, l
		}')
	echo "$row"
	rows+=("$row")
done
median() { # COLUMN
	printf '%s\n' "${rows[@]}" | awk -v k="$1" '{ print $k }' | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "median over $N connections: wall-clock first $(median 2) ms, warm $(median 3) ms, first - warm $(median 4) ms"
echo "                           backend CPU first $(median 5) ms, warm $(median 6) ms, first - warm $(median 7) ms; model load $(median 8) ms"
# the steps of one more first call, from the DEBUG1 messages
PGOPTIONS="-c client_min_messages=debug1" psql -X -q -c "$call" 2>&1 >/dev/null |
	grep -E 'OpenBLAS ready|loaded model|load' | sed 's/^/  /' || true
echo "model $MODEL; bert preloaded: $PRELOAD; CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); OpenBLAS kernel: $(echo "$core" | awk '{ print $2 }'); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
