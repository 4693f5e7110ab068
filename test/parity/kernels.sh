#!/usr/bin/env bash
# test/parity/kernels.sh: the parity suite under every way of calling
# OpenBLAS, and with its AVX2 kernel forced.
#
# How the encoder's matrix products call OpenBLAS is chosen at run time for
# the CPU (src/gemm_plan.c: measured when a model's cache file is built,
# or a rule from the OpenBLAS core name).  One machine takes only some of
# the branches, so this suite makes each one happen:
#   1. bert.gemm_strategy = nt, nt_tiled, nn, nn_tiled in turn (through
#      PGOPTIONS, so that every parity session loads its models with it):
#      test/parity/parity.py must pass (1e-4), and bert_models() must show
#      the forced plan, with the transposed copy in use for nn / nn_tiled;
#   2. the F16 / BF16 golden models ran from the shared cache file;
#   3. the server restarted with OPENBLAS_CORETYPE=Haswell (AVX2, no
#      small-matrix kernels): the plan is measured again for that core,
#      parity passes, and without a cache the rule takes one call;
#   4. the server restarted with the environment it had.
# Needs the cluster of test/run_tests.sh (CLUSTER_DIR, PGHOST... exported)
# and BERT_SHARED.  Ends with "kernels: N passed, M failed".
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../cluster.sh
source "$ROOT/test/cluster.sh"
: "${CLUSTER_DIR:?run by test/run_tests.sh, with the cluster started}"
: "${BERT_SHARED:?}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PASSED=0
FAILED=0
BASE_PGOPTIONS=${PGOPTIONS:-}

pass() { echo "PASS $1${2:+: $2}"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; FAILED=$((FAILED + 1)); }

# plan_of STRATEGY: weights and plan of the test models in a new session
plan_of() {
	PGOPTIONS="${PGOPTIONS:-} ${1:+-c bert.gemm_strategy=$1}" psql -X -At -q <<SQL
SET bert.model_dir = '$BERT_SHARED/testmodels';
SELECT bert_embed('plan', 'bert-tiny-random-f16') IS NOT NULL AND
       bert_logits('plan', 'bert-tiny-random-cls') IS NOT NULL;
SELECT name || ' ' || weights || ' | ' || gemm_plan FROM bert_models() ORDER BY name COLLATE "C";
SQL
}

parity() {
	local what=$1 out
	out=$(PGOPTIONS="$BASE_PGOPTIONS ${2:+-c bert.gemm_strategy=$2}" "$PY" "$HERE/parity.py" 2>&1)
	if printf '%s\n' "$out" | grep -q "^parity: [0-9]* passed, 0 failed"; then
		pass "$what" "$(printf '%s\n' "$out" | tail -1)"
	else
		fail "$what" "$(printf '%s\n' "$out" | grep -v " 0 differ" | tail -8 | tr '\n' ' ')"
	fi
}

restart() {
	as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w -m fast \
		restart >/dev/null
}

echo "== kernels/forced strategies"
for s in nt nt_tiled nn nn_tiled; do
	parity "kernels/parity-$s" "$s"
	plan=$(plan_of "$s")
	layout=nk
	case $s in nn*) layout=kn ;; esac
	# both models: forced, every shape in the layout with the strategy in
	# every row bucket; the transposed copy comes from the cache file
	want="forced [^;]*(; [0-9]+->[0-9]+ $layout $s/$s/$s/$s)+\$"
	if [ "$(printf '%s\n' "$plan" | grep -cE "$want")" = 2 ] &&
		{ [ "$layout" = nk ] || [ "$(printf '%s\n' "$plan" | grep -c ' shared cache |')" = 2 ]; }; then
		pass "kernels/plan-$s" "$(printf '%s\n' "$plan" | tail -1 | cut -c1-120)"
	else
		fail "kernels/plan-$s" "$(printf '%s\n' "$plan" | tr '\n' ' ')"
	fi
done

echo "== kernels/shared copies in the parity runs"
used=$(psql -X -At -q <<SQL
SET bert.model_dir = '$BERT_SHARED/testmodels';
SELECT bert_embed('x', 'bert-tiny-random-f16') IS NOT NULL, bert_embed('x', 'bert-tiny-random-bf16') IS NOT NULL;
SET bert.model_dir = '$BERT_SHARED/models';
SELECT bert_embed('x', 'bert-mini-embed') IS NOT NULL;
SELECT string_agg(name || '=' || weights || '/' || private_bytes, ' ' ORDER BY name COLLATE "C") FROM bert_models();
SQL
)
used=$(printf '%s\n' "$used" | tail -1)
if [ "$used" = "bert-mini-embed=shared cache/0 bert-tiny-random-bf16=shared cache/0 bert-tiny-random-f16=shared cache/0" ]; then
	pass "kernels/f16-bf16-from-cache" "$used"
else
	fail "kernels/f16-bf16-from-cache" "$used"
fi

echo "== kernels/Haswell"
saved_coretype=${OPENBLAS_CORETYPE-__unset__}
export OPENBLAS_CORETYPE=Haswell
if restart; then
	parity "kernels/parity-haswell-measured" ""
	plan=$(plan_of "")
	if [ "$(printf '%s\n' "$plan" | grep -cE '\| measured Haswell ')" = 2 ]; then
		pass "kernels/plan-haswell-measured" "$(printf '%s\n' "$plan" | tail -1 | cut -c1-160)"
	else
		fail "kernels/plan-haswell-measured" "$(printf '%s\n' "$plan" | tr '\n' ' ')"
	fi
	plan=$(PGOPTIONS="$BASE_PGOPTIONS -c bert.cache_dir=" plan_of "")
	if [ "$(printf '%s\n' "$plan" | grep -c '| prior Haswell: weights as stored, nt$')" = 2 ]; then
		pass "kernels/plan-haswell-prior" "without a cache: $(printf '%s\n' "$plan" | tail -1)"
	else
		fail "kernels/plan-haswell-prior" "$(printf '%s\n' "$plan" | tr '\n' ' ')"
	fi
else
	fail "kernels/restart-haswell" "$(tail -5 "$CLUSTER_DIR/server.log" | tr '\n' ' ')"
fi
if [ "$saved_coretype" = __unset__ ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$saved_coretype; fi
restart || fail "kernels/restart" "$(tail -5 "$CLUSTER_DIR/server.log" | tr '\n' ' ')"
echo "kernels: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
