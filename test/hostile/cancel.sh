# test/hostile/cancel.sh: statement_timeout and pg_cancel_backend during long
# work (sourced by run.sh).
#
# Latency of a timeout: psql's \timing of the failed statement minus the
# timeout.  Latency of a cancel: measured in the server by hostile_cancel(),
# from the pg_cancel_backend() call until the target backend leaves the
# statement (pg_stat_activity polled every 2 ms).  Bound: 1,200 ms past the
# timeout or the cancel; for one long call (2,046 tokens) the encoder checks
# for interrupts before each layer, so the cancel comes one layer into the
# call and the bound is 2 layers' time, both measured on this machine by one
# uncancelled call (the bound is at least 1,200 ms).

CANCEL_BOUND_MS=1200

cancel_setup() {
	q "$DB" "DROP FUNCTION IF EXISTS hostile_cancel(text, text, float8)" >/dev/null
	q "$DB" "$(cat <<'SQL'
CREATE FUNCTION hostile_cancel(app text, marker text, delay float8) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	p int;
	t0 timestamptz;
	deadline timestamptz := clock_timestamp() + interval '30 s';
BEGIN
	LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT pid INTO p FROM pg_stat_activity
		WHERE application_name = app AND backend_type = 'client backend'
		  AND state = 'active' AND query LIKE '%' || marker || '%'
		  AND pid <> pg_backend_pid();
		EXIT WHEN p IS NOT NULL;
		IF clock_timestamp() > deadline THEN RETURN 'not-started'; END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
	PERFORM pg_sleep(delay);
	t0 := clock_timestamp();
	PERFORM pg_cancel_backend(p);
	LOOP
		PERFORM pg_stat_clear_snapshot();
		EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity
		                      WHERE pid = p AND state = 'active'
		                        AND query LIKE '%' || marker || '%');
		IF clock_timestamp() > t0 + interval '60 s' THEN RETURN 'not-cancelled'; END IF;
		PERFORM pg_sleep(0.002);
	END LOOP;
	RETURN round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 1)::text;
END $$;
SQL
)"
	# 20,000 rows of real reviews (or a synthetic one without ../shared/data)
	local tsv=${SHARED_SRC:+$SHARED_SRC/data/reviews/imdb_test_5000.tsv}
	q "$DB" "CREATE TABLE hostile_reviews (label int, review text)" >/dev/null
	if [ -n "$tsv" ] && [ -r "$tsv" ]; then
		psql -X -q -d "$DB" -c "\\copy hostile_reviews FROM '$tsv' WITH (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')" >/dev/null 2>&1
	fi
	q "$DB" "$(cat <<'SQL'
INSERT INTO hostile_reviews
SELECT 1, repeat('A long, slow and surprisingly moving film; the acting is superb and the ending stays with you. ', 12)
FROM generate_series(1, 5000) WHERE NOT EXISTS (SELECT 1 FROM hostile_reviews);
INSERT INTO hostile_reviews SELECT r.* FROM hostile_reviews r, generate_series(1, 3);
ANALYZE hostile_reviews
SQL
)" >/dev/null
	ensure_long_model
	# calibration: one uncancelled call of 2,046 tokens (4 layers)
	LONG_CALL_MS=$(PGOPTIONS="-c bert.model_dir=${LONG_ROOT// /\\ } -c bert.max_length=2048" q "$DB" "$(cat <<'SQL'
DO $$
DECLARE t0 timestamptz; e real[];
BEGIN
	e := bert_embed('warm', 'long');
	t0 := clock_timestamp();
	e := bert_embed(repeat('word ', 2500), 'long');
	RAISE NOTICE 'ms %', round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric);
END $$
SQL
)" 2>&1; sed -n 's/.*NOTICE: *ms //p' "$WORK/qerr")
	LONG_LAYER_MS=$(( ${LONG_CALL_MS:-2000} / 4 ))
	LONG_BOUND_MS=$(( 2 * LONG_LAYER_MS > CANCEL_BOUND_MS ? 2 * LONG_LAYER_MS : CANCEL_BOUND_MS ))
	LONG_DELAY_S=$(awk -v l="$LONG_LAYER_MS" 'BEGIN { printf "%.3f", (l < 100 ? 100 : l) / 1000 }')
	echo "     calibration: one 2,046-token call of the long model takes ${LONG_CALL_MS:-?} ms (${LONG_LAYER_MS} ms a layer): cancel ${LONG_DELAY_S} s into it, bound ${LONG_BOUND_MS} ms"
}


