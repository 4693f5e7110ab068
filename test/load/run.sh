#!/usr/bin/env bash
# Load and concurrency suite: many sessions, long loops, parallel plans and
# OpenBLAS threads against one cluster, checking that results never depend on
# what else runs, that backend memory stays flat, and that nothing crashes
# or hangs.
#
#   bash test/load/run.sh
#
# Uses the running cluster named by PGHOST/PGPORT/PGUSER (test/run_tests.sh
# starts one and exports BERT_SHARED, BERT_MODELS, BERT_TESTMODELS); with
# PGHOST unset it starts its own with test/cluster.sh (the extension must be
# built and installed: make && make install).  Works in its own database,
# bert_load, dropped at the end.  Every step is bounded in calls and time
# (about two minutes on two cores).  Prints its figures and ends with
# "load: N passed, M failed"; exits non-zero when a check failed.
#
# Checks
#  1. 8 sessions (pgbench) for LOAD_SECONDS mix bert_sentiment and bert_embed
#     of the real-text models on SST-2 reviews, scalar and batched (text[]);
#     every result must equal the one computed beforehand in a single
#     session, bit for bit.  (Setup also compares batched with scalar.)  A
#     fifth script runs plain queries over 16 rows with batched execution
#     (bert.batch_queries = on): labels equal, embeddings within 1e-6.
#  2. backend memory: 8 concurrent backends each run 50,000 bert_embed calls
#     (bert-tiny-random, jit = off); RssAnon after 50,000 calls must be
#     within RSS_TOLERANCE_KB of RssAnon after 1,000, and the memory contexts
#     must not grow.  Also: one backend cycling every other model function,
#     and one backend cycling 11 models through the 8-entry model cache
#     (load, evict, unmap).
#  3. a forced parallel plan over 10,000 rows returns exactly the serial
#     plan's results; EXPLAIN ANALYZE shows the workers launched.  The same
#     with batched execution: BertBatch runs the calls in the workers,
#     labels equal the serial ones, floats within 1e-5.
#  4. bert.threads = 2 in 4 concurrent sessions: no hang; labels equal to
#     bert.threads = 1, logits within 1e-4 (bitwise differences reported);
#     throughput of both reported.  Cancel (statement_timeout) and
#     pg_terminate_backend of a 2-thread backend in the middle of a query.
#  5. no "terminated by signal" in the server log.
#
# Every check but those two runs with bert.batch_queries = off: one call per
# row, the execution the bit-for-bit comparisons are about.
#
# Environment: LOAD_SECONDS (default 40), LOAD_CLIENTS (8), RSS_CALLS (50000),
# RSS_TOLERANCE_KB (4096), LOAD_NO_PGBENCH=1 (psql clients instead of
# pgbench), KEEP=1 keeps the scratch folder and the database.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=$ROOT/../shared
DATA=$SHARED/data

LOAD_SECONDS=${LOAD_SECONDS:-40}
LOAD_CLIENTS=${LOAD_CLIENTS:-8}
RSS_CALLS=${RSS_CALLS:-50000}
RSS_WARM=1000
RSS_TOLERANCE_KB=${RSS_TOLERANCE_KB:-4096}
THREAD_SESSIONS=4
THREAD_ROWS=200 # IMDB reviews per session
NREF=320        # SST-2 reviews in the reference table
PAR_ROWS=10000

if [ ! -f "$DATA/reviews/sst2_dev.tsv" ]; then
	echo "load: skipped, $SHARED not found (data and models live there)"
	echo "load: 0 passed, 0 failed"
	exit 0
fi

OWN_CLUSTER=
if [ -z "${PGHOST:-}" ]; then
	# shellcheck source=../cluster.sh
	source "$ROOT/test/cluster.sh"
	cluster_start || exit 1
	OWN_CLUSTER=1
