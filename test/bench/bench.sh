#!/usr/bin/env bash
# The benchmark of bert: throughput through SQL (1 and 2 BLAS threads, a
# 2-worker parallel plan), FLOPs and achieved GFLOP/s against the OpenBLAS
# sgemm rate on the same shapes, SQL overhead, first-call latency, backend
# memory, and ONNX Runtime / PyTorch on the same models and rows.  Prints
# figures and writes a Markdown table; it never passes or fails on a figure.
#
#   bash test/bench/bench.sh [OUT.md]          full run (default OUT: test/bench/RESULTS.md)
#   BENCH_QUICK=1 bash test/bench/bench.sh OUT.md   smoke run: a few rows, a few minutes
#
# Run it as root on an idle machine (it installs packages, builds and
# installs the extension and starts its own throwaway cluster).  Sizes
# (full / quick defaults):
#   BENCH_SHORT_ROWS  872 / 48    SST-2 dev sentences
#   BENCH_LONG_ROWS   500 / 4     IMDB test reviews (cut at the model's limit)
#   BENCH_STS_ROWS    1500 / 48   STS-B dev sentences (embedding path)
#   BENCH_RUNS        3 / 2       runs per SQL figure (median)
#   BENCH_PEER_RUNS   1 / 1       runs per ONNX Runtime / PyTorch figure (median)
#   BENCH_FIRST_CALL_RUNS 5 / 2   fresh connections per first-call figure
#   BENCH_GEMM_SECONDS 10 / 1     time budget of each sgemm measurement
# Other settings:
#   BENCH_SENTIMENT_MODELS  "bert-mini-sentiment minilm-l6 distilbert-base bert-base"
#   BENCH_EMBED_MODELS      "bert-mini-embed minilm-l6-embed bert-base-embed"
#   BENCH_PEERS=0           skip ONNX Runtime and PyTorch
#   BENCH_PEER_BATCHES      "1 32"
#   BENCH_HASWELL=0         skip the run with the Haswell kernel forced
#   BENCH_CACHE             /tmp/bert-bench: generated models (models/, the
#                           bert.model_dir), ONNX exports (onnx/), npm packages
#                           (npm/); kept between runs, generated once
#   BENCH_NO_BUILD=1        use the installed extension as it is
#   BENCH_NO_INSTALL=1      install no packages (they must be there)
#   BENCH_KEEP_WORK=1       keep the scratch folder (texts, results.json); the
#                           raw results are always copied beside OUT as .json
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${1:-$ROOT/test/bench/RESULTS.md}
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac
SHARED=$(cd "$ROOT/../shared" && pwd)
CACHE=${BENCH_CACHE:-/tmp/bert-bench}
MODELS=$CACHE/models
ONNX=$CACHE/onnx
export BENCH_NPM_DIR=${BENCH_NPM_DIR:-$CACHE/npm}
export BENCH_SHARED=$SHARED BENCH_ONNX_DIR=$ONNX
PY=/usr/bin/python3
started=$(date +%s)
say() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------- install
if [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
	bash test/install_deps.sh
	missing=()
	for p in python3-torch python3-numpy python3-onnx; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	if [ "${BENCH_PEERS:-1}" = 1 ] && [ ! -d "$BENCH_NPM_DIR/node_modules/onnxruntime-node" ]; then
		say "npm install onnxruntime-node @huggingface/tokenizers into $BENCH_NPM_DIR"
		mkdir -p "$BENCH_NPM_DIR"
		echo '{"name": "bert-bench-peers", "private": true}' >"$BENCH_NPM_DIR/package.json"
		# --ignore-scripts: the install script downloads binaries, which cannot
		# work here; the CPU binaries are inside the package
		(cd "$BENCH_NPM_DIR" && npm install --ignore-scripts --no-audit --no-fund --silent \
			onnxruntime-node @huggingface/tokenizers@0.2.0)
	fi
fi

# ---------------------------------------------------------------- build
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	say "make && make install"
	make -s
	make -s install >/dev/null
fi

WORK=$(mktemp -d /tmp/bert-bench-run.XXXXXX)
chmod 755 "$WORK"
gcc -O2 -Wall -Wextra test/bench/gemm_bench.c -o "$WORK/gemm_bench" -lopenblas

# ---------------------------------------------------------------- models
# The bench model root (bert.model_dir): the demo models copied (the server
# refuses links that lead outside it) and random-weight models at real sizes.
mkdir -p "$MODELS" "$ONNX"
for m in bert-mini-sentiment bert-mini-embed; do
	[ -f "$MODELS/$m/model.safetensors" ] || { rm -rf "$MODELS/$m"; cp -r "$SHARED/models/$m" "$MODELS/$m"; }
done
gen() { # NAME ARCH LAYERS HIDDEN HEADS INTERMEDIATE
	[ -f "$MODELS/$1/model.safetensors" ] && return
	say "generating $1 (random weights, $3 x $4)"
	rm -rf "$MODELS/$1.tmp"
	$PY "$SHARED/tools/ref/make_random_model.py" "$MODELS/$1.tmp" --arch "$2" --layers "$3" \
		--hidden "$4" --heads "$5" --intermediate "$6" >/dev/null
	rm -rf "$MODELS/$1"
	mv "$MODELS/$1.tmp" "$MODELS/$1"
}
gen minilm-l6 bert 6 384 12 1536
gen distilbert-base distilbert 6 768 12 3072
gen bert-base bert 12 768 12 3072
# embedding models of the same sizes (all-MiniLM-L6-v2 cuts at 256 tokens)
[ -f "$MODELS/minilm-l6-embed/model.safetensors" ] ||
	$PY test/bench/make_embed_variant.py "$MODELS/minilm-l6" "$MODELS/minilm-l6-embed" 256 >/dev/null
[ -f "$MODELS/bert-base-embed/model.safetensors" ] ||
	$PY test/bench/make_embed_variant.py "$MODELS/bert-base" "$MODELS/bert-base-embed" 512 >/dev/null
chmod -R u+w,a+rX "$CACHE"

if [ "${BENCH_PEERS:-1}" = 1 ]; then
	for m in ${BENCH_SENTIMENT_MODELS:-bert-mini-sentiment minilm-l6 distilbert-base bert-base} \
		${BENCH_EMBED_MODELS:-bert-mini-embed minilm-l6-embed bert-base-embed}; do
		[ -f "$ONNX/$m.onnx" ] && continue
		say "exporting $m to ONNX"
		$PY "$SHARED/tools/ref/export_onnx.py" "$MODELS/$m" "$ONNX/$m.onnx.tmp" >"$WORK/export.log" 2>&1 ||
			{ cat "$WORK/export.log"; exit 1; }
		mv "$ONNX/$m.onnx.tmp" "$ONNX/$m.onnx"
	done
fi

# ---------------------------------------------------------------- cluster
# This machine's environment forces OpenBLAS's Haswell kernel; a user's
# machine does not.  Unset both variables for the cluster (and the sgemm
# and peer runs) of the main figures; keep their values for the forced run.
HASWELL_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
HASWELL_L2=${OPENBLAS_L2_SIZE:-512}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

source test/cluster.sh
cluster_start
trap 'cluster_stop; [ "${BENCH_KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"' EXIT
as_pg test -r "$MODELS/bert-base/model.safetensors" ||
	{ echo "the server's user cannot read $MODELS: set BENCH_CACHE to a folder it can reach" >&2; exit 1; }
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION bert;
ALTER SYSTEM SET bert.model_dir = '$MODELS';
SELECT pg_reload_conf();
SQL

say "preparing tables and token counts (work dir $WORK)"
$PY test/bench/bench.py prepare "$WORK"
say "native run (OpenBLAS picks its kernel)"
$PY test/bench/bench.py native "$WORK"

if [ "${BENCH_HASWELL:-1}" = 1 ]; then
	say "restarting the cluster with OPENBLAS_CORETYPE=$HASWELL_CORETYPE OPENBLAS_L2_SIZE=$HASWELL_L2"
	export OPENBLAS_CORETYPE=$HASWELL_CORETYPE OPENBLAS_L2_SIZE=$HASWELL_L2
	as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w -m fast restart >/dev/null
	$PY test/bench/bench.py haswell "$WORK"
	unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
fi

$PY test/bench/bench.py report "$WORK" "$OUT"
cp "$WORK/results.json" "${OUT%.md}.json"
echo
say "wrote $OUT ($(($(date +%s) - started)) s in all)"
