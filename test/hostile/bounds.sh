# test/hostile/bounds.sh: bounds on the work and memory of one call
# (sourced by run.sh): the rows of bert_fill_mask, the memory of it and of
# the batched forms, the windows (forward passes) of bert_answer.
#
# Memory figures are the backend's peak resident set (VmHWM of
# /proc/self/status) read in the same session before and after the call;
# the input is built once beforehand so that its own cost is in the "before"
# figure.  A call that returns many rows must not grow the backend by more
# than MEM_BOUND_KB: its rows go to the executor's tuplestore (work_mem, then
# a temporary file), and each row is built in a context reset after it.

MEM_BOUND_KB=32768

bounds_setup() {
	q "$DB" "CREATE OR REPLACE FUNCTION hostile_hwm() RETURNS bigint LANGUAGE sql AS \$\$ SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\\s*(\\d+)'))[1]::bigint \$\$" >/dev/null
}

# hwm_case NAME WARM-SQL CALL-SQL WANT: CALL-SQL (one value) must give WANT
# and the backend's peak RSS must grow by less than MEM_BOUND_KB over it;
# WARM-SQL runs first in the same session (loads the model, builds the input)
hwm_case() {
	local name=$1 warm=$2 call=$3 want=$4 out before got after
	out=$(psql -X -At -q -v ON_ERROR_STOP=1 -d "$DB" -c "$warm" -c "SELECT hostile_hwm()" \
		-c "$call" -c "SELECT hostile_hwm()" 2>"$WORK/qerr")
	before=$(echo "$out" | tail -3 | sed -n 1p)
	got=$(echo "$out" | tail -2 | sed -n 1p)
	after=$(echo "$out" | tail -1)
	if [ "$got" != "$want" ] || [ -z "$before" ] || [ -z "$after" ]; then
		fail "$name" "got '${got:0:120}', expected '$want' $(qerr)"
	elif [ $((after - before)) -lt "$MEM_BOUND_KB" ]; then
		pass "$name" "$want; peak RSS $before -> $after kB (+$((after - before)) kB, bound $MEM_BOUND_KB)"
	else
		fail "$name" "$want, but peak RSS $before -> $after kB (+$((after - before)) kB > $MEM_BOUND_KB)"
	fi
}

group_bounds() {
	group_begin bounds
	bounds_setup
	local pre=bert-tiny-random-pretrain tiny=bert-tiny-random

	# --- bert_fill_mask: masks x top_k rows, each with a sequence
	# the example of the report: 200 masks x the whole vocabulary would be
	# 6.1 million rows of 202 tokens; refused before any work
	local t0=$(now_ms)
	expect_error "bounds/fill-mask-200-masks-top-k-1e6" "$DB" \
		"SET statement_timeout = '20s'; SELECT count(*) FROM bert_fill_mask(repeat('[MASK] ', 200), '$pre', 1000000)" \
		"bert_fill_mask\(\) result would be too large"
	echo "     (answered in $(($(now_ms) - t0)) ms)"
	# allowed and large: 120,000 rows; memory must not grow with them
	hwm_case "bounds/fill-mask-120000-rows-memory" \
		"SELECT count(*) FROM bert_fill_mask('[MASK]', '$pre', 1)" \
		"SELECT count(*) || ' rows, ' || count(DISTINCT position) || ' masks' FROM bert_fill_mask(repeat('[MASK] ', 60), '$pre', 2000)" \
		"120000 rows, 60 masks"
	# top_k past the vocabulary is the vocabulary, in rank order
	expect_eq "bounds/fill-mask-top-k-int-max-ranked" \
		"$(q "$DB" "SELECT count(*) || ' ' || bool_and(ok) FROM (SELECT coalesce(score < lag(score) OVER w OR (score = lag(score) OVER w AND token_id > lag(token_id) OVER w), true) AS ok FROM bert_fill_mask('a [MASK] b', '$pre', 2147483647) WITH ORDINALITY AS f(p, t, token_id, score, s, n) WINDOW w AS (ORDER BY n)) r")" \
		"30522 true" "30522 rows, scores non-increasing, ties by token id"

	# --- batched forms: rows stream out pass by pass
	local arr="(SELECT array_agg(CASE WHEN g % 7 = 0 THEN NULL ELSE 'hello world ' || g END ORDER BY g) FROM generate_series(1, 200000) g)"
	hwm_case "bounds/batched-embed-200000-memory" \
		"SELECT cardinality($arr), count(*) FROM bert_embed(ARRAY['warm'], '$tiny')" \
		"SELECT count(*) || ' ' || count(embedding) || ' ' || bool_and((embedding IS NULL) = (ordinality % 7 = 0)) FROM bert_embed($arr, '$tiny')" \
		"200000 171429 true"
	hwm_case "bounds/batched-sentiment-200000-memory" \
		"SELECT cardinality($arr), count(*) FROM bert_sentiment(ARRAY['warm'], 'bert-tiny-random-cls')" \
		"SELECT count(*) || ' ' || count(label) FROM bert_sentiment($arr, 'bert-tiny-random-cls')" \
		"200000 171429"
	# the order survives the pass boundaries (1,024 elements or tokens each):
	# every row of 5,000 equals its scalar bert_embed
	local arr5="(SELECT array_agg(CASE WHEN g % 7 = 0 THEN NULL ELSE repeat('word ', g % 40) || g END ORDER BY g) FROM generate_series(1, 5000) g)"
	expect_eq "bounds/batched-order" \
		"$(q "$DB" "SELECT count(*) || ' ' || count(*) FILTER (WHERE d < 1e-6) FROM (SELECT (SELECT max(abs(x - y)) FROM unnest(b.embedding, bert_embed(repeat('word ', b.ordinality::int % 40) || b.ordinality, '$tiny')) u(x, y)) AS d FROM bert_embed($arr5, '$tiny') b WHERE b.embedding IS NOT NULL) r")" \
		"4286 4286" "4,286 non-NULL rows of 5,000, each within 1e-6 of its scalar bert_embed"

	# --- bert_answer: the windows over a context advance, and are bounded
	# a question of 253 tokens leaves 128 per window, the stride: no progress
	# (the report: 2,000 passes for a 2,000-token context)
	local qa=bert-tiny-random-qa
	t0=$(now_ms)
	expect_error "bounds/answer-no-progress-2000-tokens" "$DB" \
		"SET statement_timeout = '20s'; SELECT * FROM bert_answer(repeat('why ', 253), repeat('Ann wrote it. ', 500), '$qa')" \
		"question leaves too little room for the context"
	echo "     (answered in $(($(now_ms) - t0)) ms)"
	# 129 per window advance by one: 99,872 windows for 100,000 pieces
	t0=$(now_ms)
	expect_error "bounds/answer-99872-windows" "$DB" \
		"SET statement_timeout = '20s'; SELECT * FROM bert_answer(repeat('why ', 252), repeat('Ann wrote it. ', 25000), '$qa')" \
		"context needs too many windows"
	echo "     (answered in $(($(now_ms) - t0)) ms)"

	GROUP_SUMMARY="$GROUP_CASES cases, $GROUP_FAILED failed"
}
