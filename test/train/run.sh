#!/usr/bin/env bash
# Training suite, SQL part (needs the cluster of test/run_tests.sh: PGHOST,
# BERT_TESTMODELS, BERT_TRAINMODELS, a writable model directory with copies
# of the tiny models):
#   - bert_finetune on bert-tiny-random-cls with the golden rows in order (no
#     shuffle, dropout 0, batch 4, 6 steps, the golden learning rate, warmup
#     and weight decay) writes tensors equal to
#     golden/train/bert-tiny-random-cls.after.safetensors within 1e-3;
#   - a long run shows in bert_training_progress() from another session and
#     sends progress NOTICEs;
#   - a cancelled run and a terminated backend leave neither a model nor a
#     temporary directory behind;
#   - bert_finetune_entities takes offsets in the units of the database
#     encoding (SQL_ASCII, LATIN1, EUC_JP) and bert_ner returns them.
# Ends with "train_sql: N passed, M failed".
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GOLDEN=$BERT_TESTMODELS/golden/train
M=$BERT_TRAINMODELS
passed=0
failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
q() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

q -c "CREATE DATABASE bert_train_suite" 2>/dev/null
export PGDATABASE=bert_train_suite
q -c "CREATE EXTENSION IF NOT EXISTS bert"
q -c "ALTER DATABASE bert_train_suite SET bert.model_dir = '$M'"

# the golden rows, labels named as the model's id2label
q <<SQL
DROP TABLE IF EXISTS golden_cls;
CREATE TABLE golden_cls AS
SELECT (n - 1)::int AS id, x ->> 'text' AS text,
       (ARRAY['negative', 'neutral', 'positive'])[(x ->> 'label')::int + 1] AS label
FROM json_array_elements(pg_read_file('$GOLDEN/bert-tiny-random-cls.json')::json -> 'inputs')
     WITH ORDINALITY AS a(x, n);
SQL

# 1. the golden run through SQL
q -c "SELECT count(*) FROM bert_finetune('golden-sql', 'bert-tiny-random-cls',
        'SELECT text, label FROM golden_cls ORDER BY id', epochs => 2, learning_rate => 1e-3,
        batch_size => 4, warmup_steps => 2, weight_decay => 0.01, dropout => 0,
        shuffle => false, validation_share => 0, replace => true)" >/dev/null
if out=$(/usr/bin/python3 "$HERE/compare_tensors.py" "$M/golden-sql/model.safetensors" \
	"$GOLDEN/bert-tiny-random-cls.after.safetensors" 1e-3); then
	ok "SQL fine-tune equals the golden parameters after 6 steps: $out"
else
	bad "SQL fine-tune against the golden parameters: $out"
fi

