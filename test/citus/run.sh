#!/usr/bin/env bash
# test/citus/run.sh: bert on a distributed Citus cluster.
#
# Starts a coordinator and two workers (test/cluster.sh node_start: Unix
# sockets in temporary directories, free ports, run as "postgres"), with
# Citus 13.2.2 (test/install_citus.sh) and bert on all three, and checks a
# distributed reviews table against a single-node run of the same rows:
#
#   settings    ALTER SYSTEM SET bert.* in a fresh session (PostgreSQL 15
#               refuses it until the library is loaded), after LOAD 'bert';
#               on the workers through run_command_on_workers, without and
#               with bert preloaded (shared_preload_libraries on w2,
#               session_preload_libraries); ALTER DATABASE ... SET without
#               the library, propagated by Citus
#   results     every label (bert_sentiment) of the distributed table equal
#               to the single-node one, every embedding (bert_embed) within
#               1e-5 of it (one call per row: bert.batch_queries is off on
#               every node except in "batching"; each node runs the matrix
#               product plan it measured, so the last bits may differ)
#   placement   EXPLAIN VERBOSE shows the model call inside the task queries
#               of both workers; pg_stat_user_functions (track_functions =
#               all) counts every call on the workers and none on the
#               coordinator
#   batching    EXPLAIN of a shard query on a worker; with bert.batch_queries
#               on across the cluster, the shard query's plan has a BertBatch
#               node, the labels equal the single-node ones, the embeddings
#               are within 1e-5, and pg_stat_user_functions counts one call
#               per row on the workers
#   storage     a generated bert_embed column (INSERT ... SELECT and ALTER
#               TABLE ... ADD COLUMN), UPDATE ... SET emb = bert_embed(...),
#               an expression index on bert_sentiment used by every task
#   session     SET bert.sentiment_model does not reach the workers (the
#               error names the setting and the worker), nor does SET
#               bert.max_length (silently); SET LOCAL with
#               citus.propagate_set_commands = 'local' and ALTER DATABASE ...
#               SET (propagated by Citus) do
#   faults      a worker without bert.model_dir, and one whose bert.model_dir
#               lacks the model: clean errors naming the worker, through the
#               query path and through Citus's COPY path (INSERT ... SELECT
#               via the coordinator, \copy); the cluster works again once
#               the worker is fixed
#   caveats     the single-node array_agg batching recipe: every task runs
#               the model on all rows (EXPLAIN)
#   backfill    the recipe per shard with run_command_on_shards: equal to the
#               single-node embeddings within 1e-5
#   memory      private memory and load time of the models in one worker
#               backend
#   throughput  rows/s of SELECT bert_sentiment and UPDATE ... SET emb =
#               bert_embed on one node (one backend; and a 2-process
#               parallel plan) and on the two workers, best of CITUS_REPEAT.
#               On a machine whose cores are shared by all three nodes the
#               cluster's figure is bounded by the cores, not the workers
#   logs        no "terminated by signal" or PANIC in any node's log
#
# Run by test/run_tests.sh, or alone as root (the extension installed with
# make install).  Ignores PGHOST/PGPORT: every command names its node.
# Environment: CITUS_SST2_ROWS (480) and CITUS_IMDB_ROWS (120) rows of
# ../shared/data/reviews, CITUS_REPEAT (3), KEEP=1 keeps the scratch folder.
# Prints PASS/FAIL per check and ends with "citus: N passed, M failed".
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export ROOT
SST2_ROWS=${CITUS_SST2_ROWS:-480}
IMDB_ROWS=${CITUS_IMDB_ROWS:-120}
REPEAT=${CITUS_REPEAT:-3}
SENTIMENT=bert-mini-sentiment
EMBED=bert-mini-embed
DATA=$ROOT/../shared/data/reviews

