# test/hostile/filesystem.sh: faults injected into model directories while a
# backend holds the model in its cache (sourced by run.sh).
#
# The root is $WORK/faults, filled with copies of the tiny test models under
# several names (each fault gets its own copy).  One psql session runs a
# script of steps; psql's \! runs each fault (rm, mv, truncate, chmod, ln)
# between two queries of that same backend, so what is under test is the
# per-backend cache noticing the change.  Then two faults are injected during
# one long call, from another session.

FS_FAULTS=0

fs_copy() { cp -r "$1" "$FAULTS/$2" && chmod -R a+rX "$FAULTS/$2"; }

fs_setup() {
	FAULTS=$WORK/faults
	OUTSIDE=$WORK/outside
	local tiny=$BERT_TESTMODELS/bert-tiny-random cls=$BERT_TESTMODELS/bert-tiny-random-cls
	mkdir -p "$FAULTS" "$OUTSIDE" "$WORK/faults-evil"
	for m in del trunc trunc4 garbage garbage-data perm-file perm-dir perm-st ok st-link \
		relink dirlink tokcfg churn; do
		fs_copy "$tiny" "$m"
	done
	for m in swap-new ref-cls labels; do fs_copy "$cls" "$m"; done
	# in-place edits: plain copies, one without vocab.txt, and copies with
	# sentence-transformers files (mean pooling, Normalize, 128 tokens)
	for m in inpl-tokcfg inpl-vocab inpl-tokjson inpl-modules inpl-pooling inpl-stcfg appear-modules; do
		fs_copy "$tiny" "$m"
	done
	rm "$FAULTS/inpl-tokjson/vocab.txt"
	for m in inpl-modules inpl-pooling inpl-stcfg; do
		mkdir -p "$FAULTS/$m/1_Pooling"
		cat >"$FAULTS/$m/modules.json" <<'JSON'
[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
 {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
JSON
		echo '{"word_embedding_dimension": 32, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false}' >"$FAULTS/$m/1_Pooling/config.json"
		echo '{"max_seq_length": 128, "do_lower_case": false}' >"$FAULTS/$m/sentence_bert_config.json"
	done
	fs_copy "$tiny" swap
	cp -r "$tiny" "$OUTSIDE/tiny"
	cp -r "$tiny" "$WORK/faults-evil/tiny"
	chmod -R a+rX "$OUTSIDE" "$WORK/faults-evil" "$FAULTS"
	ln -s "$OUTSIDE/tiny" "$FAULTS/out-link"
	ln -s ../outside/tiny "$FAULTS/up-link"
	ln -s "$WORK/faults-evil/tiny" "$FAULTS/prefix-link"
	ln -s ok "$FAULTS/in-link"
	ln -s loop "$FAULTS/loop"
	ln -s "$WORK/nowhere" "$FAULTS/dangling"
	rm "$FAULTS/st-link/model.safetensors"
	ln -s "$OUTSIDE/tiny/model.safetensors" "$FAULTS/st-link/model.safetensors"
	chmod 000 "$FAULTS/perm-st/model.safetensors"
	q "$DB" "DROP FUNCTION IF EXISTS hostile_wait(text, text)" >/dev/null
	q "$DB" "$(cat <<'SQL'
CREATE FUNCTION hostile_wait(app text, marker text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	p int;
	deadline timestamptz := clock_timestamp() + interval '30 s';
BEGIN
	LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT pid INTO p FROM pg_stat_activity
		WHERE application_name = app AND backend_type = 'client backend'
		  AND state = 'active' AND query LIKE '%' || marker || '%'
		  AND pid <> pg_backend_pid();
		IF p IS NOT NULL OR clock_timestamp() > deadline THEN RETURN p; END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
END $$;
SQL
)"
}

# E NAME: the embedding of a fixed text by model NAME, as an md5
E() { echo "SELECT md5(bert_embed('hello world', '$1')::text)"; }
MAPS="SELECT count(*) FROM regexp_split_to_table(pg_read_file('/proc/self/maps'), E'\\n') l WHERE l LIKE"
MEM="SELECT sum(total_bytes) FROM pg_backend_memory_contexts"

fault() { FS_FAULTS=$((FS_FAULTS + 1)); st_sh "$1"; }

# inplace NAME QUERY FILE OLD NEW: QUERY before and after FILE (under
# $FAULTS) is edited in place by mkmodel.py edit; the steps are inpl-NAME-0/1
INPLACE_CASES=()
inplace() {
	st_sql "inpl-$1-0" "$2"
	fault "'$PY' '$HERE/mkmodel.py' edit '$FAULTS/$3' '$4' '$5'"
	st_sql "inpl-$1-1" "$2"
	INPLACE_CASES+=("$1|$2|$3")
}

fs_script() {
	local size half hdr
	size=$(stat -c %s "$FAULTS/trunc/model.safetensors")
	half=$((size / 2))
	hdr=$((8 + $(od -An -t u8 -N8 "$FAULTS/garbage-data/model.safetensors" | tr -d ' ')))
	st_begin fs
	st_add "SET bert.model_dir = '$FAULTS';"
	st_add "\\set VERBOSITY default"

	# deleted while cached, then put back
	st_sql del-0 "$(E del)"
	fault "rm -rf '$FAULTS/del'"
	st_sql del-1 "$(E del)"
	st_sh "cp -r '$BERT_TESTMODELS/bert-tiny-random' '$FAULTS/del' && chmod -R a+rX '$FAULTS/del'"
	st_sql del-2 "$(E del)"

	# atomic replacement by rename: another model takes the name
	st_sql swap-0 "$(E swap)"
	st_sql swap-0s "SELECT bert_sentiment('hello world', 'swap')"
	fault "mv '$FAULTS/swap' '$FAULTS/swap.old' && mv '$FAULTS/swap-new' '$FAULTS/swap'"
	st_sql swap-1 "$(E swap)"
	st_sql swap-ref "$(E ref-cls)"
	st_sql swap-1s "SELECT bert_sentiment('hello world', 'swap') = bert_sentiment('hello world', 'ref-cls')"
	st_sql swap-models "SELECT count(*) || ' ' || string_agg(architecture, ',') FROM bert_models() WHERE name = 'swap'"

	# weights truncated in place while cached: half, then 4 bytes
	st_sql trunc-0 "$(E trunc)"
	fault "truncate -s $half '$FAULTS/trunc/model.safetensors'"
	st_sql trunc-1 "$(E trunc)"
	st_sql trunc-maps "$MAPS '%/faults/trunc/model.safetensors%'"
	st_sql trunc-2 "$(E trunc)"
	st_sql trunc4-0 "$(E trunc4)"
	fault "truncate -s 4 '$FAULTS/trunc4/model.safetensors'"
	st_sql trunc4-1 "$(E trunc4)"

	# overwritten in place with garbage of the same size: all of it, then
	# the tensor data only (the header stays valid)
	st_sql garbage-0 "$(E garbage)"
	fault "head -c $size /dev/urandom | dd of='$FAULTS/garbage/model.safetensors' conv=notrunc status=none"
	st_sql garbage-1 "$(E garbage)"
	st_sql garbage-data-0 "$(E garbage-data)"
	fault "head -c $((size - hdr)) /dev/urandom | dd of='$FAULTS/garbage-data/model.safetensors' bs=1M oflag=seek_bytes seek=$hdr conv=notrunc status=none"
	st_sql garbage-data-1 "SELECT array_length(bert_embed('hello world', 'garbage-data'), 1)"

	# permissions removed: config.json (cached, then reloaded), the directory,
	# model.safetensors of a model not loaded yet
	st_sql perm-file-0 "$(E perm-file)"
	fault "chmod 000 '$FAULTS/perm-file/config.json'"
	st_sql perm-file-1 "$(E perm-file)"
	st_sh "touch '$FAULTS/perm-file'"
	st_sql perm-file-2 "$(E perm-file)"
	st_sh "chmod 644 '$FAULTS/perm-file/config.json' && touch '$FAULTS/perm-file'"
	st_sql perm-file-3 "$(E perm-file)"
	st_sql perm-dir-0 "$(E perm-dir)"
	fault "chmod 000 '$FAULTS/perm-dir'"
	st_sql perm-dir-1 "$(E perm-dir)"
	st_sh "chmod 755 '$FAULTS/perm-dir'"
	st_sql perm-dir-2 "$(E perm-dir)"
	FS_FAULTS=$((FS_FAULTS + 1))	# perm-st: set up before the session
	st_sql perm-st-1 "$(E perm-st)"
	# bert.model_dir itself closed to the server (a cached model in it)
	fault "chmod 000 '$FAULTS'"
	st_sql perm-root-1 "$(E perm-file)"
	st_sh "chmod 755 '$FAULTS'"
	st_sql perm-root-2 "$(E perm-file)"

	# symbolic links
	st_sql ok-0 "$(E ok)"
	st_sql out-link "$(E out-link)"
	st_sql up-link "$(E up-link)"
	st_sql prefix-link "$(E prefix-link)"
	st_sql in-link "$(E in-link)"
	st_sql st-link "$(E st-link)"
	st_sql loop "$(E loop)"
	st_sql dangling "$(E dangling)"
	FS_FAULTS=$((FS_FAULTS + 7))
	st_sql relink-0 "$(E relink)"
	fault "ln -sf '$OUTSIDE/tiny/model.safetensors' '$FAULTS/relink/model.safetensors'"
	st_sql relink-1 "$(E relink)"
	st_sql dirlink-0 "$(E dirlink)"
	fault "mv '$FAULTS/dirlink' '$FAULTS/dirlink.old' && ln -s '$OUTSIDE/tiny' '$FAULTS/dirlink'"
	st_sql dirlink-1 "$(E dirlink)"

	# config.json replaced by rename with other labels
	st_sql labels-0 "SELECT string_agg(label, ',') FROM bert_sentiment_scores('hello world', 'labels')"
	fault "'$PY' '$HERE/mkmodel.py' labels '$FAULTS/labels' alpha beta gamma && mv '$FAULTS/labels/config.json.new' '$FAULTS/labels/config.json'"
	st_sql labels-1 "SELECT string_agg(label, ',') FROM bert_sentiment_scores('hello world', 'labels')"
	st_sql labels-1s "SELECT bert_sentiment('hello world', 'labels')"

	# tokenizer_config.json replaced by rename: only the directory's mtime shows it
	st_sql tokcfg-0 "SELECT bert_token_ids('Hello Café', 'tokcfg')"
	fault "sed 's/\"do_lower_case\": true/\"do_lower_case\": false/; s/\"strip_accents\": null/\"strip_accents\": false/' '$FAULTS/tokcfg/tokenizer_config.json' > '$FAULTS/tokcfg/tc.new' && chmod 644 '$FAULTS/tokcfg/tc.new' && mv '$FAULTS/tokcfg/tc.new' '$FAULTS/tokcfg/tokenizer_config.json'"
	st_sql tokcfg-1 "SELECT bert_token_ids('Hello Café', 'tokcfg')"

	# every file the model was built from, edited in place (the same inode,
	# mtime set back: only the ctime shows it), and a file appearing
	inplace tokcfg "SELECT bert_token_ids('Hello Café', 'inpl-tokcfg')" \
		inpl-tokcfg/tokenizer_config.json '"do_lower_case": true,' '"do_lower_case":false,'
	inplace vocab "SELECT bert_token_ids('hello world', 'inpl-vocab')" \
		inpl-vocab/vocab.txt '\nhello\n' '\nhellp\n'
	inplace tokjson "SELECT bert_token_ids('hello world', 'inpl-tokjson')" \
		inpl-tokjson/tokenizer.json '"hello":' '"hellp":'
	inplace modules "SELECT round(sqrt(sum(x * x))::numeric, 4) FROM unnest(bert_embed('hello world', 'inpl-modules')) x" \
		inpl-modules/modules.json 'models.Normalize' 'models.Normalizx'
	inplace pooling "SELECT md5(bert_embed('hello world', 'inpl-pooling')::text)" \
		inpl-pooling/1_Pooling/config.json '"pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true' '"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false'
	inplace stcfg "SELECT array_length(bert_token_ids(repeat('word ', 50), 'inpl-stcfg'), 1)" \
		inpl-stcfg/sentence_bert_config.json '"max_seq_length": 128' '"max_seq_length":   8'
	st_sql appear-0 "SELECT round(sqrt(sum(x * x))::numeric, 4) FROM unnest(bert_embed('hello world', 'appear-modules')) x"
	fault "printf '[{\"type\": \"sentence_transformers.models.Transformer\", \"path\": \"\"}]' > '$FAULTS/appear-modules/modules.json' && chmod 644 '$FAULTS/appear-modules/modules.json'"
	st_sql appear-1 "SELECT round(sqrt(sum(x * x))::numeric, 4) FROM unnest(bert_embed('hello world', 'appear-modules')) x"

	# reload churn: 25 reloads and 25 failed loads must not leak mappings or memory
	st_sql churn-mem-0 "$MEM"
	for i in $(seq 1 25); do
		st_sh "touch '$FAULTS/churn/model.safetensors'"
		st_sql "churn-$i" "$(E churn)"
	done
	st_sql churn-maps "$MAPS '%/faults/churn/model.safetensors%'"
	for i in $(seq 1 25); do st_sql "churn-fail-$i" "$(E trunc)"; done
	st_sql churn-fail-maps "$MAPS '%/faults/trunc/model.safetensors%'"
	st_sql churn-mem-1 "$MEM"
	FS_FAULTS=$((FS_FAULTS + 1))
	st_sql lru "SELECT count(*) FROM bert_models()"
	st_sql alive "SELECT 'alive'"
}

fs_check() {
	local o
	# deleted
	st_expect_error del-1 'model "del" does not exist' "filesystem/dir-deleted-while-cached"
	o=$(st_out del-2)
	expect_eq "filesystem/dir-recreated" "$o" "$(st_out del-0)" "the same model loads again: $o"

	# replaced by rename
	local e0 e1 ref
	e0=$(st_out swap-0) e1=$(st_out swap-1) ref=$(st_out swap-ref)
	if [ -n "$e1" ] && [ "$e1" = "$ref" ] && [ "$e1" != "$e0" ] && [ "$(st_out swap-1s)" = t ] &&
		[ "$(st_out swap-models)" = "1 BertForSequenceClassification" ] && [ "$(st_failed swap-0s)" = true ]; then
		pass "filesystem/dir-replaced-by-rename" "embedding changed $e0 -> $e1 (= the new model's), bert_sentiment now works, one cache entry"
	else
		fail "filesystem/dir-replaced-by-rename" "before $e0, after $e1, new model $ref, sentiment '$(st_out swap-1s)' $(st_err swap-1s), entries '$(st_out swap-models)'"
	fi

	# truncated
	st_expect_error trunc-1 'invalid model file "trunc/model.safetensors"' "filesystem/truncated-half-while-cached"
	expect_eq "filesystem/truncated-old-mapping-released" "$(st_out trunc-maps)" "0" "no mapping of the truncated file left"
	st_expect_error trunc-2 'invalid model file "trunc/model.safetensors"' "filesystem/truncated-half-again"
	st_expect_error trunc4-1 'invalid model file "trunc4/model.safetensors".*|4 bytes' "filesystem/truncated-4-bytes-while-cached"
	if ! st_msg trunc4-1 | grep -q "4 bytes long"; then
		fail "filesystem/truncated-4-bytes-detail" "detail does not give the size: $(st_msg trunc4-1 | tr '\n' ' ')"
	fi

	# garbage
	st_expect_error garbage-1 'invalid model file "garbage/model.safetensors"' "filesystem/garbage-same-size-while-cached"
	o=$(st_out garbage-data-1)
	if [ "$(st_failed garbage-data-1)" = false ] && [ "$o" = 32 ]; then
		pass "filesystem/garbage-tensor-data-while-cached" "reloaded (header valid): an embedding of 32 floats from garbage weights"
	elif [ "$(st_failed garbage-data-1)" = true ] && st_err garbage-data-1 | grep -q 'garbage-data'; then
		pass "filesystem/garbage-tensor-data-while-cached" "ERROR: $(st_err garbage-data-1)"
	else
		fail "filesystem/garbage-tensor-data-while-cached" "got '$o' $(st_err garbage-data-1)"
	fi

	# permissions
	# chmod changes the file's ctime, which the cache watches: reload, which fails
	st_expect_error perm-file-1 'could not open model file "perm-file/config.json": Permission denied' \
		"filesystem/chmod-000-config-cached"
	st_expect_error perm-file-2 'could not open model file "perm-file/config.json": Permission denied' \
		"filesystem/chmod-000-config-reload"
	expect_eq "filesystem/chmod-restored" "$(st_out perm-file-3)" "$(st_out perm-file-0)"
	st_expect_error perm-dir-1 '"perm-dir/config.json": Permission denied' "filesystem/chmod-000-dir-while-cached"
	# the hint of a permission error must speak of permissions (README: the
	# server's user must be able to read the files and enter the directories)
	local hint
	hint=$(st_msg perm-dir-1 | sed -n 's/^HINT: *//p')
	if printf '%s' "$hint" | grep -Eqi "read|permission|operating-system user"; then
		pass "filesystem/chmod-000-dir-hint" "HINT: $hint"
	else
		fail "filesystem/chmod-000-dir-hint" "permission error with a misleading HINT: '$hint'"
	fi
	expect_eq "filesystem/chmod-dir-restored" "$(st_out perm-dir-2)" "$(st_out perm-dir-0)"
	st_expect_error perm-st-1 'could not open model file "perm-st/model.safetensors": Permission denied' \
		"filesystem/chmod-000-weights"
	# EACCES on the root is not "does not exist"
	st_expect_error perm-root-1 'ermission denied|not accessible|could not access' "filesystem/chmod-000-model-dir-root"
	expect_eq "filesystem/chmod-root-restored" "$(st_out perm-root-2)" "$(st_out perm-file-0)"
	local leak
	leak=$(sed 's/^psql:[^ ]*: //' "$ST.err" | grep -c -- "$WORK")
	expect_eq "filesystem/errors-name-files-relative" "$leak" "0" "no error shows the server path of bert.model_dir"

	# links
	st_expect_error out-link 'model "out-link" is outside bert.model_dir' "filesystem/dir-symlink-outside"
	st_expect_error up-link 'model "up-link" is outside bert.model_dir' "filesystem/dir-symlink-relative-outside"
	st_expect_error prefix-link 'model "prefix-link" is outside bert.model_dir' "filesystem/dir-symlink-sibling-with-root-prefix"
	expect_eq "filesystem/dir-symlink-inside" "$(st_out in-link)" "$(st_out ok-0)" "a link to another model inside the root is followed"
	st_expect_error st-link 'model file "st-link/model.safetensors" is outside bert.model_dir' "filesystem/weights-symlink-outside"
	st_expect_error loop '"loop"' "filesystem/symlink-loop"
	st_expect_error dangling 'model "dangling" does not exist' "filesystem/symlink-dangling"
	st_expect_error relink-1 'model file "relink/model.safetensors" is outside bert.model_dir' "filesystem/weights-replaced-by-outside-symlink-while-cached"
	st_expect_error dirlink-1 'model "dirlink" is outside bert.model_dir' "filesystem/dir-replaced-by-outside-symlink-while-cached"

	# labels and tokenizer config replaced by rename
	expect_eq "filesystem/config-renamed-new-labels" "$(st_out labels-0) -> $(st_out labels-1) $(st_out labels-1s | grep -cE '^(alpha|beta|gamma)$')" \
		"negative,neutral,positive -> alpha,beta,gamma 1"
	local t0 t1
	t0=$(st_out tokcfg-0) t1=$(st_out tokcfg-1)
	if [ -n "$t1" ] && [ "$t0" != "$t1" ]; then
		pass "filesystem/tokenizer-config-renamed" "'Hello Café' $t0 -> $t1 (reloaded: the directory's mtime changed)"
	else
		fail "filesystem/tokenizer-config-renamed" "'Hello Café' $t0 -> '$t1' $(st_err tokcfg-1)"
	fi

	# in-place edits: the cached backend must answer as a new backend does
	local c name query file before after fresh
	for c in "${INPLACE_CASES[@]}"; do
		IFS='|' read -r name query file <<<"$c"
		before=$(st_out "inpl-$name-0") after=$(st_out "inpl-$name-1")
		fresh=$(PGOPTIONS="$PGOPTIONS -c bert.model_dir=${FAULTS// /\\ }" q "$DB" "$query")
		if [ -n "$after" ] && [ "$after" = "$fresh" ] && [ "$before" != "$after" ]; then
			pass "filesystem/edited-in-place-$name" "$file edited in place (mtime restored): ${before:0:40} -> ${after:0:40}, as a new backend"
		else
			fail "filesystem/edited-in-place-$name" "$file edited in place: cached ${before:0:40} -> '${after:0:40}', a new backend '${fresh:0:40}' $(st_err "inpl-$name-1")"
		fi
	done
	before=$(st_out appear-0) after=$(st_out appear-1)
	if [ "$before" = "1.0000" ] && [ -n "$after" ] && [ "$after" != "$before" ]; then
		pass "filesystem/modules-json-appears" "modules.json without Normalize created: |embedding| $before -> $after"
	else
		fail "filesystem/modules-json-appears" "|embedding| $before -> '$after' $(st_err appear-1)"
	fi

	# churn
	local bad=0
	for i in $(seq 1 25); do [ "$(st_out "churn-$i")" = "$(st_out ok-0)" ] || bad=$((bad + 1)); done
	local m0 m1 grow
	m0=$(st_out churn-mem-0) m1=$(st_out churn-mem-1)
	grow=$(( ${m1:-0} - ${m0:-0} ))
	if [ "$bad" = 0 ] && [ "$(st_out churn-maps)" = 1 ] && [ "$(st_out churn-fail-maps)" = 0 ] &&
		[ -n "$m0" ] && [ "$grow" -lt $((2 * 1024 * 1024)) ]; then
		pass "filesystem/reload-churn-no-leak" "25 reloads + 25 failed loads: 1 mapping, 0 of the bad file, memory contexts $m0 -> $m1 bytes"
	else
		fail "filesystem/reload-churn-no-leak" "bad results $bad, mappings $(st_out churn-maps)/$(st_out churn-fail-maps), memory $m0 -> $m1"
	fi
	o=$(st_out lru)
	if [ -n "$o" ] && [ "$o" -le 8 ]; then
		pass "filesystem/lru-at-most-8" "bert_models() lists $o after some 20 different models were loaded"
	else
		fail "filesystem/lru-at-most-8" "bert_models() lists '$o'"
	fi
	expect_eq "filesystem/session-survived" "$(st_out alive)" "alive" "one backend ran all $(grep -c '^@@BEGIN' "$ST.out") steps"
}

# midcall NAME TOKENS ACTION: runs a call of TOKENS - 2 tokens (2048: ~0.5 s
# on an idle machine, 4096: ~2 s) of a copy of the long model in another
# session and runs ACTION (shell; $D is the model directory) 0.2 s into it.  Sets MID_OUT (what that session printed, one
# line) and MID_CRASH (the server-log line when the backend died).
midcall() {
	local tokens=$2 action=$3 f=$WORK/midcall-$1 marker=hostile-mid-$RANDOM$RANDOM D
	D=$FAULTS/long-$1
	cp -r "$LONG_ROOT/long" "$D" && chmod -R a+rX "$D"
	cat >"$f.sql" <<SQL
SET bert.model_dir = '$FAULTS';
SET bert.max_length = $tokens;
SELECT bert_embed('warm', 'long-$1') IS NOT NULL;
SELECT /*$marker*/ array_length(bert_embed(repeat('word ', $tokens), 'long-$1'), 1);
SELECT 'next ' || array_length(bert_embed('warm', 'long-$1'), 1);
SQL
	PGAPPNAME=hostile_mid psql -X -At -q -d "$DB" -f "$f.sql" >"$f.out" 2>&1 &
	local bg=$! pid log0
	log0=$(stat -c %s "$SERVER_LOG" 2>/dev/null || echo 0)
	pid=$(q "$DB" "SELECT hostile_wait('hostile_mid', '$marker')")
	sleep 0.2
	(eval "$action") >>"$WORK/shell.log" 2>&1
	FS_FAULTS=$((FS_FAULTS + 1))
	wait $bg
	MID_OUT=$(grep -v '^t$' "$f.out" | sed 's/^psql:[^ ]*: //' | tr '\n' ' ')
	MID_CRASH=
	if grep -q "server closed the connection unexpectedly\|connection to server was lost" "$f.out"; then
		MID_CRASH=$(tail -c +$((log0 + 1)) "$SERVER_LOG" 2>/dev/null | grep -m1 "terminated by signal")
		MID_CRASH="backend $pid: ${MID_CRASH:-connection lost}"
		# let the postmaster finish crash recovery before going on
		for _ in $(seq 1 120); do
			psql -X -At -d "$DB" -c "SELECT 1" >/dev/null 2>&1 && break
			sleep 0.5
		done
	fi
}

# fifo_case: config.json replaced by a FIFO (a named pipe nobody writes to).
# Loading must fail, or at least honour statement_timeout; a backend blocked
# in open() is rescued by opening the FIFO for writing.
fifo_case() {
	local d=$FAULTS/fifo-config f=$WORK/fifo-case bg waited=0
	cp -r "$BERT_TESTMODELS/bert-tiny-random" "$d" && chmod -R a+rX "$d"
	rm "$d/config.json"
	mkfifo -m 644 "$d/config.json"
	FS_FAULTS=$((FS_FAULTS + 1))
	cat >"$f.sql" <<SQL
SET bert.model_dir = '$FAULTS';
SET statement_timeout = '1s';
\\timing on
$(E fifo-config);
\\timing off
SELECT 'usable';
SQL
	PGAPPNAME=hostile_fifo psql -X -At -q -d "$DB" -f "$f.sql" >"$f.out" 2>&1 &
	bg=$!
	while kill -0 "$bg" 2>/dev/null && [ "$waited" -lt 40 ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	if kill -0 "$bg" 2>/dev/null; then
		local cancel
		cancel=$(q "$DB" "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'hostile_fifo'")
		sleep 1
		kill -0 "$bg" 2>/dev/null && cancel="$cancel, still running 1 s after pg_cancel_backend"
		# rescue: a writer opening the FIFO releases the reader
		timeout 5 sh -c ": > '$d/config.json'" 2>/dev/null
		wait "$bg"
		fail "filesystem/config-json-is-a-fifo" "HANG: the backend blocks in open() of the FIFO; statement_timeout 1 s did not fire within 4 s ($cancel); released only by opening the FIFO for writing, then: $(grep -m1 ERROR "$f.out" | sed 's/^psql:[^ ]*: //')"
	else
		wait "$bg"
		if grep -q "ERROR" "$f.out" && grep -q "^usable" "$f.out"; then
			pass "filesystem/config-json-is-a-fifo" "$(grep -m1 ERROR "$f.out" | sed 's/^psql:[^ ]*: //') ($(timing_of "$f.out") ms)"
		else
			fail "filesystem/config-json-is-a-fifo" "got: $(tr '\n' ' ' <"$f.out" | cut -c1-200)"
		fi
	fi
}

group_filesystem() {
	group_begin filesystem
	fs_setup
	fs_script
	st_run "$DB"
	fs_check

	ensure_long_model
	if [ -f "$LONG_ROOT/long/model.safetensors" ]; then
		midcall dir-deleted-during-call 2048 'rm -rf "$D"'
		if [ -n "$MID_CRASH" ]; then
			fail "filesystem/dir-deleted-during-call" "BACKEND CRASH: $MID_CRASH"
		elif printf '%s' "$MID_OUT" | grep -Eq '^256 .*model "long-dir-deleted-during-call" does not exist'; then
			pass "filesystem/dir-deleted-during-call" "the call finished (256 floats: the mapping outlives the unlink); the next call: model does not exist"
		else
			fail "filesystem/dir-deleted-during-call" "got: $MID_OUT"
		fi
		fifo_case
		if [ -n "${HOSTILE_SKIP_CRASHERS:-}" ]; then
			skip "filesystem/weights-truncated-during-call" "HOSTILE_SKIP_CRASHERS set (known SIGBUS)"
		else
			midcall weights-truncated-during-call 4096 'truncate -s $(( $(stat -c %s "$D/model.safetensors") / 2 )) "$D/model.safetensors"'
			if [ -n "$MID_CRASH" ]; then
				fail "filesystem/weights-truncated-during-call" "BACKEND CRASH (SIGBUS reading the mapping past the new end of file): $MID_CRASH"
			elif printf '%s' "$MID_OUT" | grep -q "ERROR"; then
				pass "filesystem/weights-truncated-during-call" "no crash: $MID_OUT"
			else
				fail "filesystem/weights-truncated-during-call" "no error after the weights were cut in half: $MID_OUT"
			fi
		fi
	else
		fail "filesystem/midcall" "could not build the long model"
	fi
	GROUP_SUMMARY="$FS_FAULTS faults injected, $GROUP_CASES checks, $GROUP_FAILED failed"
}
