#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds and installs the
# extension, starts a throwaway cluster, runs every suite, stops the cluster.
# Each suite ends with a line "<suite>: N passed, M failed"; the script exits
# non-zero if any suite failed or a backend crashed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash test/install_deps.sh || exit 1
make -s 2>&1 | grep -E "warning|error" && { echo "build: compiler warnings or errors"; exit 1; }
make -s install >/dev/null || exit 1

source test/cluster.sh
cluster_start || exit 1
export BERT_TESTMODELS=$BERT_SHARED/testmodels
export BERT_MODELS=$BERT_SHARED/models
export BERT_DATA=$BERT_SHARED/data
export BERT_BADMODELS=$CLUSTER_DIR/badmodels
/usr/bin/python3 test/fixtures/make_bad_models.py "$BERT_TESTMODELS" "$BERT_BADMODELS" || exit 1
chmod -R a+rX "$BERT_BADMODELS"
# a writable model directory for the training tests, with copies of the tiny models
export BERT_TRAINMODELS=$CLUSTER_DIR/trainmodels
mkdir -p "$BERT_TRAINMODELS"
for m in bert-tiny-random-cls distilbert-tiny-random-cls bert-tiny-random-ner \
	bert-tiny-random-pretrain bert-tiny-random-nli; do
	cp -r "$BERT_TESTMODELS/$m" "$BERT_TRAINMODELS/"
done
chmod -R u+w "$BERT_TRAINMODELS"
[ "$(id -u)" = 0 ] && chown -R postgres "$BERT_TRAINMODELS"

failed=()
suites=0
run_suite() {
	local name=$1
	shift
	echo "== $name"
	suites=$((suites + 1))
	"$@" || failed+=("$name")
}

regress() {
	local rc=0 out=$CLUSTER_DIR/installcheck.out
	make -s installcheck 2>&1 | tee "$out"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	if [ $rc -ne 0 ] && [ -f regression.diffs ]; then
		cat regression.diffs
	fi
	local pass fail
	pass=$(grep -cE "\.\.\. ok" "$out")
	fail=$(grep -cE "\.\.\. FAILED" "$out")
	echo "regression: ${pass:-0} passed, ${fail:-0} failed"
	return $rc
}

run_suite regression regress
run_suite train_sql bash test/train/run.sh
run_suite parity /usr/bin/python3 test/parity/parity.py
run_suite kernels bash test/parity/kernels.sh
run_suite offsets /usr/bin/python3 test/parity/offsets.py
run_suite pairs /usr/bin/python3 test/parity/pairs.py
run_suite vecmath bash -c 'gcc -O2 -Wall -Wextra test/unit/vecmath_check.c -o "$CLUSTER_DIR/vecmath" -lm && "$CLUSTER_DIR/vecmath"'
run_suite train_check bash test/unit/run_train_check.sh
run_suite encoder_check bash test/unit/run_encoder_check.sh
run_suite tokenizer bash test/tokenizer/run.sh
run_suite fuzz bash test/fuzz/run.sh
run_suite hostile bash test/hostile/run.sh
run_suite load bash test/load/run.sh
run_suite citus bash test/citus/run.sh

cluster_stop
trap - EXIT
[ -n "${CLUSTER_CRASHED:-}" ] && failed+=("backend crash")
[ ${#failed[@]} -gt 0 ] && echo "FAILED: ${failed[*]}"
echo "suites: $((suites - ${#failed[@]})) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