PASSED=0
FAILED=0
pass() { echo "PASS $1${2:+: $2}"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; FAILED=$((FAILED + 1)); }
skip() { echo "SKIP $1${2:+: $2}"; }
step() { printf '\n== citus/%s\n' "$1"; }
finish() {
	echo "citus: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
SUITE_START=$(now_ms)

if [ ! -f "$DATA/sst2_dev.tsv" ] || [ ! -f "$DATA/imdb_test_5000.tsv" ]; then
	fail "setup" "$DATA not found (../shared beside the checkout)"
	finish
fi
if ! bash "$ROOT/test/install_citus.sh"; then
	fail "setup" "Citus is not installed and could not be"
	finish
fi
# shellcheck source=../cluster.sh
source "$ROOT/test/cluster.sh"

WORK=$(mktemp -d /tmp/bert-citus.XXXXXX)
chmod 755 "$WORK"
cleanup() {
	nodes_stop
	if [ "${KEEP:-0}" = 1 ]; then echo "kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
shared_for_server "$WORK"
MODELS=$BERT_SHARED/models
EMPTY_MODELS=$WORK/no-models
mkdir -p "$EMPTY_MODELS"

# ------------------------------------------------------------------ helpers

NODES=(coord w1 w2)
# psql on NODE (unaligned, quiet, stopping at the first error)
on() {
	local node=$1
	shift
	psql -X -q -At -v ON_ERROR_STOP=1 -h "${NODE_DIR[$node]}" -p "${NODE_PORT[$node]}" \
		-U postgres -d postgres "$@"
}
# q NODE SQL...: rows on stdout; the error (verbose: SQLSTATE, DETAIL,
# HINT, CONTEXT) in $WORK/err, printed by err_text
q() {
	local node=$1 args=() s
	shift
	for s in "$@"; do args+=(-c "$s"); done
	on "$node" -v VERBOSITY=verbose "${args[@]}" 2>"$WORK/err"
}
err_text() { grep -v '^LOCATION:' "$WORK/err" | tr '\n' ' ' | sed 's/  */ /g'; }
# Citus's name of a node, as in "while executing command on DIR:PORT"
node_name() { echo "${NODE_DIR[$1]}:${NODE_PORT[$1]}"; }

# expect_error NAME REGEX...: the last q failed and its error text matches
# every REGEX (grep -E)
expect_error() {
	local name=$1 re text
	shift
	text=$(err_text)
	if [ -z "$text" ]; then
		fail "$name" "no error"
		return
	fi
	for re in "$@"; do
		if ! printf '%s' "$text" | grep -Eq -- "$re"; then
			fail "$name" "expected /$re/ in: ${text:0:400}"
			return
		fi
	done
	pass "$name" "${text:0:300}"
}
# expect_eq NAME GOT WANT [FIGURE]
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1" "${4:-$2}"; else fail "$1" "got '${2:0:300}', expected '${3:0:300}' $(err_text)"; fi
}
# same_rows NAME FILE REF: two "id|value" dumps equal line for line
same_rows() {
	local name=$1 got=$2 ref=$3 n diff
	n=$(wc -l <"$ref")
	if [ "$n" -eq 0 ]; then
		fail "$name" "reference is empty $(err_text)"
	elif cmp -s "$got" "$ref"; then
		pass "$name" "$n rows equal"
	else
		diff=$(diff "$got" "$ref" | grep -c '^<')
		fail "$name" "$diff of $n rows differ (first: $(diff "$got" "$ref" | sed -n 2p | cut -c1-120)) $(err_text)"
	fi
}
# calls NODE FUNCTION-SIGNATURE: pg_stat_user_functions.calls on that node
calls() {
	on "$1" -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcid = '$2'::regprocedure"
}
# stats_snapshot FN: calls of FN on every node, "coord w1 w2"
stats_snapshot() {
	local n out=()
	for n in "${NODES[@]}"; do out+=("$(calls "$n" "$1")"); done
	echo "${out[*]}"
}
# expect_worker_calls NAME FN BEFORE ROWS: the workers' counters of FN grew
# by ROWS in all, each by some, the coordinator's not at all.  Worker
# backends report their counters when they exit (the coordinator session
# that opened them has ended) or when idle: poll for up to 20 s.
expect_worker_calls() {
	local name=$1 fn=$2 rows=$4 before after c0 c1 c2 d0 d1 d2
	read -r c0 c1 c2 <<<"$3"
	for _ in $(seq 1 40); do
		after=$(stats_snapshot "$fn")
		read -r d0 d1 d2 <<<"$after"
		d0=$((d0 - c0)) d1=$((d1 - c1)) d2=$((d2 - c2))
		[ $((d1 + d2)) -ge "$rows" ] && break
		sleep 0.5
	done
	if [ "$d0" -eq 0 ] && [ "$d1" -gt 0 ] && [ "$d2" -gt 0 ] && [ $((d1 + d2)) -eq "$rows" ]; then
		pass "$name" "$fn calls: w1 $d1 + w2 $d2 = $rows rows, coordinator $d0"
	else
		fail "$name" "$fn calls: coordinator $d0, w1 $d1, w2 $d2; expected $rows on the workers, 0 on the coordinator"
	fi
}
# timed_ms NODE SQL: runs SQL once, prints the wall time in ms
timed_ms() {
	local t0
	t0=$(now_ms)
	q "$1" "$2" >/dev/null || { echo -1; return; }
	echo $(($(now_ms) - t0))
}
# best_ms NODE SQL: the fastest of REPEAT runs
best_ms() {
	local best=-1 t
	for _ in $(seq 1 "$REPEAT"); do
		t=$(timed_ms "$1" "$2")
		[ "$t" -lt 0 ] && { echo -1; return; }
		{ [ "$best" -lt 0 ] || [ "$t" -lt "$best" ]; } && best=$t
	done
	echo "$best"
}
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.1f", n * 1000 / ms; else print "n/a" }'; }

# within_1e5 FILE: the "id|embedding" rows of FILE are the single-node
# embeddings to 1e-5 (batched forward passes sum in another order: about
# 1e-7); prints "rows bad max"
within_1e5() {
	awk -F'|' -v tol=1e-5 '
		NR == FNR { ref[$1] = $2; next }
		{ n++; if (!($1 in ref)) { bad++; next }
		  gsub(/[{}]/, "", $2); r = ref[$1]; gsub(/[{}]/, "", r)
		  k = split($2, a, ","); if (split(r, b, ",") != k || k == 0) { bad++; next }
		  for (i = 1; i <= k; i++) { d = a[i] - b[i]; if (d < 0) d = -d; if (d > max) max = d }
		  if (max > tol) bad++ }
		END { printf "%d %d %.3g\n", n, bad + 0, max }' "$WORK/embeds.ref" "$1"
}

# same_embeddings NAME FILE: the "id|embedding" rows of FILE are every
# single-node embedding, each within 1e-5.  Each node measures its own
# matrix product plan (in its own bert.cache_dir), and plans measured apart
# may differ in a strategy, which changes the order of float sums: the
# nodes' embeddings agree to about 1e-7, not bit for bit
same_embeddings() {
	local n bad maxd
	read -r n bad maxd <<<"$(within_1e5 "$2")"
	if [ "$n" = "$ROWS" ] && [ "$bad" = 0 ]; then
		pass "$1" "$n rows within 1e-5 of the single-node embeddings (max |diff| $maxd)"
	else
		fail "$1" "$n of $ROWS rows, $bad differ by more than 1e-5 (max $maxd) $(err_text)"
	fi
}

# re_quote TEXT: TEXT as a literal in a grep -E pattern
re_quote() { printf '%s' "$1" | sed 's/[][\.*^$(){}+?|/]/\\&/g'; }
# reload_and_wait NODE SETTING VALUE: reloads NODE's configuration and waits
# until a fresh session sees SETTING = VALUE (the postmaster applies SIGHUP
# asynchronously, and new backends inherit what it has applied)
reload_and_wait() {
	local node=$1 setting=$2 want=$3
	q "$node" "SELECT pg_reload_conf()" >/dev/null
	for _ in $(seq 1 50); do
		[ "$(on "$node" -c "SELECT current_setting('$setting')" 2>/dev/null)" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# ------------------------------------------------------------------ cluster

step "start"
# w2 preloads bert with Citus; the coordinator and w1 load it on first use.
# Each node has its own bert.cache_dir (the default, in its data directory),
# as the nodes of a cluster on several machines do: each measures its own
# matrix product plan
for n in "${NODES[@]}"; do
	preload=citus
	[ "$n" = w2 ] && preload=citus,bert
	if ! node_start "$n" -c shared_preload_libraries=$preload -c track_functions=all \
		-c max_prepared_transactions=64; then
		fail "start/$n" "could not start the node"
		finish
	fi
done
# one call per row for the per-row checks (the batching step turns the
# batched execution of plain queries on and off again); CREATE EXTENSION
# loads the library, so this session knows the setting
for n in "${NODES[@]}"; do
	q "$n" "CREATE EXTENSION citus" "CREATE EXTENSION bert" \
		"ALTER SYSTEM SET bert.batch_queries = off" >/dev/null &&
		reload_and_wait "$n" bert.batch_queries off ||
		{ fail "start" "CREATE EXTENSION citus / bert on $n: $(err_text)"; finish; }
done
# Citus names a node by host and port; to libpq a socket directory is a host
if q coord "SELECT citus_set_coordinator_host('${NODE_DIR[coord]}', ${NODE_PORT[coord]})" \
	"SELECT citus_add_node('${NODE_DIR[w1]}', ${NODE_PORT[w1]})" \
	"SELECT citus_add_node('${NODE_DIR[w2]}', ${NODE_PORT[w2]})" >/dev/null; then
	expect_eq "start" "$(on coord -c "SELECT count(*) FROM citus_get_active_worker_nodes()")" 2 \
		"coordinator $(node_name coord), workers $(node_name w1) and $(node_name w2); citus $(on coord -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"), bert $(on coord -c "SELECT extversion FROM pg_extension WHERE extname = 'bert'") on each"
else
	fail "start" "$(err_text)"
	finish
fi

# ----------------------------------------------------------------- settings

step "settings"
# PostgreSQL 15's ALTER SYSTEM looks its parameter up without making a
# placeholder: a bert.* setting is unknown until the library is loaded
q coord "ALTER SYSTEM SET bert.model_dir = '$MODELS'" >/dev/null
expect_error "settings/alter-system-fresh-session" 'unrecognized configuration parameter "bert\.model_dir"'
if q coord "LOAD 'bert'" "ALTER SYSTEM SET bert.model_dir = '$MODELS'" >/dev/null &&
	reload_and_wait coord bert.model_dir "$MODELS"; then
	pass "settings/alter-system-after-load" "LOAD 'bert'; ALTER SYSTEM SET bert.model_dir = '$MODELS'"
else
	fail "settings/alter-system-after-load" "$(err_text)"
fi
# each run_command_on_workers() opens a fresh connection: ALTER SYSTEM SET
# bert.* fails where the library is not preloaded (w1), works where it is
# (w2: shared_preload_libraries = 'citus,bert')
cmd() { echo "SELECT string_agg(n.node || ' ' || success::text || ' ' || result, '; ' ORDER BY n.node) FROM run_command_on_workers(\$cmd\$$1\$cmd\$) r JOIN (VALUES ('w1', ${NODE_PORT[w1]}), ('w2', ${NODE_PORT[w2]})) n(node, port) ON n.port = r.nodeport"; }
out=$(q coord "$(cmd "ALTER SYSTEM SET bert.model_dir = '$MODELS'")")
expect_eq "settings/run-command-on-workers" "$out" \
	'w1 false ERROR:  unrecognized configuration parameter "bert.model_dir"; w2 true ALTER SYSTEM'
# workers_show SETTING WANT: the workers' SETTING through fresh connections,
# polled until both show WANT (the reload is asynchronous) or 5 s passed
workers_show() {
	local shown
	for _ in $(seq 1 50); do
		shown=$(q coord "$(cmd "SHOW $1")")
		[ "$shown" = "w1 true $2; w2 true $2" ] && break
		sleep 0.1
	done
	echo "$shown"
}
# session_preload_libraries (a core setting) needs no restart
q coord "$(cmd "ALTER SYSTEM SET session_preload_libraries = 'bert'")" "$(cmd "SELECT pg_reload_conf()")" >/dev/null
workers_show session_preload_libraries bert >/dev/null
q coord "$(cmd "ALTER SYSTEM SET bert.model_dir = '$MODELS'")" "$(cmd "SELECT pg_reload_conf()")" >/dev/null
shown=$(workers_show bert.model_dir "$MODELS")
expect_eq "settings/session-preload" "$shown" "w1 true $MODELS; w2 true $MODELS" \
	"session_preload_libraries = 'bert' on the workers, then ALTER SYSTEM SET bert.model_dir through run_command_on_workers: $shown"
# ALTER DATABASE ... SET needs no library (a placeholder until bert loads),
# and Citus runs it on every node
if q coord "ALTER DATABASE postgres SET bert.max_length = 64" >/dev/null; then
	shown="coordinator $(on coord -c "SHOW bert.max_length"); $(q coord "$(cmd "SHOW bert.max_length")")"
	expect_eq "settings/alter-database" "$shown" "coordinator 64; w1 true 64; w2 true 64" \
		"ALTER DATABASE postgres SET bert.max_length = 64 in a session without bert: $shown"
	q coord "ALTER DATABASE postgres RESET bert.max_length" >/dev/null
else
	fail "settings/alter-database" "$(err_text)"
fi

# --------------------------------------------------------------------- data

step "data"
if q coord "CREATE TABLE staging (n serial, label int, review text)" \
	"\\copy staging (label, review) FROM '$DATA/sst2_dev.tsv' (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\b')" \
	"CREATE TABLE reviews_local (id bigint PRIMARY KEY, label int, review text)" \
	"INSERT INTO reviews_local SELECT n, label, review FROM staging ORDER BY n LIMIT $SST2_ROWS" \
	"TRUNCATE staging" \
	"\\copy staging (label, review) FROM '$DATA/imdb_test_5000.tsv' (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\b')" \
	"INSERT INTO reviews_local SELECT 100000 + n, label, review FROM staging ORDER BY n LIMIT $IMDB_ROWS" \
	"DROP TABLE staging" \
	"CREATE TABLE reviews (LIKE reviews_local INCLUDING ALL)" \
	"SELECT create_distributed_table('reviews', 'id')" \
	"INSERT INTO reviews SELECT * FROM reviews_local" \
	"ANALYZE reviews_local" "ANALYZE reviews" >/dev/null; then
	ROWS=$(on coord -c "SELECT count(*) FROM reviews")
	expect_eq "data" "$ROWS" $((SST2_ROWS + IMDB_ROWS)) \
		"$ROWS rows ($SST2_ROWS SST-2 dev, $IMDB_ROWS IMDB test) in reviews_local (one node) and reviews ($(on coord -c "SELECT count(*) || ' shards on ' || count(DISTINCT nodeport) || ' workers' FROM citus_shards WHERE table_name = 'reviews'::regclass"))"
else
	fail "data" "$(err_text)"
	finish
fi

# ------------------------------------------------------------------ results

step "results"
LABELS="SELECT id, bert_sentiment(review, '$SENTIMENT') FROM %s ORDER BY id"
EMBEDS="SELECT id, bert_embed(review, '$EMBED') FROM %s ORDER BY id"
# single node: one backend on the coordinator's local table
q coord "SET max_parallel_workers_per_gather = 0" "$(printf "$LABELS" reviews_local)" >"$WORK/labels.ref"
q coord "SET max_parallel_workers_per_gather = 0" "$(printf "$EMBEDS" reviews_local)" >"$WORK/embeds.ref"
echo "single node: $(grep -c '|POSITIVE$' "$WORK/labels.ref") POSITIVE, $(grep -c '|NEGATIVE$' "$WORK/labels.ref") NEGATIVE of $(wc -l <"$WORK/labels.ref")"

before=$(stats_snapshot 'bert_sentiment(text,text)')
q coord "$(printf "$LABELS" reviews)" >"$WORK/labels.dist"
same_rows "results/labels" "$WORK/labels.dist" "$WORK/labels.ref"
expect_worker_calls "placement/sentiment-calls" 'bert_sentiment(text,text)' "$before" "$ROWS"

before=$(stats_snapshot 'bert_embed(text,text)')
q coord "$(printf "$EMBEDS" reviews)" >"$WORK/embeds.dist"
same_embeddings "results/embeddings" "$WORK/embeds.dist"
expect_worker_calls "placement/embed-calls" 'bert_embed(text,text)' "$before" "$ROWS"

# ---------------------------------------------------------------- placement

step "placement"
SHARDS=$(on coord -c "SELECT count(*) FROM citus_shards WHERE table_name = 'reviews'::regclass")
plan=$(q coord "SET citus.explain_all_tasks = on" "EXPLAIN (VERBOSE) $(printf "$LABELS" reviews)")
in_tasks=$(grep -cE "Query: SELECT .*public\.bert_sentiment\(review, '$SENTIMENT'::text\).* FROM public\.reviews_[0-9]+ reviews" <<<"$plan")
on_w1=$(grep -c "Node: host=${NODE_DIR[w1]} port=${NODE_PORT[w1]} " <<<"$plan")
on_w2=$(grep -c "Node: host=${NODE_DIR[w2]} port=${NODE_PORT[w2]} " <<<"$plan")
top=$(grep -m1 -A1 'Custom Scan (Citus Adaptive)' <<<"$plan" | tail -1)
if [ "$in_tasks" -eq "$SHARDS" ] && [ "$on_w1" -gt 0 ] && [ "$on_w2" -gt 0 ] &&
	[ $((on_w1 + on_w2)) -eq "$SHARDS" ] && ! grep -q 'bert_sentiment(' <<<"$top"; then
	pass "placement/explain" "bert_sentiment in all $in_tasks task queries ($on_w1 on w1, $on_w2 on w2); the coordinator only gathers:$top"
else
	fail "placement/explain" "$in_tasks of $SHARDS task queries call bert_sentiment, $on_w1 on w1, $on_w2 on w2, coordinator:$top $(err_text)"
fi

# ----------------------------------------------------------------- batching

step "batching"
# The plan a worker makes for one shard query, seen on the worker itself.
shard=$(on coord -c "SELECT shard_name FROM citus_shards WHERE table_name = 'reviews'::regclass AND nodeport = ${NODE_PORT[w1]} ORDER BY shardid LIMIT 1")
wplan=$(q w1 "EXPLAIN (VERBOSE, COSTS OFF) SELECT id, bert_sentiment(review, '$SENTIMENT') FROM $shard")
if grep -q "bert_sentiment(review, '$SENTIMENT'::text)" <<<"$wplan"; then
	pass "batching/worker-explain" "on w1: $(tr '\n' ' ' <<<"$wplan" | sed 's/  */ /g')"
else
	fail "batching/worker-explain" "$wplan $(err_text)"
fi
# batch_setting on|off: bert.batch_queries on every node, for new sessions
batch_setting() {
	local n
	for n in "${NODES[@]}"; do
		q "$n" "LOAD 'bert'" "ALTER SYSTEM SET bert.batch_queries = $1" >/dev/null &&
			reload_and_wait "$n" bert.batch_queries "$1" || return 1
	done
}
# batched execution of plain queries, on across the cluster: each worker
# batches the model calls of its shard queries
if batch_setting on; then
	wplan=$(q w1 "EXPLAIN (VERBOSE, COSTS OFF) SELECT id, bert_sentiment(review, '$SENTIMENT') FROM $shard")
	if grep -q "Custom Scan (BertBatch)" <<<"$wplan" &&
		grep -q "Batched Calls: bert_sentiment(review, '$SENTIMENT'::text)" <<<"$wplan"; then
		pass "batching/worker-batched-scan" "on w1: $(tr '\n' ' ' <<<"$wplan" | sed 's/  */ /g')"
	else
		fail "batching/worker-batched-scan" "$wplan $(err_text)"
	fi
	before=$(stats_snapshot 'bert_sentiment(text,text)')
	q coord "$(printf "$LABELS" reviews)" >"$WORK/labels.batched"
	same_rows "batching/labels" "$WORK/labels.batched" "$WORK/labels.ref"
	expect_worker_calls "batching/sentiment-calls" 'bert_sentiment(text,text)' "$before" "$ROWS"
	q coord "$(printf "$EMBEDS" reviews)" >"$WORK/embeds.batched"
	read -r n bad maxd <<<"$(within_1e5 "$WORK/embeds.batched")"
	if [ "$n" = "$ROWS" ] && [ "$bad" = 0 ]; then
		pass "batching/embeddings" "$n rows within 1e-5 of one node's per-row bert_embed (max |diff| $maxd)"
	else
		fail "batching/embeddings" "$n rows, $bad differ by more than 1e-5 (max $maxd) $(err_text)"
	fi
else
	fail "batching/setting" "ALTER SYSTEM SET bert.batch_queries = on: $(err_text)"
fi
batch_setting off || fail "batching/setting-off" "ALTER SYSTEM SET bert.batch_queries = off: $(err_text)"

# ------------------------------------------------------------------ storage

step "storage"
# stored NAME QUERY SQL...: runs the statements SQL; then the "id|embedding"
# rows of QUERY must be the single-node embeddings (to 1e-5), and the workers must
# have made one bert_embed call per row
stored() {
	local name=$1 query=$2 before file
	shift 2
	file=$WORK/${name//\//_}.emb
	before=$(stats_snapshot 'bert_embed(text,text)')
	if q coord "$@" >/dev/null; then
		q coord "$query" >"$file"
		same_embeddings "$name" "$file"
		expect_worker_calls "$name-calls" 'bert_embed(text,text)' "$before" "$ROWS"
	else
		fail "$name" "$(err_text)"
	fi
}
# a generated column filled by INSERT ... SELECT between co-located tables:
# Citus runs it on the workers, each shard into its partner
stored "storage/generated-insert-select" "SELECT id, emb FROM docs ORDER BY id" \
	"CREATE TABLE docs (id bigint PRIMARY KEY, body text, emb real[] GENERATED ALWAYS AS (bert_embed(body, '$EMBED')) STORED)" \
	"SELECT create_distributed_table('docs', 'id', colocate_with => 'reviews')" \
	"INSERT INTO docs (id, body) SELECT id, review FROM reviews"
# ALTER TABLE ... ADD COLUMN ... GENERATED: each worker rewrites its shards
stored "storage/generated-add-column" "SELECT id, emb FROM docs2 ORDER BY id" \
	"CREATE TABLE docs2 (id bigint PRIMARY KEY, body text)" \
	"SELECT create_distributed_table('docs2', 'id', colocate_with => 'reviews')" \
	"INSERT INTO docs2 SELECT id, review FROM reviews" \
	"ALTER TABLE docs2 ADD COLUMN emb real[] GENERATED ALWAYS AS (bert_embed(body, '$EMBED')) STORED"
# a backfill: UPDATE ... SET emb = bert_embed(...), run on each shard
stored "storage/update" "SELECT id, emb FROM reviews ORDER BY id" \
	"ALTER TABLE reviews ADD COLUMN emb real[]" \
	"UPDATE reviews SET emb = bert_embed(review, '$EMBED')"
# an expression index: the query reads the labels from it, calling no model
if q coord "CREATE INDEX reviews_sentiment ON reviews (bert_sentiment(review, '$SENTIMENT'))" >/dev/null; then
	NEG="SELECT id FROM reviews WHERE bert_sentiment(review, '$SENTIMENT') = 'NEGATIVE' ORDER BY id"
	iplan=$(q coord "SET citus.explain_all_tasks = on" "EXPLAIN (COSTS OFF) $NEG")
	with_index=$(grep -cE "(Index|Bitmap Index) Scan (using|on) reviews_sentiment_[0-9]+" <<<"$iplan")
	before=$(stats_snapshot 'bert_sentiment(text,text)')
	q coord "$NEG" >"$WORK/neg.dist"
	sed -n 's/|NEGATIVE$//p' "$WORK/labels.ref" >"$WORK/neg.ref"
	same_rows "storage/expression-index" "$WORK/neg.dist" "$WORK/neg.ref"
	sleep 1
	after=$(stats_snapshot 'bert_sentiment(text,text)')
	expect_eq "storage/expression-index-used" "$with_index tasks, calls $after" "$SHARDS tasks, calls $before" \
		"all $with_index task plans scan reviews_sentiment; no model call (calls per node: $after)"
	# dropped: a later UPDATE of the rows would recompute it
	q coord "DROP INDEX reviews_sentiment" >/dev/null
else
	fail "storage/expression-index" "$(err_text)"
fi

# ------------------------------------------------------------------ session

step "session"
ONE_ARG="SELECT id, bert_sentiment(review) FROM reviews ORDER BY id"
WORKER_RE="while executing command on ($(re_quote "$(node_name w1)")|$(re_quote "$(node_name w2)"))"
q coord "SET bert.sentiment_model = '$SENTIMENT'" "$ONE_ARG" >/dev/null
expect_error "session/set-not-propagated" '55000' 'no model given and bert\.sentiment_model is not set' \
	'set bert\.sentiment_model on every node' "$WORKER_RE"
q coord "SET citus.propagate_set_commands = 'local'" "BEGIN" "SET LOCAL bert.sentiment_model = '$SENTIMENT'" \
	"$ONE_ARG" "COMMIT" >"$WORK/labels.setlocal"
same_rows "session/set-local-propagated" "$WORK/labels.setlocal" "$WORK/labels.ref"
# a session SET of bert.max_length changes nothing on the workers: the same
# statement gives other results than on one node, without an error
TOKENS="SELECT max(array_length(bert_token_ids(review, '$EMBED'), 1)) FROM"
out="one node $(q coord "SET bert.max_length = 16" "$TOKENS reviews_local"), cluster $(q coord "SET bert.max_length = 16" "$TOKENS reviews")"
out+=", cluster with SET LOCAL $(q coord "SET citus.propagate_set_commands = 'local'" "BEGIN" "SET LOCAL bert.max_length = 16" "$TOKENS reviews" "COMMIT")"
expect_eq "session/max-length" "$out" "one node 16, cluster 128, cluster with SET LOCAL 16" \
	"longest input after SET bert.max_length = 16: $out (128 is the model's own limit)"
# ALTER DATABASE ... SET on the coordinator: Citus runs it on every node too
if q coord "ALTER DATABASE postgres SET bert.sentiment_model = '$SENTIMENT'" >/dev/null; then
	shown=$(q coord "$(cmd "SHOW bert.sentiment_model")")
	q coord "$ONE_ARG" >"$WORK/labels.dbset"
	same_rows "session/alter-database-set" "$WORK/labels.dbset" "$WORK/labels.ref"
	expect_eq "session/alter-database-set-on-workers" "$shown" "w1 true $SENTIMENT; w2 true $SENTIMENT"
	q coord "ALTER DATABASE postgres RESET bert.sentiment_model" >/dev/null
else
	fail "session/alter-database-set" "$(err_text)"
fi

# ------------------------------------------------------------------- faults

step "faults"
W2=$(node_name w2)
# (count FILTER, not WHERE: the expression index would answer WHERE)
COUNT="SELECT count(*) FILTER (WHERE bert_sentiment(review, '$SENTIMENT') = 'POSITIVE') FROM reviews"
want_count=$(grep -c '|POSITIVE$' "$WORK/labels.ref")
if q w2 "ALTER SYSTEM RESET bert.model_dir" >/dev/null && reload_and_wait w2 bert.model_dir ""; then
	q coord "$COUNT" >/dev/null
	expect_error "faults/no-model-dir" '55000' 'bert\.model_dir is not set' 'HINT: .*ALTER SYSTEM SET bert\.model_dir' \
		"while executing command on $(re_quote "$W2")"
	# the generated column through Citus's pushdown of a co-located INSERT ... SELECT
	q coord "INSERT INTO docs (id, body) SELECT id + 1000000, review FROM reviews" >/dev/null
	expect_error "faults/no-model-dir-insert-select" '55000' 'bert\.model_dir is not set' \
		"while executing command on $(re_quote "$W2")"
	# through Citus's COPY path (rows pulled to the coordinator, then copied
	# to the shards): Citus passes on errmsg and errdetail only (SQLSTATE
	# XX000, no hint, no node); bert's errdetail names the node
	q coord "INSERT INTO docs (id, body) SELECT id + 1000000, review FROM reviews ORDER BY id LIMIT 100" >/dev/null
	expect_error "faults/no-model-dir-copy-path" 'bert\.model_dir is not set' \
		"DETAIL: .*The error was raised on node $(re_quote "$W2")\."
	printf '%s\t%s\n' 1000001 "a review copied in" 1000002 "another one" 1000003 "and a third" \
		1000004 "a fourth" 1000005 "a fifth" 1000006 "a sixth" 1000007 "a seventh" 1000008 "an eighth" >"$WORK/copy.tsv"
	chmod 644 "$WORK/copy.tsv"
	q coord "\\copy docs (id, body) FROM '$WORK/copy.tsv'" >/dev/null
	expect_error "faults/no-model-dir-copy" 'bert\.model_dir is not set' \
		"DETAIL: .*The error was raised on node $(re_quote "$W2")\."
else
	fail "faults/no-model-dir" "could not reset bert.model_dir on w2: $(err_text)"
fi
if q w2 "ALTER SYSTEM SET bert.model_dir = '$EMPTY_MODELS'" >/dev/null &&
	reload_and_wait w2 bert.model_dir "$EMPTY_MODELS"; then
	q coord "$COUNT" >/dev/null
	expect_error "faults/no-model" '42704' "model \"$SENTIMENT\" does not exist" \
		"DETAIL: .*The error was raised on node $(re_quote "$W2")\." "while executing command on $(re_quote "$W2")"
else
	fail "faults/no-model" "could not point bert.model_dir of w2 at an empty directory: $(err_text)"
fi
if q w2 "ALTER SYSTEM SET bert.model_dir = '$MODELS'" >/dev/null && reload_and_wait w2 bert.model_dir "$MODELS"; then
	expect_eq "faults/recovered" "$(q coord "$COUNT")" "$want_count" "w2 has its models again: $want_count POSITIVE, as on one node"
else
	fail "faults/recovered" "$(err_text)"
fi

# ------------------------------------------------------------------ caveats

step "caveats"
# The single-node batching recipe (array_agg over id / 64) is not pushed
# down: the coordinator pulls every row, builds the arrays, and sends them
# all to every task, so each of the shard queries runs the model on every
# row of the table.
BATCH="SELECT r.id, s.label FROM (SELECT array_agg(id ORDER BY id) AS ids, array_agg(review ORDER BY id) AS texts FROM reviews GROUP BY id / 64) g, bert_sentiment(g.texts, '$SENTIMENT') s, reviews r WHERE r.id = g.ids[s.ordinality]"
bplan=$(q coord "SET citus.explain_all_tasks = on" "EXPLAIN (VERBOSE, COSTS OFF) $BATCH")
all_rows=$(grep -cE "Query: .*read_intermediate_result.*public\.bert_sentiment\(g\.texts" <<<"$bplan")
expect_eq "caveats/array-agg-recipe" "$all_rows" "$SHARDS" \
	"the coordinator gathers all $ROWS rows into arrays, and each of the $all_rows task queries runs bert_sentiment(g.texts) on all of them"

# ------------------------------------------------------------ batched backfill

step "backfill"
# What to do instead: the recipe per shard, with run_command_on_shards
# (%1\$s is the shard), in batches of 64 rows of that shard
PER_SHARD="SELECT string_agg(DISTINCT success::text, ',') FROM run_command_on_shards('reviews', \$cmd\$
UPDATE %1\$s r SET emb_batched = e.embedding
FROM (SELECT array_agg(id ORDER BY id) AS ids, array_agg(review ORDER BY id) AS texts
      FROM (SELECT id, review, (row_number() OVER (ORDER BY id) - 1) / 64 AS batch
            FROM %1\$s WHERE emb_batched IS NULL) b
      GROUP BY batch) g,
     bert_embed(g.texts, '$EMBED') e
WHERE r.id = g.ids[e.ordinality]\$cmd\$)"
t0=$(now_ms)
out=$(q coord "ALTER TABLE reviews ADD COLUMN emb_batched real[]" "$PER_SHARD")
BATCHED_MS=$(($(now_ms) - t0))
if [ "$out" = true ]; then
	q coord "SELECT id, emb_batched FROM reviews ORDER BY id" >"$WORK/batched.emb"
	read -r n bad maxd <<<"$(within_1e5 "$WORK/batched.emb")"
	if [ "$n" = "$ROWS" ] && [ "$bad" = 0 ]; then
		pass "backfill/per-shard-batched" "$n rows within 1e-5 of one node's scalar bert_embed (max |diff| $maxd); $(rate "$ROWS" "$BATCHED_MS") rows/s"
	else
		fail "backfill/per-shard-batched" "$n rows, $bad differ by more than 1e-5 (max $maxd)"
	fi
else
	fail "backfill/per-shard-batched" "run_command_on_shards: $out $(err_text)"
fi

# ------------------------------------------------------------------- memory

step "memory"
# what each worker connection that runs a shard query pays for the model
mem=$(on w1 -c "SELECT bert_embed('x', '$EMBED') IS NOT NULL" -c "SELECT bert_sentiment('x', '$SENTIMENT') IS NOT NULL" \
	-c "SELECT string_agg(name || ' ' || dtype || ' ' || round(private_bytes / 1e6, 1) || ' MB private, loaded in ' || round(load_ms::numeric, 1) || ' ms', '; ' ORDER BY name) FROM bert_models()" 2>"$WORK/err" | tail -1)
if grep -q "$EMBED F16" <<<"$mem"; then
	pass "memory/per-connection" "one worker backend: $mem"
else
	fail "memory/per-connection" "$mem $(err_text)"
fi

# --------------------------------------------------------------- throughput

step "throughput"
# one node: one backend, no parallel plan; the cluster: the same statement
# on the distributed table (the workers run the shards in parallel)
SERIAL="SET max_parallel_workers_per_gather = 0;"
SELECT_SQL="SELECT count(*) FILTER (WHERE bert_sentiment(review, '$SENTIMENT') = 'POSITIVE') FROM"
UPDATE_SQL="SET emb = bert_embed(review, '$EMBED')"
q coord "ALTER TABLE reviews_local ADD COLUMN emb real[]" >/dev/null
PARALLEL="SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;"
s_one=$(best_ms coord "$SERIAL $SELECT_SQL reviews_local")
s_par=$(best_ms coord "$PARALLEL $SELECT_SQL reviews_local")
s_two=$(best_ms coord "$SELECT_SQL reviews")
u_one=$(best_ms coord "$SERIAL UPDATE reviews_local $UPDATE_SQL")
u_two=$(best_ms coord "UPDATE reviews $UPDATE_SQL")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
if [ "$s_one" -gt 0 ] && [ "$s_par" -gt 0 ] && [ "$s_two" -gt 0 ] && [ "$u_one" -gt 0 ] && [ "$u_two" -gt 0 ]; then
	pass "throughput" "SELECT bert_sentiment: one node $(rate "$ROWS" "$s_one") rows/s (2-process parallel plan $(rate "$ROWS" "$s_par")), 2 workers $(rate "$ROWS" "$s_two") rows/s ($(ratio "$s_one" "$s_two")x one node); UPDATE SET emb = bert_embed: one node $(rate "$ROWS" "$u_one") rows/s, 2 workers $(rate "$ROWS" "$u_two") rows/s ($(ratio "$u_one" "$u_two")x); per-shard batched backfill $(rate "$ROWS" "$BATCHED_MS") rows/s; best of $REPEAT over $ROWS rows, $(nproc) cores shared by the 3 nodes, load average $(cut -d' ' -f1 /proc/loadavg)"
else
	fail "throughput" "a timed statement failed: $(err_text)"
fi

# --------------------------------------------------------------------- logs

step "logs"
if [ "$FAILED" -gt 0 ]; then
	for n in "${NODES[@]}"; do
		echo "-- last lines of the $n log"
		tail -n 15 "${NODE_DIR[$n]}/server.log"
	done
fi
crashes=""
for n in "${NODES[@]}"; do
	c=$(grep -cE "terminated by signal|PANIC" "${NODE_DIR[$n]}/server.log")
	[ "$c" -gt 0 ] && crashes+="$n: $c lines; "
done
NODES_CRASHED=
nodes_stop
if [ -z "$crashes" ] && [ -z "$NODES_CRASHED" ]; then
	pass "logs/no-crash" "no 'terminated by signal' or PANIC in the coordinator's or the workers' logs, shutdown included"
else
	fail "logs/no-crash" "${crashes:-at shutdown}"
fi
echo "citus: wall time $((($(now_ms) - SUITE_START) / 1000)) s"
finish