# a long run: 12,000 rows (10% held out), batch 8, 200 epochs: 270,000 steps (minutes)
q <<'SQL'
DROP TABLE IF EXISTS long_rows;
CREATE TABLE long_rows AS SELECT g.text, g.label FROM golden_cls g, generate_series(1, 1000);
SQL
long_run() {
	PGAPPNAME=$1 psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = notice" \
		-c "SELECT * FROM bert_finetune('$2', 'bert-tiny-random-cls', 'long_rows', epochs => 200)" \
		>"$3" 2>&1
}
wait_training() {	# app -> pid of its backend once it is training, or empty
	for _ in $(seq 1 300); do
		p=$(q -c "SELECT p.pid FROM bert_training_progress() p JOIN pg_stat_activity a USING (pid)
		          WHERE a.application_name = '$1' AND p.phase = 'training' AND p.step > 0")
		[ -n "$p" ] && { echo "$p"; return; }
		sleep 0.1
	done
}
leftovers() {
	q -c "SELECT count(*) FROM pg_ls_dir('$M') AS n WHERE n LIKE '.bert-training-%' OR n = '$1'"
}

# 2. progress from another session, then cancel
log=$(mktemp)
long_run bert_train_cancel long-cancelled "$log" &
bg=$!
pid=$(wait_training bert_train_cancel)
if [ -n "$pid" ]; then
	row=$(q -c "SELECT function, model, base_model, rows, epochs, total_steps, step > 0, loss > 0,
	                   rows_per_second > 0, seconds_left > 0, memory_bytes > 1000000, updated > now() - interval '1 minute'
	            FROM bert_training_progress() WHERE pid = $pid")
	if [ "$row" = "bert_finetune|long-cancelled|bert-tiny-random-cls|12000|200|270000|t|t|t|t|t|t" ]; then
		ok "bert_training_progress() from another session: $row"
	else
		bad "bert_training_progress() from another session: $row"
	fi
	sleep 6	# past the first progress NOTICE
	t0=$(date +%s%N)
	q -c "SELECT pg_cancel_backend($pid)" >/dev/null
	wait $bg
	ms=$((($(date +%s%N) - t0) / 1000000))
	if grep -q "canceling statement due to user request" "$log"; then
		ok "cancel stops the run (${ms} ms until the client returned)"
	else
		bad "cancel: $(tail -n 3 "$log")"
	fi
	if grep -q 'NOTICE:  bert_finetune "long-cancelled": step [0-9]* of 270000 (epoch [0-9]*), loss' "$log"; then
		ok "progress NOTICE: $(grep -m1 NOTICE "$log")"
	else
		bad "no progress NOTICE in: $(head -n 3 "$log")"
	fi
	n=$(leftovers long-cancelled)
	[ "$n" = 0 ] && ok "a cancelled run leaves nothing in bert.model_dir" ||
		bad "a cancelled run left $n entries"
else
	bad "the long run never showed in bert_training_progress(): $(cat "$log")"
	kill $bg 2>/dev/null
fi

# 3. a terminated backend (FATAL) removes its temporary directory too
long_run bert_train_terminate long-terminated "$log" &
bg=$!
pid=$(wait_training bert_train_terminate)
if [ -n "$pid" ]; then
	q -c "SELECT pg_terminate_backend($pid, 10000)" >/dev/null
	wait $bg
	n=$(leftovers long-terminated)
	[ "$n" = 0 ] && ok "a terminated backend leaves nothing in bert.model_dir" ||
		bad "a terminated backend left $n entries"
else
	bad "the second long run never started: $(cat "$log")"
	kill $bg 2>/dev/null
fi
rm -f "$log"
# 4. replace => true replaces models only, and a replaced model that cannot
#    be removed leaves the new one in place with a WARNING, not an ERROR
mkdir -p "$M/not-a-model" && chown postgres "$M/not-a-model"
if out=$(q -c "SELECT count(*) FROM bert_finetune('not-a-model', 'bert-tiny-random-cls',
	'golden_cls', epochs => 1, replace => true)" 2>&1); then
	bad "a directory without config.json was replaced: $out"
elif [[ $out == *"is not a model"* ]] && [ -d "$M/not-a-model" ]; then
	ok "replace => true refuses a directory that is not a model"
else
	bad "replace => true on a directory that is not a model: $out"
fi
rmdir "$M/not-a-model"
cp -r "$M/bert-tiny-random-cls" "$M/read-only-model" && chown -R postgres "$M/read-only-model" &&
	chmod 555 "$M/read-only-model"
out=$(PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -c "SELECT count(*) FROM
	bert_finetune('read-only-model', 'bert-tiny-random-cls', 'golden_cls', epochs => 1,
	replace => true)" 2>&1)
rc=$?
labels=$(q -c "SELECT bert_sentiment('fine', 'read-only-model') IN ('negative', 'neutral', 'positive')")
if [ $rc = 0 ] && [[ $out == *"could not remove the replaced model"* ]] && [ "$labels" = t ] &&
	! cmp -s "$M/read-only-model/model.safetensors" "$M/bert-tiny-random-cls/model.safetensors"; then
	ok "an old model that cannot be removed: the new one is in place, with a WARNING"
else
	bad "replacing a model that cannot be removed: rc $rc, $out"
fi
chmod -R u+w "$M"
rm -rf "$M/read-only-model" "$M"/.bert-training-*

# 5. bert_finetune_entities in other database encodings: offsets are the
#    units substr() counts there (bytes in SQL_ASCII, characters in LATIN1
#    and EUC_JP), found with strpos() in that database; a model overfitted
#    on those spans gives them back through bert_ner
for enc in SQL_ASCII LATIN1 EUC_JP; do
	db=bert_train_$(echo "$enc" | tr 'A-Z' 'a-z')
	prefix=Café
	[ "$enc" = EUC_JP ] && prefix=東京	# two words: CJK ideographs are words of their own
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
	q -d postgres -c "CREATE DATABASE $db ENCODING '$enc' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
	PGCLIENTENCODING=UTF8 q -d "$db" >/dev/null <<SQL
CREATE EXTENSION bert;
SET bert.model_dir = '$M';
CREATE TABLE texts (text text, entities text[]);
INSERT INTO texts VALUES
  ('$prefix owners in Berlin met Anna Miller.', '{Berlin:LOC,Anna Miller:PER}'),
  ('John Smith from $prefix lives in Paris.', '{John Smith:PER,Paris:LOC}'),
  ('Mary Jones works for Google in London.', '{Mary Jones:PER,Google:ORG,London:LOC}'),
  ('Peter Brown flew from Tokyo to Rome with Sony staff.', '{Peter Brown:PER,Tokyo:LOC,Rome:LOC,Sony:ORG}'),
  ('Nobody came to the $prefix party.', '{}');
CREATE TABLE spans AS
SELECT t.text, coalesce(jsonb_agg(jsonb_build_object(
         'start', strpos(t.text, split_part(e, ':', 1)) - 1,
         'end', strpos(t.text, split_part(e, ':', 1)) - 1 + length(split_part(e, ':', 1)),
         'label', split_part(e, ':', 2))) FILTER (WHERE e IS NOT NULL), '[]') AS entities
FROM texts t LEFT JOIN LATERAL unnest(t.entities) e ON true GROUP BY t.text;
SELECT count(*) FROM bert_finetune_entities('ner-$db', 'bert-tiny-random-ner', 'spans', epochs => 40,
    learning_rate => 5e-3, batch_size => 2, validation_share => 0, dropout => 0);
SQL
	[ $? = 0 ] || bad "bert_finetune_entities in $enc failed"
	res=$(PGCLIENTENCODING=UTF8 q -d "$db" -c "SET bert.model_dir = '$M'" -c "
		SELECT count(*) FILTER (WHERE same), count(*),
		       (SELECT string_agg(start_char || '-' || end_char, ' ')
		        FROM bert_ner('$prefix owners in Berlin met Anna Miller.', 'ner-$db'))
		FROM (SELECT coalesce((SELECT jsonb_agg(jsonb_build_object('start', n.start_char,
		             'end', n.end_char, 'label', n.label) ORDER BY n.start_char)
		             FROM bert_ner(s.text, 'ner-$db') n), '[]') @> s.entities AND
		             s.entities @> coalesce((SELECT jsonb_agg(jsonb_build_object('start', n.start_char,
		             'end', n.end_char, 'label', n.label)) FROM bert_ner(s.text, 'ner-$db') n), '[]') AS same
		      FROM spans s) x" 2>&1)
	# Berlin starts after "Café owners in " (15 characters, 16 bytes) or "東京 owners in " (13)
	case $enc in
	SQL_ASCII) want="5|5|16-22 27-38" ;;
	LATIN1) want="5|5|15-21 26-37" ;;
	EUC_JP) want="5|5|13-19 24-35" ;;
	esac
	if [ "$res" = "$want" ]; then
		ok "bert_finetune_entities in $enc: bert_ner gives the training spans back ($res)"
	else
		bad "bert_finetune_entities in $enc: got $res, want $want"
	fi
	rm -rf "${M:?}/ner-$db"
	psql -X -q -d postgres -c "DROP DATABASE $db" >/dev/null
done

n=$(q -c "SELECT count(*) FROM bert_training_progress()")
[ "$n" = 0 ] && ok "no run in progress afterwards" || bad "$n runs still listed"

psql -X -q -d postgres -c "DROP DATABASE bert_train_suite" >/dev/null
echo "train_sql: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
