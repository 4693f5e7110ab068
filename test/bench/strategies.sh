#!/usr/bin/env bash
# The matrix product plans side by side: rows per CPU-second of the plain
# query under each bert.gemm_strategy, the prior rule (no cache) and the
# measured plan, on the native OpenBLAS kernel and with Haswell forced.
#
#   bash test/bench/strategies.sh MODEL_DIR MODEL [ROWS [RUNS]]
#
# MODEL_DIR is a bert.model_dir (readable by the server's user), MODEL a
# sequence classifier in it; ROWS SST-2 dev sentences (default 300), RUNS
# interleaved runs per configuration (default 5; the median and the best
# are printed).  Time is the backend's CPU time (/proc/PID/stat), so that a
# busy machine slows the figures less than wall time would; still, compare
# ratios within one run only.  Starts its own throwaway cluster (the
# extension must be installed: make install).  Prints figures; never fails
# on one.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MODEL_DIR=${1:?usage: strategies.sh MODEL_DIR MODEL [ROWS [RUNS]]}
MODEL=${2:?usage: strategies.sh MODEL_DIR MODEL [ROWS [RUNS]]}
ROWS=${3:-300}
RUNS=${4:-5}
CONFIGS=("1.0-tiles:-c bert.gemm_strategy=nt_tiled" "nt:-c bert.gemm_strategy=nt"
	"nn:-c bert.gemm_strategy=nn" "nn_tiled:-c bert.gemm_strategy=nn_tiled"
	"prior:-c bert.cache_dir=" "measured:")

source "$ROOT/test/cluster.sh"
unset OPENBLAS_CORETYPE
cluster_start
WORK=$CLUSTER_DIR/strategies
mkdir -p "$WORK"
awk -F'\t' -v n="$ROWS" 'NR <= n {print $2}' "$ROOT/../shared/data/reviews/sst2_dev.tsv" >"$WORK/rows.txt"
chmod -R a+rX "$WORK"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION bert" -c "CREATE TABLE t (t text)" \
	-c "\\copy t FROM '$WORK/rows.txt' WITH (FORMAT text, DELIMITER E'\\x01')"

# cpu_ms OPTIONS: the backend CPU milliseconds of one pass over t
cpu_ms() {
	PGOPTIONS="$1" psql -X -At <<SQL | awk -F'[{},]' 'NF > 3 {t[++n] = $2 + $3} END {print (t[2] - t[1]) * 10}'
SET bert.model_dir = '$MODEL_DIR';
SELECT bert_sentiment('warm', '$MODEL') IS NOT NULL;
SELECT (regexp_split_to_array(pg_read_file('/proc/self/stat'), ' '))[14:15];
SELECT count(bert_sentiment(t, '$MODEL')) FROM t;
SELECT (regexp_split_to_array(pg_read_file('/proc/self/stat'), ' '))[14:15];
SQL
}

run_all() {
	declare -A ms
	echo "== kernel $(psql -X -At -c "SET bert.model_dir = '$MODEL_DIR'" \
		-c "SELECT bert_sentiment('warm', '$MODEL') IS NOT NULL" \
		-c "SELECT gemm_plan FROM bert_models()" | tail -1)"
	for _ in $(seq 1 "$RUNS"); do
		for c in "${CONFIGS[@]}"; do
			ms[${c%%:*}]="${ms[${c%%:*}]:-} $(cpu_ms "${c#*:}")"
		done
	done
	for c in "${CONFIGS[@]}"; do
		printf '%s\n' ${ms[${c%%:*}]} | sort -n | awk -v name="${c%%:*}" -v rows="$ROWS" \
			'{v[NR] = $1} END {m = v[int((NR + 1) / 2)]; printf "%-10s median %6d ms (%.1f rows/CPU-s), best %6d ms\n", name, m, rows * 1000 / m, v[1]}'
	done
}

echo "$(grep -m1 'model name' /proc/cpuinfo); $MODEL, $ROWS SST-2 rows, $RUNS runs each"
run_all
export OPENBLAS_CORETYPE=Haswell
as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w -m fast restart >/dev/null
run_all