fi
: "${BERT_SHARED:=$(cd "$SHARED" && pwd)}"
MODELS=${BERT_MODELS:-$BERT_SHARED/models}
TESTMODELS=${BERT_TESTMODELS:-$BERT_SHARED/testmodels}
SERVER_LOG=${CLUSTER_DIR:+$CLUSTER_DIR/server.log}
DB=bert_load
PGBENCH=$(command -v pgbench || true)
[ -n "$PGBENCH" ] || PGBENCH=$(ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1)
[ "${LOAD_NO_PGBENCH:-0}" = 1 ] && PGBENCH=

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bert-load.XXXXXX")
chmod 755 "$WORK"
cleanup() {
	if [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$WORK"
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
	else
		echo "kept: $WORK and database $DB"
	fi
	if [ -n "$OWN_CLUSTER" ]; then
		cluster_stop
		trap - EXIT
	fi
}

PASSED=0
FAILED=0
ok() {
	echo "ok     $*"
	PASSED=$((PASSED + 1))
}
not_ok() {
	echo "FAILED $*"
	FAILED=$((FAILED + 1))
}
# check NAME CONDITION-COMMAND...: pass or fail on the command's status
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
step() { printf '\n== %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# quoted for PGOPTIONS (spaces in a path must be escaped)
pgopt_path() { printf '%s' "${1// /\\ }"; }

# psql on the suite's database, unaligned, stopping at the first error;
# the real-text models by default (a session may SET bert.model_dir).
MODELS_OPT="-c bert.model_dir=$(pgopt_path "$MODELS") -c bert.batch_queries=off"
TESTMODELS_OPT="-c bert.model_dir=$(pgopt_path "$TESTMODELS") -c bert.batch_queries=off"
q() { PGOPTIONS="$MODELS_OPT" psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
qt() { PGOPTIONS="$TESTMODELS_OPT" psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# memory of the calling backend, one line: pid, VmRSS, RssAnon, RssFile
# (kB, /proc/PID/status), OS threads, memory contexts' total (kB)
MEM_SQL="SELECT pg_backend_pid() || ' ' || (regexp_match(s, 'VmRSS:\s+(\d+)'))[1] || ' ' || (regexp_match(s, 'RssAnon:\s+(\d+)'))[1] || ' ' || (regexp_match(s, 'RssFile:\s+(\d+)'))[1] || ' ' || (regexp_match(s, 'Threads:\s+(\d+)'))[1] || ' ' || (SELECT (sum(total_bytes) / 1024)::bigint FROM pg_backend_memory_contexts) FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') s"

log_size_at_start=0
[ -n "$SERVER_LOG" ] && [ -r "$SERVER_LOG" ] && log_size_at_start=$(stat -c %s "$SERVER_LOG")
SUITE_START=$(now)

# --- setup -------------------------------------------------------------------
step "setup"
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null || {
	echo "cannot create database $DB"
	echo "load: 0 passed, 1 failed"
	exit 1
}
trap cleanup EXIT
echo "server: $(psql -X -At -d "$DB" -c 'SELECT version()' | cut -d, -f1); models: $MODELS; test models: $TESTMODELS"
echo "cpus: $(nproc); pgbench: ${PGBENCH:-none}"

# TSV files are loaded as CSV with tab delimiter and a quote byte that never
# occurs, so quotes and backslashes in reviews stay as written.
if q >"$WORK/setup.out" 2>&1 <<EOF; then ok "setup: tables loaded, reference computed"; else not_ok "setup"; cat "$WORK/setup.out"; fi
CREATE EXTENSION bert;
CREATE TABLE sst (id serial PRIMARY KEY, label int, review text);
\copy sst (label, review) FROM '$DATA/reviews/sst2_dev.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
CREATE TABLE imdb (id serial PRIMARY KEY, label int, review text);
\copy imdb (label, review) FROM '$DATA/reviews/imdb_test_5000.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
CREATE TABLE sts (score real, s1 text, s2 text);
\copy sts FROM '$DATA/stsb/sts-dev.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
-- reference results, computed in this one session with a serial plan
SET max_parallel_workers_per_gather = 0;
CREATE TABLE ref AS
SELECT id, review,
       bert_sentiment(review, 'bert-mini-sentiment') AS label_ref,
       bert_embed(review, 'bert-mini-embed') AS emb_ref
FROM sst WHERE id <= $NREF;
ALTER TABLE ref ADD PRIMARY KEY (id);
-- the batched forms, in fixed groups of 16 reviews (id / 16)
CREATE TABLE ref_batch AS
WITH g AS MATERIALIZED (
  SELECT array_agg(id ORDER BY id) AS ids, array_agg(review ORDER BY id) AS t FROM ref GROUP BY id / 16),
e AS MATERIALIZED (
  SELECT g.ids[b.ordinality] AS id, b.embedding FROM g, bert_embed(g.t, 'bert-mini-embed') b),
s AS MATERIALIZED (
  SELECT g.ids[b.ordinality] AS id, b.label, b.score FROM g, bert_sentiment(g.t, 'bert-mini-sentiment') b)
SELECT id, e.embedding AS emb_b, s.label AS label_b, s.score AS score_b FROM e FULL JOIN s USING (id);
CREATE TABLE mismatch (client int, id int, kind text, got_label text, got_emb real[]);
ANALYZE;
EOF
# The README says the batched forms give results identical to the scalar
# calls: labels must agree; embeddings must agree within 1e-6, and any
# bit-level difference is reported.
read -r nb lbl_diff emb_bits emb_max <<<"$(q -F' ' -c "
SELECT count(*),
       count(*) FILTER (WHERE b.label_b IS DISTINCT FROM r.label_ref),
       count(*) FILTER (WHERE b.emb_b IS DISTINCT FROM r.emb_ref),
       coalesce(max((SELECT max(abs(x - y)) FROM unnest(b.emb_b, r.emb_ref) AS u(x, y))), 0)
FROM ref r LEFT JOIN ref_batch b USING (id)")"
echo "batched (groups of 16) vs scalar on ${nb:-?} reviews: labels different ${lbl_diff:-?}, embeddings not bit-identical ${emb_bits:-?}, largest |difference| ${emb_max:-?}"
check "setup: batched bert_sentiment(text[]) / bert_embed(text[]) agree with the scalar calls (labels equal, embeddings within 1e-6)" \
	awk -v n="${nb:-0}" -v want="$NREF" -v l="${lbl_diff:-1}" -v m="${emb_max:-1}" 'BEGIN { exit !(n == want && l == 0 && m <= 1e-6) }'
[ "${emb_bits:-0}" != 0 ] && echo "finding: batched embeddings are not bit-identical to the scalar ones (${emb_bits} of ${nb}), although the README says \"Results are identical to the scalar calls\""
echo "rows: sst $(q -c 'SELECT count(*) FROM sst'), imdb $(q -c 'SELECT count(*) FROM imdb'), sts $(q -c 'SELECT count(*) FROM sts'), reference $(q -c 'SELECT count(*) FROM ref') (labels: $(q -c "SELECT string_agg(label_ref || ' ' || n, ', ') FROM (SELECT label_ref, count(*) n FROM ref GROUP BY 1 ORDER BY 1) s"))"

# --- 1. concurrent sessions --------------------------------------------------
step "1. $LOAD_CLIENTS concurrent sessions for ${LOAD_SECONDS}s: bert_sentiment + bert_embed against the single-session reference"
# Each transaction checks one review (or four) and records a wrong result in
# mismatch; OFFSET 0 keeps each function evaluated once per row.
cat >"$WORK/sentiment.pgbench" <<'EOF'
\set id random(1, :nref)
INSERT INTO mismatch (client, id, kind, got_label)
SELECT :client_id, id, 'sentiment', got FROM (
  SELECT id, label_ref, bert_sentiment(review, 'bert-mini-sentiment') AS got
  FROM ref WHERE id = :id OFFSET 0) s
WHERE got IS DISTINCT FROM label_ref;
EOF
cat >"$WORK/embed.pgbench" <<'EOF'
\set id random(1, :nref)
INSERT INTO mismatch (client, id, kind, got_emb)
SELECT :client_id, id, 'embed', got FROM (
  SELECT id, emb_ref, bert_embed(review, 'bert-mini-embed') AS got
  FROM ref WHERE id = :id OFFSET 0) s
WHERE got IS DISTINCT FROM emb_ref;
EOF
cat >"$WORK/both.pgbench" <<'EOF'
\set id random(1, :nref - 3)
INSERT INTO mismatch (client, id, kind, got_label, got_emb)
SELECT :client_id, id, 'both', l, e FROM (
  SELECT id, label_ref, emb_ref,
         bert_embed(review, 'bert-mini-embed') AS e,
         bert_sentiment(review, 'bert-mini-sentiment') AS l
  FROM ref WHERE id BETWEEN :id AND :id + 3 OFFSET 0) s
WHERE l IS DISTINCT FROM label_ref OR e IS DISTINCT FROM emb_ref;
EOF

cat >"$WORK/batch.pgbench" <<'EOF'
\set grp random(0, :nref / 16)
WITH g AS MATERIALIZED (
  SELECT array_agg(id ORDER BY id) AS ids, array_agg(review ORDER BY id) AS t FROM ref WHERE id / 16 = :grp),
e AS MATERIALIZED (
  SELECT g.ids[b.ordinality] AS id, b.embedding FROM g, bert_embed(g.t, 'bert-mini-embed') b),
s AS MATERIALIZED (
  SELECT g.ids[b.ordinality] AS id, b.label, b.score FROM g, bert_sentiment(g.t, 'bert-mini-sentiment') b)
INSERT INTO mismatch (client, id, kind, got_label, got_emb)
SELECT :client_id, r.id, 'batch', s.label, e.embedding
FROM ref_batch r LEFT JOIN e USING (id) LEFT JOIN s USING (id)
WHERE r.id / 16 = :grp
  AND (e.embedding IS DISTINCT FROM r.emb_b OR s.label IS DISTINCT FROM r.label_b
       OR s.score IS DISTINCT FROM r.score_b);
EOF

# plain queries over 16 rows, batched (BertBatch): the packed forward pass
# sums in another order, so embeddings are compared within 1e-6
cat >"$WORK/plain.pgbench" <<'EOF'
\set id random(1, :nref - 15)
BEGIN;
SET LOCAL bert.batch_queries = on;
INSERT INTO mismatch (client, id, kind, got_label, got_emb)
SELECT :client_id, id, 'plain', l, e FROM (
  SELECT id, label_ref, emb_ref,
         bert_embed(review, 'bert-mini-embed') AS e,
         bert_sentiment(review, 'bert-mini-sentiment') AS l
  FROM ref WHERE id BETWEEN :id AND :id + 15 OFFSET 0) s
WHERE l IS DISTINCT FROM label_ref
   OR (SELECT max(abs(a - b)) FROM unnest(e, emb_ref) AS u(a, b)) > 1e-6;
COMMIT;
EOF
plain_plan=$(q -c "SET bert.batch_queries = on" -c "EXPLAIN (COSTS OFF) SELECT id, bert_embed(review, 'bert-mini-embed') AS e, bert_sentiment(review, 'bert-mini-sentiment') AS l FROM ref WHERE id BETWEEN 1 AND 16 OFFSET 0")
check "1: the plain-query script's plan has a BertBatch node" grep -q "Custom Scan (BertBatch)" <<<"$plain_plan"

if [ -n "$PGBENCH" ] && [ -x "$PGBENCH" ]; then
	t0=$(now)
	PGAPPNAME=bert_load_pgbench PGOPTIONS="$MODELS_OPT" timeout -k 10 $((LOAD_SECONDS + 120)) \
		"$PGBENCH" -n -c "$LOAD_CLIENTS" -j 2 -T "$LOAD_SECONDS" -D nref="$NREF" \
		-f "$WORK/sentiment.pgbench@3" -f "$WORK/embed.pgbench@3" -f "$WORK/both.pgbench@3" -f "$WORK/batch.pgbench@1" \
		-f "$WORK/plain.pgbench@1" \
		"$DB" >"$WORK/pgbench.out" 2>"$WORK/pgbench.err" &
	bench_pid=$!
	# how many sessions really run at once, sampled half-way
	sleep $((LOAD_SECONDS / 2))
	sessions=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bert_load_pgbench'")
	models_loaded=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bert_load_pgbench' AND state = 'active'")
	wait "$bench_pid"
	bench_rc=$?
	echo "pgbench exit $bench_rc after $(elapsed "$t0")s; sessions connected half-way: $sessions ($models_loaded active at that instant)"
	grep -E "^(number of clients|duration|number of transactions actually processed|number of failed transactions|latency average|tps)" "$WORK/pgbench.out"
	# per-script transaction counts: sentiment (1 call), embed (1), both (8),
	# batch (about 2 x 16 texts, 2 calls), plain (16 rows, 2 calls each)
	counts=$(awk '/^SQL script/ { s++ } /^ - [0-9]+ transactions/ { n[s] = $2 } END { printf "%d %d %d %d %d", n[1], n[2], n[3], n[4], n[5] }' "$WORK/pgbench.out")
	read -r n_sent n_emb n_both n_batch n_plain <<<"$counts"
	calls=$((n_sent + n_emb + 8 * n_both))
	echo "transactions: sentiment $n_sent, embed $n_emb, both-of-4-rows $n_both, batched-group-of-16 $n_batch, plain-batched-16-rows $n_plain; scalar model calls checked: $calls ($((n_sent + 4 * n_both)) bert_sentiment, $((n_emb + 4 * n_both)) bert_embed); batched calls: $((2 * n_batch)) (about $((32 * n_batch)) texts); plain queries: $((32 * n_plain)) calls in BertBatch"
	if [ -s "$WORK/pgbench.err" ]; then
		echo "pgbench stderr:"
		head -20 "$WORK/pgbench.err"
	fi
	check "1: pgbench ran without errors (exit 0, no failed transactions)" \
		test "$bench_rc" = 0 -a ! -s "$WORK/pgbench.err"
	check "1: all $LOAD_CLIENTS sessions connected at once" test "${sessions:-0}" = "$LOAD_CLIENTS"
	check "1: at least $((LOAD_CLIENTS * 10)) model calls checked" test "$calls" -ge $((LOAD_CLIENTS * 10))
else
	# no pgbench: psql clients, each looping over the whole reference until
	# the deadline, alternating which function comes first
	echo "pgbench not found: $LOAD_CLIENTS psql clients instead"
	t0=$(now)
	deadline=$(($(date +%s) + LOAD_SECONDS))
	for c in $(seq 1 "$LOAD_CLIENTS"); do
		(
			rounds=0
			while [ "$(date +%s)" -lt "$deadline" ]; do
				if [ $((c % 2)) = 0 ]; then
					sql="INSERT INTO mismatch (client, id, kind, got_label, got_emb) SELECT $c, id, 'loop', l, e FROM (SELECT id, label_ref, emb_ref, bert_sentiment(review, 'bert-mini-sentiment') l, bert_embed(review, 'bert-mini-embed') e FROM ref ORDER BY random() OFFSET 0) s WHERE l IS DISTINCT FROM label_ref OR e IS DISTINCT FROM emb_ref"
				else
					sql="INSERT INTO mismatch (client, id, kind, got_label, got_emb) SELECT $c, id, 'loop', l, e FROM (SELECT id, label_ref, emb_ref, bert_embed(review, 'bert-mini-embed') e, bert_sentiment(review, 'bert-mini-sentiment') l FROM ref ORDER BY random() DESC OFFSET 0) s WHERE l IS DISTINCT FROM label_ref OR e IS DISTINCT FROM emb_ref"
				fi
				timeout 120 env PGOPTIONS="$MODELS_OPT" psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" \
					-c "SET max_parallel_workers_per_gather = 0" -c "$sql" || exit 1
				rounds=$((rounds + 1))
			done
			echo "$rounds"
		) >"$WORK/client_$c.out" 2>"$WORK/client_$c.err" &
	done
	wait
	rounds=$(cat "$WORK"/client_*.out | awk '{ s += $1 } END { print s + 0 }')
	calls=$((rounds * NREF * 2))
	echo "rounds over the reference: $rounds; model calls checked: $calls in $(elapsed "$t0")s"
	errs=$(cat "$WORK"/client_*.err)
	[ -n "$errs" ] && echo "$errs" | head -20
	check "1: psql clients ran without errors" test -z "$errs"
	check "1: at least one round per client" test "$rounds" -ge "$LOAD_CLIENTS"
fi
mism=$(q -c "SELECT count(*) FROM mismatch")
if [ "$mism" != 0 ]; then
	echo "wrong results under concurrency (kind, rows, distinct reviews, largest |difference| of an embedding element):"
	q -c "SELECT m.kind, count(*), count(DISTINCT m.id),
	             max((SELECT max(abs(a - b)) FROM unnest(m.got_emb, CASE WHEN m.kind = 'batch' THEN rb.emb_b ELSE r.emb_ref END) AS u(a, b)))
	      FROM mismatch m JOIN ref r USING (id) JOIN ref_batch rb USING (id) GROUP BY 1"
	q -c "SELECT 'e.g. review ' || m.id || ': label ' || coalesce(m.got_label, '-') || ' (reference ' || r.label_ref || ')' FROM mismatch m JOIN ref r USING (id) LIMIT 3"
fi
check "1: every concurrent result equals the single-session result bit for bit, batched plain queries within 1e-6 ($mism wrong)" test "$mism" = 0

# --- 2. backend memory -------------------------------------------------------
step "2. backend memory: $LOAD_CLIENTS backends x $RSS_CALLS bert_embed calls (bert-tiny-random), jit = off"
# JIT is off in the measured backends: the first JIT-compiled query of a
# backend (here the 50,000-row one; the 1,000-row query costs less than
# jit_above_cost) loads LLVM once, about 25 MB of RssAnon that is not bert's.
# One more backend with jit = on shows that figure, unchecked.
t0=$(now)
for c in $(seq 1 $((LOAD_CLIENTS + 1))); do
	off=$((c * 1000000))
	jit=off
	[ "$c" -gt "$LOAD_CLIENTS" ] && jit=on
	timeout -k 10 300 env PGOPTIONS="$TESTMODELS_OPT" psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" >"$WORK/rss_$c.out" 2>"$WORK/rss_$c.err" <<EOF &
SET max_parallel_workers_per_gather = 0;
SET jit = $jit;
SELECT 'calls', count(bert_embed('row ' || g || repeat(' word', g % 37), 'bert-tiny-random')) FROM generate_series($off + 1, $off + $RSS_WARM) g;
SELECT 'mem1 ' || ($MEM_SQL);
SELECT 'calls', count(bert_embed('row ' || g || repeat(' word', g % 37), 'bert-tiny-random')) FROM generate_series($off + $RSS_WARM + 1, $off + $RSS_CALLS) g;
SELECT 'mem2 ' || ($MEM_SQL);
EOF
done
wait
echo "$((LOAD_CLIENTS + 1)) backends ran $RSS_CALLS calls each in $(elapsed "$t0")s (kB; ctx = sum of pg_backend_memory_contexts)"
k1="@$((RSS_WARM / 1000))k"
k2="@$((RSS_CALLS / 1000))k"
printf '%-14s %9s %9s %9s %9s %9s %9s %9s %9s %7s\n' backend "VmRSS$k1" "VmRSS$k2" "Anon$k1" "Anon$k2" "File$k1" "File$k2" "ctx$k1" "ctx$k2" "dAnon"
rss_bad=0
rss_errors=0
max_growth=-999999
max_ctx_growth=-999999
for c in $(seq 1 $((LOAD_CLIENTS + 1))); do
	if [ -s "$WORK/rss_$c.err" ] || ! grep -q '^mem2 ' "$WORK/rss_$c.out"; then
		echo "backend $c failed:"
		head -5 "$WORK/rss_$c.err"
		rss_errors=$((rss_errors + 1))
		continue
	fi
	read -r _ pid r1 a1 f1 _ x1 <<<"$(grep '^mem1 ' "$WORK/rss_$c.out")"
	read -r _ _ r2 a2 f2 _ x2 <<<"$(grep '^mem2 ' "$WORK/rss_$c.out")"
	n=$(awk -F'|' '$1 == "calls" { s += $2 } END { print s }' "$WORK/rss_$c.out")
	[ "$n" = "$RSS_CALLS" ] || rss_errors=$((rss_errors + 1))
	growth=$((a2 - a1))
	label=$pid
	if [ "$c" -gt "$LOAD_CLIENTS" ]; then
		label="$pid(jit=on)"
	else
		[ "$growth" -gt "$max_growth" ] && max_growth=$growth
		[ "$growth" -gt "$RSS_TOLERANCE_KB" ] && rss_bad=$((rss_bad + 1))
		[ $((x2 - x1)) -gt "$max_ctx_growth" ] && max_ctx_growth=$((x2 - x1))
	fi
	printf '%-14s %9s %9s %9s %9s %9s %9s %9s %9s %7s\n' "$label" "$r1" "$r2" "$a1" "$a2" "$f1" "$f2" "$x1" "$x2" "$growth"
done
check "2: $((LOAD_CLIENTS + 1)) backends completed $RSS_CALLS calls each without error" test "$rss_errors" = 0
check "2: RssAnon flat between $RSS_WARM and $RSS_CALLS calls, jit = off (largest growth ${max_growth} kB, limit $RSS_TOLERANCE_KB kB)" test "$rss_bad" = 0
check "2: memory contexts flat between $RSS_WARM and $RSS_CALLS calls (largest growth ${max_ctx_growth} kB, limit 256 kB)" test "$max_ctx_growth" -le 256

# every other model function, in one backend: rounds of N calls each
step "2b. backend memory: every model function (batched forms too), warm-up round of 500 calls, then 5 rounds of 2,000 (tiny models)"
round_sql() {
	local n=$1 base=$2
	cat <<EOF
SELECT count(bert_sentiment('row ' || g || repeat(' good', g % 23), 'bert-tiny-random-cls')) FROM generate_series($base, $base + $n - 1) g;
SELECT count(*) FROM generate_series($base, $base + $n - 1) g, bert_sentiment_scores('row ' || g || repeat(' bad', g % 23), 'distilbert-tiny-random-cls');
SELECT count(bert_logits('row ' || g, 'bert-tiny-random-cls')) FROM generate_series($base, $base + $n - 1) g;
SELECT count(bert_embed('row ' || g || repeat(' fine', g % 23), 'bert-tiny-random-f16')) FROM generate_series($base, $base + $n - 1) g;
SELECT count(bert_embed('row ' || g, 'bert-tiny-random-bf16')) FROM generate_series($base, $base + $n - 1) g;
SELECT count(bert_last_hidden_state('row ' || g || repeat(' x', g % 23), 'bert-tiny-random')) FROM generate_series($base, $base + $n - 1) g;
SELECT count(bert_pooler_output('row ' || g, 'bert-tiny-random')) FROM generate_series($base, $base + $n - 1) g;
SELECT count(bert_tokenize('Row ' || g || ' naïve café 東京 🎉' || repeat(' x', g % 23), 'bert-tiny-random')) FROM generate_series($base, $base + $n - 1) g;
SELECT count(bert_token_ids('Row ' || g || repeat(' word', g % 23), 'bert-tiny-random')) FROM generate_series($base, $base + $n - 1) g;
SELECT count(*) FROM generate_series($base, $base + $n / 4 - 1) g, bert_fill_mask('Row ' || g || ' is [MASK] good.', 'bert-tiny-random-pretrain', 3);
SELECT count(bert_next_sentence('Row ' || g, 'It is next.', 'bert-tiny-random-pretrain')) FROM generate_series($base, $base + $n / 4 - 1) g;
SELECT count(*) FROM generate_series($base, $base + $n - 1) g, bert_ner('Angela Merkel visited Paris in row ' || g || repeat(' Berlin', g % 11), 'bert-tiny-random-ner');
SELECT count(*) FROM generate_series($base, $base + $n - 1) g, bert_answer('Which row?', 'This is row ' || g || repeat(' in Paris', g % 11), 'bert-tiny-random-qa');
SELECT count(*) FROM generate_series($base, $base + $n - 1) g, bert_token_logits('Row ' || g, 'bert-tiny-random-ner');
SELECT count(*) FROM generate_series($base, $base + $n - 1) g, bert_token_logits('Which row?', 'Row ' || g, 'bert-tiny-random-qa');
SELECT count(bert_cosine_similarity(ARRAY[g, 1, 2]::real[], ARRAY[1, g, 3]::real[])) FROM generate_series($base, $base + $n - 1) g;
SELECT count(*) FROM (SELECT array_agg('row ' || g || repeat(' word', g % 23)) AS t FROM generate_series($base, $base + $n - 1) g GROUP BY g / 32) a, bert_embed(a.t, 'bert-tiny-random') b;
SELECT count(*) FROM (SELECT array_agg('row ' || g || repeat(' good', g % 23)) AS t FROM generate_series($base, $base + $n - 1) g GROUP BY g / 32) a, bert_sentiment(a.t, 'bert-tiny-random-cls') b;
EOF
}
{
	echo "SET max_parallel_workers_per_gather = 0; SET jit = off;"
	round_sql 500 1
	echo "SELECT 'mem1 ' || ($MEM_SQL);"
	for r in 1 2 3 4 5; do
		round_sql 2000 $((r * 100000))
		echo "SELECT 'memr$r ' || ($MEM_SQL);"
	done
	echo "SELECT 'mem2 ' || ($MEM_SQL);"
} >"$WORK/functions.sql"
t0=$(now)
timeout -k 10 300 env PGOPTIONS="$TESTMODELS_OPT" psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -f "$WORK/functions.sql" >"$WORK/functions.out" 2>"$WORK/functions.err"
fn_rc=$?
echo "18 functions x (500 + 5 x 2,000) texts (fill-mask, next-sentence: a quarter; batched forms: arrays of 32) in $(elapsed "$t0")s"
[ -s "$WORK/functions.err" ] && head -5 "$WORK/functions.err"
check "2b: every function ran its rounds without error" test "$fn_rc" = 0 -a ! -s "$WORK/functions.err"
if grep -q '^mem2 ' "$WORK/functions.out"; then
	read -r _ _ r1 a1 f1 _ x1 <<<"$(grep '^mem1 ' "$WORK/functions.out")"
	read -r _ _ r2 a2 f2 _ x2 <<<"$(grep '^mem2 ' "$WORK/functions.out")"
	echo "RssAnon / memory contexts after each round: $(grep -E '^mem(1|r[0-9]) ' "$WORK/functions.out" | awk '{ printf "%s%s/%s", sep, $4, $7; sep = ", " }') kB"
	echo "VmRSS $r1 -> $r2 kB, RssAnon $a1 -> $a2 kB, RssFile $f1 -> $f2 kB, memory contexts $x1 -> $x2 kB"
	# from the end of the first 2,000-call round to the end of the fifth
	growth=$(grep -E '^memr[0-9] ' "$WORK/functions.out" | awk 'NR == 1 { first = $4 } { last = $4 } END { print last - first }')
	check "2b: RssAnon flat from round 1 to 5 of 2,000 calls (growth $growth kB, limit $RSS_TOLERANCE_KB kB)" test "$growth" -le "$RSS_TOLERANCE_KB"
	growth=$(grep -E '^memr[0-9] ' "$WORK/functions.out" | awk 'NR == 1 { first = $7 } { last = $7 } END { print last - first }')
	check "2b: memory contexts flat from round 1 to 5 of 2,000 calls (growth $growth kB, limit 256 kB)" test "$growth" -le 256
else
	not_ok "2b: memory figures missing"
fi

# the 8-entry model cache: cycling 11 models evicts (unmaps, frees) one on
# every call
step "2c. model cache: one backend cycles 11 models through the 8-entry cache, 15 rounds"
{
	echo "SET max_parallel_workers_per_gather = 0; SET jit = off;"
	for r in $(seq 1 15); do
		echo "SET bert.model_dir = '$TESTMODELS';"
		for m in bert-tiny-random bert-tiny-random-f16 bert-tiny-random-bf16 bert-tiny-random-cls \
			distilbert-tiny-random-cls bert-tiny-random-pretrain bert-tiny-random-ner bert-tiny-random-qa; do
			echo "SELECT count(bert_token_ids('round $r', '$m'));"
		done
		echo "SET bert.model_dir = '$MODELS';"
		echo "SELECT count(bert_embed('round $r', 'bert-mini-embed')), count(bert_sentiment('round $r', 'bert-mini-sentiment')), count(bert_token_ids('round $r', 'bert-mini-mlm'));"
		echo "SELECT 'loaded ' || count(*) || ' ' || sum(private_bytes) FROM bert_models();"
		echo "SELECT 'memr$r ' || ($MEM_SQL);"
		[ "$r" = 3 ] && echo "SELECT 'mem1 ' || ($MEM_SQL);"
	done
	echo "SELECT 'mem2 ' || ($MEM_SQL);"
} >"$WORK/cache.sql"
t0=$(now)
timeout -k 10 300 psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -f "$WORK/cache.sql" >"$WORK/cache.out" 2>"$WORK/cache.err"
cache_rc=$?
echo "165 model loads in $(elapsed "$t0")s"
[ -s "$WORK/cache.err" ] && head -5 "$WORK/cache.err"
check "2c: cycling models through the cache ran without error" test "$cache_rc" = 0 -a ! -s "$WORK/cache.err"
if grep -q '^mem2 ' "$WORK/cache.out"; then
	read -r _ nloaded priv <<<"$(grep '^loaded ' "$WORK/cache.out" | tail -1)"
	read -r _ _ r1 a1 f1 _ x1 <<<"$(grep '^mem1 ' "$WORK/cache.out")"
	read -r _ _ r2 a2 f2 _ x2 <<<"$(grep '^mem2 ' "$WORK/cache.out")"
	echo "models loaded at the end: $nloaded (private bytes $priv); after round 3 -> 15: VmRSS $r1 -> $r2 kB, RssAnon $a1 -> $a2 kB, RssFile $f1 -> $f2 kB, memory contexts $x1 -> $x2 kB"
	echo "RssAnon / memory contexts after each round: $(grep -E '^memr[0-9]+ ' "$WORK/cache.out" | awk '{ printf "%s%s/%s", sep, $4, $7; sep = ", " }') kB"
	check "2c: at most 8 models stay loaded" test "$nloaded" -le 8
	check "2c: memory contexts flat from round 3 to 15 (growth $((x2 - x1)) kB, limit 256 kB)" test $((x2 - x1)) -le 256
	check "2c: RssAnon flat from round 3 to 15 (growth $((a2 - a1)) kB, limit $((2 * RSS_TOLERANCE_KB)) kB)" test $((a2 - a1)) -le $((2 * RSS_TOLERANCE_KB))
else
	not_ok "2c: memory figures missing"
fi

# --- 3. parallel plans -------------------------------------------------------
step "3. forced parallel plan over $PAR_ROWS rows vs serial plan"
FORCE_PARALLEL="SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;"
PAR_SELECT="SELECT id, bert_embed(txt, 'bert-tiny-random') AS e, bert_sentiment(txt, 'bert-tiny-random-cls') AS s, bert_logits(txt, 'distilbert-tiny-random-cls') AS l FROM par"
t0=$(now)
qt >"$WORK/par_setup.out" 2>&1 <<EOF
-- SST-2 and STS-B sentences, repeated: as written, in upper case, numbered
CREATE TABLE base AS
SELECT row_number() OVER (ORDER BY src, k) AS n, t FROM (
  SELECT 1 AS src, id AS k, review AS t FROM sst
  UNION ALL SELECT 2, row_number() OVER (), s1 FROM sts
  UNION ALL SELECT 3, row_number() OVER (), s2 FROM sts) x;
CREATE TABLE par AS
SELECT g AS id,
       CASE (g - 1) / nb WHEN 0 THEN t WHEN 1 THEN upper(t) ELSE t || ' (' || g || ')' END AS txt
FROM generate_series(1, $PAR_ROWS) g, (SELECT count(*) AS nb FROM base) c
JOIN base ON true WHERE base.n = 1 + (g - 1) % c.nb;
ANALYZE par;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE par_serial AS $PAR_SELECT;
EOF
par_setup_rc=$?
serial_s=$(elapsed "$t0")
t0=$(now)
qt >"$WORK/par_plan.out" 2>"$WORK/par_plan.err" <<EOF
$FORCE_PARALLEL
EXPLAIN (ANALYZE, COSTS OFF, VERBOSE) CREATE TABLE par_parallel AS $PAR_SELECT;
EOF
par_rc=$?
parallel_s=$(elapsed "$t0")
[ "$par_setup_rc" = 0 ] || head -5 "$WORK/par_setup.out"
[ -s "$WORK/par_plan.err" ] && head -5 "$WORK/par_plan.err"
echo "rows: $(qt -c 'SELECT count(*) FROM par') ($(qt -c 'SELECT count(DISTINCT txt) FROM par') distinct texts); serial plan (setup included) ${serial_s}s, parallel plan ${parallel_s}s"
sed 's/^/  /' "$WORK/par_plan.out"
planned=$(sed -n 's/.*Workers Planned: \([0-9]*\).*/\1/p' "$WORK/par_plan.out" | head -1)
launched=$(sed -n 's/.*Workers Launched: \([0-9]*\).*/\1/p' "$WORK/par_plan.out" | head -1)
echo "Workers Planned: ${planned:-none}, Workers Launched: ${launched:-none}"
check "3: serial and parallel runs completed" test "$par_setup_rc" = 0 -a "$par_rc" = 0
check "3: the plan is a Gather with workers launched (${launched:-0} of ${planned:-0})" \
	test -n "$launched" -a "${launched:-0}" -ge 1
in_workers() { grep -A1 "Parallel Seq Scan" "$WORK/par_plan.out" | grep -q "Output: .*bert_embed.*bert_sentiment.*bert_logits"; }
check "3: the model functions run below the Gather (in the Parallel Seq Scan's output)" in_workers
diff=$(qt -c "SELECT count(*) FROM par_serial s FULL JOIN par_parallel p USING (id)
              WHERE s.id IS NULL OR p.id IS NULL OR s.e IS DISTINCT FROM p.e
                 OR s.s IS DISTINCT FROM p.s OR s.l IS DISTINCT FROM p.l")
nrows=$(qt -c "SELECT count(*) FROM par_parallel")
check "3: parallel results equal the serial ones bit for bit ($nrows rows, $diff different)" test "$diff" = 0 -a "$nrows" = "$PAR_ROWS"

# the real-text models (F16 embeddings upcast in each worker), every row in a
# worker (leader does not participate), against the single-session reference
q >"$WORK/par_mini.out" 2>&1 <<EOF
$FORCE_PARALLEL
SET parallel_leader_participation = off;
EXPLAIN (ANALYZE, COSTS OFF) CREATE TABLE ref_parallel AS
SELECT id, bert_sentiment(review, 'bert-mini-sentiment') AS l, bert_embed(review, 'bert-mini-embed') AS e FROM ref;
EOF
mini_rc=$?
mini_launched=$(sed -n 's/.*Workers Launched: \([0-9]*\).*/\1/p' "$WORK/par_mini.out" | head -1)
mini_diff=$(q -c "SELECT count(*) FROM ref r FULL JOIN ref_parallel p USING (id)
                  WHERE r.id IS NULL OR p.id IS NULL OR p.l IS DISTINCT FROM r.label_ref OR p.e IS DISTINCT FROM r.emb_ref" 2>&1)
echo "bert-mini-sentiment + bert-mini-embed, $NREF rows, leader not participating: Workers Launched ${mini_launched:-none}"
check "3: real-text models in parallel workers equal the single-session reference ($mini_diff different)" \
	test "$mini_rc" = 0 -a "${mini_launched:-0}" -ge 1 -a "$mini_diff" = 0

# batched execution in the workers: BertBatch over the Parallel Seq Scan
qt >"$WORK/par_batch.out" 2>"$WORK/par_batch.err" <<EOF
$FORCE_PARALLEL
SET bert.batch_queries = on;
EXPLAIN (ANALYZE, COSTS OFF, VERBOSE) CREATE TABLE par_batched AS $PAR_SELECT;
EOF
batch_rc=$?
[ -s "$WORK/par_batch.err" ] && head -5 "$WORK/par_batch.err"
batch_launched=$(sed -n 's/.*Workers Launched: \([0-9]*\).*/\1/p' "$WORK/par_batch.out" | head -1)
read -r batch_rows batch_labels batch_max <<<"$(qt -F' ' -c "
SELECT count(*),
       count(*) FILTER (WHERE s.s IS DISTINCT FROM p.s),
       coalesce(max(greatest((SELECT max(abs(a - b)) FROM unnest(s.e, p.e) AS u(a, b)),
                             (SELECT max(abs(a - b)) FROM unnest(s.l, p.l) AS u(a, b)))), 1)
FROM par_serial s FULL JOIN par_batched p USING (id)")"
echo "batched parallel plan: Workers Launched ${batch_launched:-none}; $batch_rows rows, labels different ${batch_labels:-?}, largest |difference| from the serial per-row floats ${batch_max:-?}"
batch_in_workers() { grep -A8 "Custom Scan (BertBatch)" "$WORK/par_batch.out" | grep -q "Batched Calls: bert_embed.*bert_sentiment.*bert_logits" &&
	grep -B12 "Custom Scan (BertBatch)" "$WORK/par_batch.out" | grep -q "Gather"; }
check "3: batched: the calls run in the workers (${batch_launched:-0} launched)" test "$batch_rc" = 0 -a "${batch_launched:-0}" -ge 1
check "3: batched: the plan has BertBatch below the Gather with the three calls" batch_in_workers
check "3: batched: labels equal the serial per-row ones, floats within 1e-5 ($batch_rows rows)" \
	awk -v n="${batch_rows:-0}" -v want="$PAR_ROWS" -v l="${batch_labels:-1}" -v m="${batch_max:-1}" 'BEGIN { exit !(n == want && l == 0 && m <= 1e-5) }'

# --- 4. bert.threads ---------------------------------------------------------
step "4. bert.threads = 1 vs 2, $THREAD_SESSIONS concurrent sessions x $THREAD_ROWS IMDB reviews (bert-mini-sentiment, 128 tokens)"
q -c "CREATE TABLE t4 (threads int, id int, l real[], PRIMARY KEY (threads, id))" >/dev/null
total_rows=$((THREAD_SESSIONS * THREAD_ROWS))
declare -A rate
for thr in 1 2; do
	t0=$(now)
	for s in $(seq 1 "$THREAD_SESSIONS"); do
		lo=$(((s - 1) * THREAD_ROWS))
		hi=$((s * THREAD_ROWS))
		timeout -k 10 240 env PGOPTIONS="$MODELS_OPT" psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" \
			>"$WORK/thr${thr}_$s.out" 2>"$WORK/thr${thr}_$s.err" <<EOF &
SET bert.threads = $thr;
SET statement_timeout = '200s';
SET max_parallel_workers_per_gather = 0;
INSERT INTO t4 SELECT $thr, id, bert_logits(review, 'bert-mini-sentiment') FROM imdb WHERE id > $lo AND id <= $hi;
SELECT 'mem ' || ($MEM_SQL);
EOF
	done
	wait
	secs=$(elapsed "$t0")
	rate[$thr]=$(awk -v n="$total_rows" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
	errs=$(cat "$WORK"/thr${thr}_*.err)
	threads_seen=$(cat "$WORK"/thr${thr}_*.out | awk '/^mem / { printf "%s%s", sep, $6; sep = "," }')
	echo "bert.threads = $thr: $total_rows rows in ${secs}s = ${rate[$thr]} rows/s total; OS threads per backend after the run: $threads_seen"
	[ -n "$errs" ] && echo "$errs" | head -5
	check "4: bert.threads = $thr, $THREAD_SESSIONS sessions finished without error or timeout" test -z "$errs"
done
read -r n4 bitdiff maxdiff flips <<<"$(q -F' ' -c "
SELECT count(*),
       count(*) FILTER (WHERE a.l IS DISTINCT FROM b.l),
       coalesce(max(greatest(abs(a.l[1] - b.l[1]), abs(a.l[2] - b.l[2]))), 0),
       count(*) FILTER (WHERE (a.l[1] > a.l[2]) <> (b.l[1] > b.l[2]) AND abs(a.l[1] - a.l[2]) > 1e-4)
FROM t4 a JOIN t4 b ON a.id = b.id AND a.threads = 1 AND b.threads = 2")"
echo "threads=2 vs threads=1 on $n4 reviews: $bitdiff with logits not bit-identical, largest |difference| $maxdiff, labels that differ: $flips"
echo "throughput: threads=1 ${rate[1]} rows/s, threads=2 ${rate[2]} rows/s ($(nproc) CPUs, $THREAD_SESSIONS sessions: oversubscribed, reported only)"
check "4: threads=2 gives the labels of threads=1 and logits within 1e-4 ($n4 rows)" \
	awk -v n="$n4" -v m="$maxdiff" -v f="$flips" -v want="$total_rows" 'BEGIN { exit !(n == want && f == 0 && m <= 1e-4) }'
[ "$bitdiff" != 0 ] && echo "finding: bert.threads changes the low bits of the results ($bitdiff of $n4 rows; OpenBLAS splits the products differently)"

# cancel in the middle of a 2-thread forward pass, then the same session is
# still correct (bit for bit against the threads=2 results of another session)
timeout -k 10 90 env PGOPTIONS="$MODELS_OPT" psql -X -q -At -d "$DB" >"$WORK/cancel.out" 2>"$WORK/cancel.err" <<EOF
SET bert.threads = 2;
SET max_parallel_workers_per_gather = 0;
SET statement_timeout = '500ms';
\timing on
SELECT count(bert_logits(review, 'bert-mini-sentiment')) FROM imdb;
\timing off
SET statement_timeout = '60s';
SELECT 'wrong ' || count(*) FROM t4 JOIN imdb USING (id) WHERE threads = 2 AND id <= 40 AND bert_logits(review, 'bert-mini-sentiment') IS DISTINCT FROM l;
EOF
cancel_rc=$?
cancel_ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$WORK/cancel.out" | head -1)
echo "statement_timeout 500ms with bert.threads = 2: canceled after ${cancel_ms:-?} ms; $(grep '^wrong ' "$WORK/cancel.out" || echo 'no check') afterwards"
check "4: statement_timeout cancels a 2-thread query" grep -q "canceling statement due to statement timeout" "$WORK/cancel.err"
check "4: the session is correct after the cancel" test "$cancel_rc" = 0 -a "$(grep '^wrong ' "$WORK/cancel.out")" = "wrong 0"

# pg_terminate_backend of a backend busy with 2 BLAS threads: it must exit
PGAPPNAME=bert_load_victim PGOPTIONS="$MODELS_OPT" timeout -k 5 60 psql -X -q -At -d "$DB" \
	-c "SET bert.threads = 2" -c "SET statement_timeout = '40s'" \
	-c "SELECT count(bert_logits(review, 'bert-mini-sentiment')) FROM imdb" >"$WORK/victim.out" 2>"$WORK/victim.err" &
victim=$!
vpid=
for _ in $(seq 1 50); do
	vpid=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'bert_load_victim' AND state = 'active' AND query LIKE 'SELECT count(bert_logits%'")
	[ -n "$vpid" ] && break
	sleep 0.2
done
if [ -n "$vpid" ]; then
	sleep 1
	vthreads=$(awk '/^Threads:/ { print $2 }' "/proc/$vpid/status" 2>/dev/null)
	t0=$(now)
	q -c "SELECT pg_terminate_backend($vpid)" >/dev/null
	wait "$victim"
	gone=no
	for _ in $(seq 1 50); do
		[ -d "/proc/$vpid" ] || { gone=yes; break; }
		sleep 0.2
	done
	echo "terminated backend $vpid (OS threads ${vthreads:-?}): client told after $(elapsed "$t0")s, process gone: $gone"
	check "4: pg_terminate_backend ends a 2-thread backend mid-query" test "$gone" = yes
	check "4: the client got the termination error" grep -q "terminating connection due to administrator command" "$WORK/victim.err"
else
	wait "$victim"
	not_ok "4: victim session never became active"
	head -3 "$WORK/victim.err"
fi
check "4: the server accepts connections afterwards" test "$(q -c 'SELECT 1' 2>/dev/null)" = 1

# --- 5. server log -----------------------------------------------------------
step "5. server log"
if [ -n "$SERVER_LOG" ] && [ -r "$SERVER_LOG" ]; then
	crashes=$(grep -c "terminated by signal" "$SERVER_LOG")
	ours=$(tail -c +"$((log_size_at_start + 1))" "$SERVER_LOG" | grep -c "terminated by signal")
	if [ "$crashes" != 0 ]; then
		grep -B2 -A3 "terminated by signal" "$SERVER_LOG" | head -40
	fi
	echo "ERROR/FATAL lines logged during this suite: $(tail -c +"$((log_size_at_start + 1))" "$SERVER_LOG" | grep -cE 'ERROR:|FATAL:') (one statement_timeout and one termination expected)"
	check "5: no \"terminated by signal\" in $SERVER_LOG ($crashes, $ours during this suite)" test "$crashes" = 0
else
	echo "server log not readable (CLUSTER_DIR unset): not checked"
fi

echo
echo "total time: $(elapsed "$SUITE_START")s"
cleanup
trap - EXIT
echo "load: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