# timeout_case NAME MODEL_DIR SETUP-SQL STATEMENT TIMEOUT_MS WARM-SQL [BOUND_MS]
timeout_case() {
	local name=$1 dir=$2 setup=$3 stmt=$4 tmo=$5 warm=$6 f=$WORK/${1//\//_} limit=${7:-$CANCEL_BOUND_MS}
	cat >"$f.sql" <<SQL
SET bert.model_dir = '$dir';
$setup
$warm;
SET statement_timeout = '${tmo}ms';
\\timing on
$stmt;
\\timing off
RESET statement_timeout;
SELECT 'usable ' || ($warm);
SQL
	PGCLIENTENCODING=UTF8 psql -X -At -q -d "$DB" -f "$f.sql" >"$f.out" 2>&1
	local ms over
	ms=$(timing_of "$f.out")
	over=$(awk -v m="${ms:-0}" -v t="$tmo" 'BEGIN { printf "%.0f", m - t }')
	if ! grep -q "canceling statement due to statement timeout" "$f.out"; then
		fail "$name" "no timeout error: $(grep -v '^Time' "$f.out" | head -3 | tr '\n' ' ' | cut -c1-200)"
	elif ! grep -q "^usable " "$f.out"; then
		fail "$name" "session not usable after the timeout: $(tail -2 "$f.out" | tr '\n' ' ')"
	elif [ "${over}" -le "$limit" ]; then
		pass "$name" "statement_timeout ${tmo} ms: returned after $ms ms (+$over ms, bound $limit), session still usable"
	else
		fail "$name" "statement_timeout ${tmo} ms: returned after $ms ms (+$over ms > $limit ms)"
	fi
}

# cancel_case NAME MODEL_DIR SETUP-SQL STATEMENT DELAY_S WARM-SQL [BOUND_MS]
# [APP]: STATEMENT (a whole statement when APP is given, else a select
# list) is cancelled DELAY_S after it shows as active under application_name
# APP (default hostile_cancel; a DO block can switch to APP when the phase
# to cancel begins)
cancel_case() {
	local name=$1 dir=$2 setup=$3 stmt=$4 delay=$5 warm=$6 f=$WORK/${1//\//_} marker
	local limit=${7:-$CANCEL_BOUND_MS} app=${8:-hostile_cancel} body
	marker="hostile-cancel-$RANDOM$RANDOM"
	if [ -n "${8:-}" ]; then body=${stmt//MARKER/$marker}; else body="SELECT /*$marker*/ $stmt"; fi
	cat >"$f.sql" <<SQL
SET bert.model_dir = '$dir';
$setup
$warm;
$body;
SELECT 'usable ' || ($warm);
SQL
	PGAPPNAME=hostile_cancel PGCLIENTENCODING=UTF8 psql -X -At -q -d "$DB" -f "$f.sql" >"$f.out" 2>&1 &
	local bg=$! lat
	lat=$(q "$DB" "SELECT hostile_cancel('$app', '$marker', $delay)")
	wait $bg
	if ! grep -q "canceling statement due to user request" "$f.out"; then
		fail "$name" "no cancel error (latency '$lat'): $(head -3 "$f.out" | tr '\n' ' ' | cut -c1-200) $(qerr)"
	elif ! grep -q "^usable " "$f.out"; then
		fail "$name" "session not usable after the cancel: $(tail -2 "$f.out" | tr '\n' ' ')"
	elif awk -v l="$lat" -v b="$limit" 'BEGIN { exit !(l + 0 <= b && l ~ /^[0-9.]+$/) }'; then
		pass "$name" "pg_cancel_backend after ${delay} s: statement left $lat ms later (bound $limit), session still usable"
	else
		fail "$name" "pg_cancel_backend after ${delay} s: statement left $lat ms later (> $limit ms)"
	fi
}

group_cancel() {
	group_begin cancel
	cancel_setup
	local embed="SELECT count(bert_embed(review, 'bert-mini-embed')) FROM hostile_reviews"
	local serial="SET max_parallel_workers_per_gather = 0;"
	local parallel="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"
	local warm_embed="SELECT bert_embed('warm', 'bert-mini-embed') IS NOT NULL"

	timeout_case "cancel/timeout-20000-rows" "$BERT_MODELS" "$serial" "$embed" 300 "$warm_embed"
	# the parallel plan must really be one
	local plan
	plan=$(PGOPTIONS="$PGOPTIONS -c max_parallel_workers_per_gather=2 -c parallel_setup_cost=0 -c parallel_tuple_cost=0 -c min_parallel_table_scan_size=0" \
		q "$DB" "EXPLAIN $embed" | grep -c "Workers Planned")
	timeout_case "cancel/timeout-20000-rows-parallel" "$BERT_MODELS" "$parallel" "$embed" 300 "$warm_embed"
	[ "$plan" -ge 1 ] || fail "cancel/parallel-plan" "the planner chose no parallel plan; the case above ran serially"
	cancel_case "cancel/cancel-20000-rows" "$BERT_MODELS" "$serial" \
		"count(bert_embed(review, 'bert-mini-embed')) FROM hostile_reviews" 0.5 "$warm_embed"

	# one call of 2,046 tokens (bert-mini layers, 4096 positions)
	local warm_long="SELECT bert_embed('warm', 'long') IS NOT NULL"
	local long_setup="SET bert.max_length = 2048;"
	if [ -f "$LONG_ROOT/long/model.safetensors" ]; then
		cancel_case "cancel/cancel-one-2046-token-call" "$LONG_ROOT" "$long_setup" \
			"array_length(bert_embed(repeat('word ', 2500), 'long'), 1)" "$LONG_DELAY_S" "$warm_long" "$LONG_BOUND_MS"
		local tmo=$(( LONG_LAYER_MS < 100 ? 100 : LONG_LAYER_MS ))
		timeout_case "cancel/timeout-one-2046-token-call" "$LONG_ROOT" "$long_setup" \
			"SELECT array_length(bert_embed(repeat('word ', 2500), 'long'), 1)" "$tmo" "$warm_long" "$LONG_BOUND_MS"
	else
		fail "cancel/long-model" "could not build the 4096-position model"
	fi

	# bert_fill_mask returning 610,440 rows (20 masks x the whole vocabulary
	# of 30,522): cancel is checked for every row
	local warm_fm="SELECT count(*) = 1 FROM bert_fill_mask('[MASK]', 'bert-tiny-random-pretrain', 1)"
	timeout_case "cancel/timeout-fill-mask-610440-rows" "$BERT_TESTMODELS" "" \
		"SELECT count(*) FROM bert_fill_mask(repeat('[MASK] ', 20), 'bert-tiny-random-pretrain', 2147483647)" 300 "$warm_fm"
	cancel_case "cancel/cancel-fill-mask-610440-rows" "$BERT_TESTMODELS" "" \
		"count(*) FROM bert_fill_mask(repeat('[MASK] ', 20), 'bert-tiny-random-pretrain', 2147483647)" 0.3 "$warm_fm"

	# bert_answer over the longest context (100,000 pieces, 398 windows)
	local warm_qa="SELECT count(*) = 1 FROM bert_answer('Who?', 'Ann.', 'bert-tiny-random-qa')"
	timeout_case "cancel/timeout-answer-398-windows" "$BERT_TESTMODELS" "" \
		"SELECT count(*) FROM bert_answer('Who?', repeat('Ann wrote it. ', 25000), 'bert-tiny-random-qa')" 300 "$warm_qa"

	# tokenizing a huge text that never reaches the limit (one 250 MB word):
	# the string is built first (repeat() is interruptible), then the session
	# switches application_name and the cancel is aimed at the tokenizer
	cancel_case "cancel/cancel-tokenizing-250MB-word" "$BERT_TESTMODELS" "" "$(cat <<'SQL'
DO $$ /*MARKER*/
DECLARE x text := repeat('é', 131072000);
BEGIN
	PERFORM set_config('application_name', 'hostile_tok_go', false);
	PERFORM bert_token_ids(x, 'bert-tiny-random');
END $$
SQL
)" 0.3 "SELECT bert_token_ids('warm', 'bert-tiny-random') IS NOT NULL" "$CANCEL_BOUND_MS" hostile_tok_go

	GROUP_SUMMARY="$GROUP_CASES cases, $GROUP_FAILED failed"
}
