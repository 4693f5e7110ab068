# test/hostile/text.sh: huge, degenerate and garbage text (sourced by run.sh).
#
# Cost figures are measured inside the server (clock_timestamp() around an
# EXECUTE in PL/pgSQL, best of REPS; the result is cast to text inside the
# measure), so neither the client nor generating the string with repeat()
# is counted.  The floor for a value is length() on
# it: it reads every byte once, as any tokenizer must when the text holds
# fewer tokens than the limit.  "Bounded" means: a text past the sequence
# limit costs what the limit costs (the tokenizer stops at 510 pieces), and
# a text that never reaches it (whitespace, one giant word) costs at most
# SMALL_MULTIPLE x its length() floor + 100 ms: such text must be read to
# its end, so the cost is linear, and the bound (classifying every character
# against length()'s counting them) catches anything worse than that without
# flaking on a busy machine.

SMALL_MULTIPLE=10
TINY=bert-tiny-random

text_setup() {
	q "$DB" "DROP FUNCTION IF EXISTS hostile_ms(text, text, int, text[])" >/dev/null
	# Static calls on a PL/pgSQL variable with generic plans: EXECUTE ...
	# USING or a custom plan would copy a 100 MB parameter into the plan
	# several times (~1 s here) and bury the figures under that cost.
	q "$DB" "$(cat <<'SQL'
-- each WHAT is a measure name, or name*N to take the best of N runs
CREATE FUNCTION hostile_ms(x text, m text, reps int, VARIADIC what text[]) RETURNS text
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
	t0 timestamptz;
	best float8;
	res text[] := '{}';
	w text;
	n int;
	l bigint;
	ids int[];
	emb real[];
	f real;
	val text;
BEGIN
	FOREACH w IN ARRAY what LOOP
		best := 'Infinity';
		n := coalesce(nullif(split_part(w, '*', 2), '')::int, reps);
		w := split_part(w, '*', 1);
		FOR i IN 1..n LOOP
			t0 := clock_timestamp();
			CASE w
			WHEN 'length' THEN l := length(x);
			WHEN 'ids' THEN ids := bert_token_ids(x, m);
			WHEN 'embed' THEN emb := bert_embed(x, m);
			WHEN 'answer' THEN SELECT count(*) INTO l FROM bert_answer('what jumps?', x, m);
			WHEN 'ner' THEN SELECT count(*) INTO l FROM bert_ner(x, m);
			WHEN 'token_logits' THEN SELECT count(*) INTO l FROM bert_token_logits(x, x, m);
			WHEN 'nsp' THEN f := bert_next_sentence(x, x, m);
			WHEN 'stored_length' THEN SELECT length(b.x) INTO l FROM hostile_big b;
			WHEN 'stored_ids' THEN SELECT bert_token_ids(b.x, m) INTO ids FROM hostile_big b;
			WHEN 'stored_embed' THEN SELECT bert_embed(b.x, m) INTO emb FROM hostile_big b;
			END CASE;
			best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
		END LOOP;
		res := res || round(best::numeric, 3)::text;
		val := CASE WHEN w LIKE '%ids' THEN ids::text WHEN w LIKE '%embed' THEN emb::text
		            WHEN w = 'nsp' THEN f::text ELSE l::text END;
	END LOOP;
	-- the times, then "|" and the value of the last measure
	RETURN array_to_string(res, ' ') || '|' || coalesce(val, 'NULL');
END $$;
SQL
)"
}

# le A B: A <= B for decimal numbers
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
# bound FLOOR: SMALL_MULTIPLE * FLOOR + 100
bound() { awk -v f="$1" -v m="$SMALL_MULTIPLE" 'BEGIN { printf "%.1f", f * m + 100 }'; }

