#!/usr/bin/env bash
# Training benchmark: bert_finetune against ../shared/tools/ref/finetune_ref.py
# (the Hugging Face Trainer recipe in PyTorch) on SST-2 and AG News with
# bert-mini-mlm: accuracy of both on the same evaluation rows, and training
# tokens/s with 1 and 2 threads.  Prints figures and writes a Markdown
# report; never passes or fails on a figure, and is not part of
# test/run_tests.sh.
#
#   bash test/bench/train_bench.sh [OUT.md]              full run (hours; idle machine)
#   TRAIN_BENCH_QUICK=1 bash test/bench/train_bench.sh /tmp/t.md   smoke run, minutes
#
# Run as root: it installs python3-torch and python3-numpy, builds and
# installs the extension and starts its own throwaway cluster.  Settings:
# see the header of train_bench.py.  TRAIN_BENCH_NO_INSTALL=1 installs
# nothing; TRAIN_BENCH_NO_BUILD=1 uses the installed extension.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${1:-$ROOT/test/bench/TRAIN_RESULTS.md}
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac

if [ "${TRAIN_BENCH_NO_INSTALL:-0}" != 1 ]; then
	bash test/install_deps.sh
	if [ "${TRAIN_BENCH_PEERS:-1}" != 0 ] &&
		! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends python3-torch python3-numpy >/dev/null
	fi
fi
if [ "${TRAIN_BENCH_NO_BUILD:-0}" != 1 ]; then
	make -s
	make -s install >/dev/null
fi

source test/cluster.sh
cluster_start
export TRAIN_BENCH_MODELS=$CLUSTER_DIR/models TRAIN_BENCH_OUT=$OUT TRAIN_BENCH_WORK=$CLUSTER_DIR
mkdir -p "$TRAIN_BENCH_MODELS"
cp -r "$BERT_SHARED/models/bert-mini-mlm" "$TRAIN_BENCH_MODELS/"
chmod -R a+rX "$TRAIN_BENCH_MODELS"
[ "$(id -u)" = 0 ] && chown -R postgres "$TRAIN_BENCH_MODELS"
psql -X -q -c "CREATE EXTENSION bert" \
	-c "ALTER SYSTEM SET bert.model_dir = '$TRAIN_BENCH_MODELS'" \
	-c "ALTER SYSTEM SET client_min_messages = warning" -c "SELECT pg_reload_conf()" >/dev/null
/usr/bin/python3 test/bench/train_bench.py