# bounded_vs_floor NAME VALUE-EXPR WANT-IDS: ids of VALUE are WANT-IDS and
# tokenizing it costs at most bound(length() floor)
bounded_vs_floor() {
	local name=$1 expr=$2 want=$3 figs fl ids b got
	figs=$(q "$DB" "SELECT hostile_ms($expr, '$TINY', 1, 'length', 'ids')")
	if [ -z "$figs" ]; then
		fail "$name" "timing query failed: $(qerr)"
		return
	fi
	got=${figs#*|}
	read -r fl ids <<<"${figs%%|*}"
	b=$(bound "$fl")
	if [ "$got" != "$want" ]; then
		fail "$name" "ids ${got:0:80}, expected $want"
	elif le "$ids" "$b"; then
		pass "$name" "bert_token_ids $ids ms, length() floor $fl ms (bound $b ms), ids $got"
	else
		fail "$name" "bert_token_ids $ids ms > bound $b ms ($SMALL_MULTIPLE x length() floor $fl ms + 100): cost grows with the text, not the limit; ids $got"
	fi
}

group_text() {
	group_begin text
	text_setup

	# --- sizes: 10 KB, 1 MB, 100 MB of ordinary words (past the limit)
	local unit="'hello world '" n10k=854 n1m=87382 n100m=8738134
	local f10k f1m f100m
	f10k=$(q "$DB" "SELECT hostile_ms(repeat($unit, $n10k), '$TINY', 20, 'length', 'ids', 'embed')")
	f1m=$(q "$DB" "SELECT hostile_ms(repeat($unit, $n1m), '$TINY', 5, 'length', 'ids', 'embed')")
	f100m=$(q "$DB" "SELECT hostile_ms(repeat($unit, $n100m), '$TINY', 1, 'length', 'ids*5', 'embed*3')")
	if [ -z "$f10k" ] || [ -z "$f1m" ] || [ -z "$f100m" ]; then
		fail "text/size-timings" "timing queries failed: $(qerr)"
	else
		local l10 i10 e10 l1 i1 e1 l100 i100 e100
		read -r l10 i10 e10 <<<"${f10k%%|*}"
		read -r l1 i1 e1 <<<"${f1m%%|*}"
		read -r l100 i100 e100 <<<"${f100m%%|*}"
		echo "     figures (ms; best of 20 / 5 / 5 for ids, 3 for embed): 10KB length $l10 ids $i10 embed $e10 | 1MB length $l1 ids $i1 embed $e1 | 100MB length $l100 ids $i100 embed $e100"
		local bi be
		bi=$(awk -v a="$i10" 'BEGIN { printf "%.2f", 5 * a + 2 }')
		be=$(awk -v a="$e10" 'BEGIN { printf "%.2f", 3 * a + 50 }')
		if le "$i1" "$bi" && le "$i100" "$bi"; then
			pass "text/ids-cost-1MB-100MB" "bert_token_ids 10KB $i10 ms, 1MB $i1 ms, 100MB $i100 ms (bound 5x10KB+2 = $bi ms; 100MB length() floor $l100 ms)"
		else
			fail "text/ids-cost-1MB-100MB" "bert_token_ids 10KB $i10 ms, 1MB $i1 ms, 100MB $i100 ms > bound $bi ms"
		fi
		if le "$e1" "$be" && le "$e100" "$be"; then
			pass "text/embed-cost-1MB-100MB" "bert_embed 10KB $e10 ms, 1MB $e1 ms, 100MB $e100 ms (bound 3x10KB+50 = $be ms)"
		else
			fail "text/embed-cost-1MB-100MB" "bert_embed 10KB $e10 ms, 1MB $e1 ms, 100MB $e100 ms > bound $be ms"
		fi
	fi
	local same
	same=$(q "$DB" "SELECT count(DISTINCT bert_token_ids(repeat($unit, n), '$TINY')) || ' ' || min(array_length(bert_token_ids(repeat($unit, n), '$TINY'), 1)) FROM unnest(ARRAY[$n10k, $n1m, $n100m]) n")
	expect_eq "text/ids-same-truncation" "$same" "1 512" "10KB, 1MB and 100MB give the same 512 ids"

	# --- the same 100 MB stored in a table (TOASTed, compressed): detoast floor
	if q "$DB" "CREATE TABLE hostile_big AS SELECT 1 AS id, repeat($unit, $n100m) AS x" >/dev/null; then
		local tf
		tf=$(q "$DB" "SELECT hostile_ms(NULL, '$TINY', 1, 'stored_length', 'stored_ids', 'stored_embed')")
		local tl ti te b
		read -r tl ti te <<<"${tf%%|*}"
		b=$(bound "$tl")
		if [ -n "$tf" ] && le "$ti" "$b" && le "$te" "$b"; then
			pass "text/100MB-stored-detoast" "from a table: length() $tl ms, bert_token_ids $ti ms, bert_embed $te ms (bound $b ms)"
		else
			fail "text/100MB-stored-detoast" "from a table: length() $tl ms, bert_token_ids $ti ms, bert_embed $te ms, bound $b ms $(qerr)"
		fi
		q "$DB" "DROP TABLE hostile_big" >/dev/null
	else
		fail "text/100MB-stored-detoast" "could not store 100 MB: $(qerr)"
	fi

	# --- texts that never reach the limit: the whole text must be scanned
	bounded_vs_floor "text/100MB-ascii-whitespace" "repeat(E' \\t\\n\\r ', 20971520)" "{101,102}"
	bounded_vs_floor "text/100MB-unicode-whitespace" "repeat(U&'\\00A0\\3000\\2029 ', 13107200)" "{101,102}"
	bounded_vs_floor "text/100MB-one-ascii-word" "repeat('a', 104857600)" "{101,100,102}"
	bounded_vs_floor "text/100MB-one-accented-word" "repeat('é', 52428800)" "{101,100,102}"
	bounded_vs_floor "text/100MB-one-emoji-word" "repeat(U&'\\+01F600', 26214400)" "{101,100,102}"

	# --- garbage: random code points of every plane, controls included
	# (no NUL or surrogates: PostgreSQL text cannot hold them)
	q "$DB" "$(cat <<'SQL'
CREATE TABLE hostile_garbage AS
SELECT string_agg(chr(c), '') AS x FROM (
  SELECT CASE WHEN r < 0.15 THEN 1 + (r * 1000)::int % 31      -- C0 controls
              WHEN r < 0.25 THEN 127 + (r * 1000)::int % 33    -- DEL, C1
              WHEN r < 0.35 THEN 32 + (r * 1000)::int % 95     -- ASCII
              ELSE 1 + (random() * 1114110)::int END AS c
  FROM (SELECT random() AS r FROM (SELECT setseed(0.4242)) s, generate_series(1, 250000)) g
) cps WHERE c NOT BETWEEN 55296 AND 57343
SQL
)" >/dev/null
	local g
	g=$(q "$DB" "$(cat <<SQL
SELECT (a[1] = 101 AND a[array_length(a, 1)] = 102)::int
    || ' ' || array_length(a, 1)
    || ' ' || (SELECT count(*) FROM unnest(a) i WHERE i < 0 OR i >= 30522)
    || ' ' || (a = bert_token_ids(x, '$TINY'))::int
    || ' ' || (SELECT count(*) FROM unnest(e) v WHERE v = 'NaN' OR v IN ('Infinity', '-Infinity'))
    || ' ' || array_length(e, 1)
    || ' ' || octet_length(x)
FROM hostile_garbage, bert_token_ids(x, '$TINY') a, bert_embed(x, '$TINY') e
SQL
)")
	local ok len bad same2 nan dim bytes
	read -r ok len bad same2 nan dim bytes <<<"$g"
	if [ "${ok:-0}" = 1 ] && [ "${len:-0}" -le 512 ] && [ "$bad" = 0 ] && [ "$same2" = 1 ] && [ "$nan" = 0 ] && [ "$dim" = 32 ]; then
		pass "text/random-codepoints" "$bytes bytes of random code points: $len ids in range, deterministic, embedding 32 finite floats"
	else
		fail "text/random-codepoints" "got '$g' (wellformed len bad-ids deterministic nan dim bytes) $(qerr)"
	fi
	q "$DB" "DROP TABLE hostile_garbage" >/dev/null

	# --- special tokens and lone markers
	local m
	m=$(q "$DB" "SELECT array_length(a, 1) || ' ' || a[1] || ' ' || a[512] || ' ' || (SELECT count(*) FROM unnest(a[2:511]) i WHERE i = 103) FROM bert_token_ids(repeat('[MASK]', 100000), '$TINY') a")
	expect_eq "text/1e5-masks" "$m" "512 101 102 510" "'[MASK]' x 1e5: [CLS] + 510 x [MASK] + [SEP]"
	local t0 fm
	t0=$(now_ms)
	fm=$(q "$DB" "SELECT count(*) || ' ' || count(DISTINCT position) FROM bert_fill_mask(repeat('[MASK]', 100000), 'bert-tiny-random-pretrain', 2)")
	expect_eq "text/1e5-masks-fill-mask" "$fm" "1020 510" "bert_fill_mask: 510 masks x top 2 = 1020 rows in $(($(now_ms) - t0)) ms"
	expect_eq "text/sep-cls" "$(q "$DB" "SELECT bert_token_ids('[SEP][CLS]', '$TINY')")" "{101,102,101,102}"
	expect_eq "text/sep-cls-tokens" "$(q "$DB" "SELECT bert_tokenize('[SEP][CLS]', '$TINY')")" "{[CLS],[SEP],[CLS],[SEP]}"
	expect_eq "text/lone-##" "$(q "$DB" "SELECT bert_token_ids('##', '$TINY')")" "{101,1001,1001,102}"
	expect_eq "text/empty" "$(q "$DB" "SELECT bert_token_ids('', '$TINY')::text || array_length(bert_embed('', '$TINY'), 1)")" "{101,102}32"

	# --- emoji and combining-mark storms
	expect_eq "text/emoji-storm-1e5-spaced" \
		"$(q "$DB" "SELECT array_length(a, 1) || ' ' || (SELECT count(*) FROM unnest(a) i WHERE i = 100) FROM bert_token_ids(repeat(U&'\\+01F600 ', 100000), '$TINY') a")" \
		"512 510" "510 x [UNK], cut at the limit"
	expect_eq "text/zwj-family-storm" \
		"$(q "$DB" "SELECT array_length(a, 1) || ' ' || (SELECT count(*) FROM unnest(a) i WHERE i = 100) FROM bert_token_ids(repeat(U&'\\+01F468\\200D\\+01F469\\200D\\+01F467\\200D\\+01F466\\FE0F ', 100000), '$TINY') a")" \
		"512 510"
	expect_eq "text/combining-storm-uncased" \
		"$(q "$DB" "SELECT bert_token_ids('e' || repeat(U&'\\0301', 100000), '$TINY')")" \
		"{101,1041,102}" "'e' + 1e5 x U+0301: accents stripped, one token 'e'"
	expect_eq "text/zalgo-words-uncased" \
		"$(q "$DB" "SELECT array_length(bert_token_ids(repeat('he' || repeat(U&'\\0301\\0316\\0323\\0358\\035C', 20) || 'llo ', 20000), '$TINY'), 1)")" \
		"512"
	# a cased copy keeps the marks: NFD reordering runs, bounded by the word limit
	local cased=$WORK/cased
	mkdir -p "$cased"
	if "$PY" "$HERE/mkmodel.py" cased "$BERT_TESTMODELS/$TINY" "$cased/tiny-cased" && chmod -R a+rX "$cased"; then
		local c
		c=$(PGOPTIONS="-c bert.model_dir=${cased// /\\ }" q "$DB" "SELECT bert_token_ids('e' || repeat(U&'\\0316\\0301', 50000), 'tiny-cased')::text || ' ' || array_length(bert_token_ids(repeat('e' || repeat(U&'\\0301\\0316\\0323\\0358\\035C', 19) || ' ', 100000), 'tiny-cased'), 1) || ' ' || bert_token_ids(U&'e\\0301\\0316', 'tiny-cased')::text")
		expect_eq "text/combining-storm-cased" "$c" "{101,100,102} 512 {101,100,102}" "cased: 1e5 marks -> [UNK]; 1e5 zalgo words -> 512 ids"
	else
		fail "text/combining-storm-cased" "could not build the cased model copy"
	fi

	# --- other entry points on 100 MB: cost bounded by the limit
	local fa1 fa100 fo
	fa1=$(q "$DB" "SELECT hostile_ms(repeat('the quick brown fox jumps over the lazy dog. ', 23302), 'bert-tiny-random-qa', 1, 'answer')")
	fa100=$(q "$DB" "SELECT hostile_ms(repeat('the quick brown fox jumps over the lazy dog. ', 2330169), 'bert-tiny-random-qa', 1, 'answer')")
	fa1=${fa1%%|*}
	fa100=${fa100%%|*}
	if [ -n "$fa1" ] && [ -n "$fa100" ] && le "$fa100" "$(awk -v a="$fa1" 'BEGIN { print 2 * a + 500 }')"; then
		pass "text/answer-1MB-vs-100MB" "bert_answer context 1MB $fa1 ms, 100MB $fa100 ms (contexts cut at 100,000 pieces)"
	else
		fail "text/answer-1MB-vs-100MB" "bert_answer context 1MB '$fa1' ms, 100MB '$fa100' ms $(qerr)"
	fi
	local fo fs fn ft fl b
	fo=$(q "$DB" "SELECT hostile_ms(repeat('Angela Merkel visited Paris. ', 3615840), 'bert-tiny-random-ner', 1, 'length', 'ner', 'token_logits')")
	fs=$(q "$DB" "SELECT hostile_ms(repeat('Angela Merkel visited Paris. ', 3615840), 'bert-tiny-random-pretrain', 1, 'nsp')")
	read -r fl fn ft <<<"${fo%%|*}"
	fs=${fs%%|*}
	# the pairs read two texts: their floor is twice length()
	local b2
	b=$(bound "$fl")
	b2=$(bound "$(awk -v f="$fl" 'BEGIN { print 2 * f }')")
	if [ -n "$fo" ] && [ -n "$fs" ] && le "$fn" "$b" && le "$fs" "$b2" && le "$ft" "$b2"; then
		pass "text/100MB-ner-nsp-token-logits" "bert_ner $fn ms (bound $b), bert_next_sentence(100MB, 100MB) $fs ms, bert_token_logits(100MB, 100MB) $ft ms (bound $b2; length() floor $fl ms)"
	else
		fail "text/100MB-ner-nsp-token-logits" "bert_ner '$fn' ms (bound $b), bert_next_sentence '$fs' ms, bert_token_logits '$ft' ms (bound $b2; length() floor $fl ms) $(qerr)"
	fi
	# max_answer_len past the context: any bound >= the context length gives
	# the same best span; INT_MAX must not wrap start + max_answer_len
	local ctx="'Angela Merkel visited Paris in the spring, and the mayor of the city welcomed her.'" r1 r2
	r1=$(q "$DB" "SELECT answer || ' ' || score FROM bert_answer('Who visited Paris?', $ctx, 'bert-tiny-random-qa', 1000)")
	r2=$(q "$DB" "SELECT answer || ' ' || score FROM bert_answer('Who visited Paris?', $ctx, 'bert-tiny-random-qa', 2147483647)")
	expect_eq "text/answer-max-answer-len-int-max" "$r2" "$r1" "max_answer_len 2147483647 = 1000: $r1"
	expect_error "text/answer-question-too-long" "$DB" \
		"SELECT * FROM bert_answer(repeat('who ', 1000), $ctx, 'bert-tiny-random-qa')" "question is too long"
	expect_eq "text/fill-mask-top-k-int-max" \
		"$(q "$DB" "SELECT count(*) FROM bert_fill_mask('a [MASK] b', 'bert-tiny-random-pretrain', 2147483647)")" \
		"30522" "top_k 2147483647: the whole vocabulary, 30522 rows"
	# past 256 MiB: what works for bert_embed must work for the offset-returning
	# functions too (text may hold up to 1 GB)
	local big="repeat('Angela Merkel visited Paris. ', 10000000)" r
	r=$(q "$DB" "SELECT array_length(bert_embed($big, '$TINY'), 1)")
	expect_eq "text/290MB-embed" "$r" "32" "bert_embed on 290 MB: 32 floats"
	r=$(q "$DB" "SELECT count(*) >= 0 FROM bert_ner($big, 'bert-tiny-random-ner')")
	expect_eq "text/290MB-ner" "$r" "t" "bert_ner on 290 MB answers"
	r=$(q "$DB" "SELECT count(*) FROM bert_token_logits($big, 'bert-tiny-random-ner')")
	expect_eq "text/290MB-token-logits" "$r" "512" "bert_token_logits on 290 MB: 512 rows"
	r=$(q "$DB" "SELECT count(*) FROM bert_answer('Who visited Paris?', $big, 'bert-tiny-random-qa')")
	expect_eq "text/290MB-answer" "$r" "1" "bert_answer on a 290 MB context: one answer"
	expect_eq "text/max-length-3-on-100MB" \
		"$(PGOPTIONS="$PGOPTIONS -c bert.max_length=3" q "$DB" "SELECT bert_token_ids(repeat('hello world ', 8738134), '$TINY')")" \
		"{101,7592,102}"
	expect_eq "text/max-length-65536-tiny" \
		"$(PGOPTIONS="$PGOPTIONS -c bert.max_length=65536" q "$DB" "SELECT array_length(bert_token_ids(repeat('hello world ', 8738134), '$TINY'), 1)")" \
		"512" "bert.max_length 65536 is capped by the model's 512 positions"

	GROUP_SUMMARY="$GROUP_CASES cases, $GROUP_FAILED failed"
}
