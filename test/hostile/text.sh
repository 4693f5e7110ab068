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
# SMALL_MULTIPLE x its length() floor + 100 ms.

SMALL_MULTIPLE=5
TINY=bert-tiny-random

text_setup() {
	q "$DB" "DROP FUNCTION IF EXISTS hostile_ms(text, int, text[])" >/dev/null
	q "$DB" "$(cat <<'SQL'
CREATE FUNCTION hostile_ms(x text, reps int, VARIADIC sqls text[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	val text;
	best float8;
	t float8;
	res text[] := '{}';
	s text;
BEGIN
	FOREACH s IN ARRAY sqls LOOP
		best := 'Infinity';
		FOR i IN 1..reps LOOP
			t0 := clock_timestamp();
			EXECUTE 'SELECT (' || s || ')::text' INTO val USING x;
			t := extract(epoch FROM clock_timestamp() - t0) * 1000;
			best := least(best, t);
		END LOOP;
		res := res || round(best::numeric, 3)::text;
	END LOOP;
	-- the times, then "|" and the value of the last expression
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
	figs=$(q "$DB" "SELECT hostile_ms($expr, 1, 'length(\$1)', 'bert_token_ids(\$1, ''$TINY'')')")
	if [ -z "$figs" ]; then
		fail "$name" "timing query failed: $QERR"
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
	f10k=$(q "$DB" "SELECT hostile_ms(repeat($unit, $n10k), 20, 'length(\$1)', 'bert_token_ids(\$1, ''$TINY'')', 'bert_embed(\$1, ''$TINY'')')")
	f1m=$(q "$DB" "SELECT hostile_ms(repeat($unit, $n1m), 5, 'length(\$1)', 'bert_token_ids(\$1, ''$TINY'')', 'bert_embed(\$1, ''$TINY'')')")
	f100m=$(q "$DB" "SELECT hostile_ms(repeat($unit, $n100m), 1, 'length(\$1)', 'bert_token_ids(\$1, ''$TINY'')', 'bert_embed(\$1, ''$TINY'')')")
	if [ -z "$f10k" ] || [ -z "$f1m" ] || [ -z "$f100m" ]; then
		fail "text/size-timings" "timing queries failed: $QERR"
	else
		local l10 i10 e10 l1 i1 e1 l100 i100 e100
		read -r l10 i10 e10 <<<"${f10k%%|*}"
		read -r l1 i1 e1 <<<"${f1m%%|*}"
		read -r l100 i100 e100 <<<"${f100m%%|*}"
		echo "     figures (ms, best of 20/5/1): 10KB length $l10 ids $i10 embed $e10 | 1MB length $l1 ids $i1 embed $e1 | 100MB length $l100 ids $i100 embed $e100"
		local bi be
		bi=$(awk -v a="$i10" 'BEGIN { printf "%.2f", 5 * a + 2 }')
		be=$(awk -v a="$e10" 'BEGIN { printf "%.2f", 3 * a + 20 }')
		if le "$i1" "$bi" && le "$i100" "$bi"; then
			pass "text/ids-cost-1MB-100MB" "bert_token_ids 10KB $i10 ms, 1MB $i1 ms, 100MB $i100 ms (bound 5x10KB+2 = $bi ms; 100MB length() floor $l100 ms)"
		else
			fail "text/ids-cost-1MB-100MB" "bert_token_ids 10KB $i10 ms, 1MB $i1 ms, 100MB $i100 ms > bound $bi ms"
		fi
		if le "$e1" "$be" && le "$e100" "$be"; then
			pass "text/embed-cost-1MB-100MB" "bert_embed 10KB $e10 ms, 1MB $e1 ms, 100MB $e100 ms (bound 3x10KB+20 = $be ms)"
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
		tf=$(q "$DB" "$(cat <<SQL
SELECT hostile_ms(NULL, 1,
  '(SELECT length(x) FROM hostile_big)',
  '(SELECT bert_token_ids(x, ''$TINY'') FROM hostile_big)',
  '(SELECT bert_embed(x, ''$TINY'') FROM hostile_big)')
SQL
)")
		local tl ti te b
		read -r tl ti te <<<"${tf%%|*}"
		b=$(bound "$tl")
		if [ -n "$tf" ] && le "$ti" "$b" && le "$te" "$b"; then
			pass "text/100MB-stored-detoast" "from a table: length() $tl ms, bert_token_ids $ti ms, bert_embed $te ms (bound $b ms)"
		else
			fail "text/100MB-stored-detoast" "from a table: length() $tl ms, bert_token_ids $ti ms, bert_embed $te ms, bound $b ms ${QERR}"
		fi
		q "$DB" "DROP TABLE hostile_big" >/dev/null
	else
		fail "text/100MB-stored-detoast" "could not store 100 MB: $QERR"
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
		fail "text/random-codepoints" "got '$g' (wellformed len bad-ids deterministic nan dim bytes) ${QERR}"
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
	expect_eq "text/empty" "$(q "$DB" "SELECT bert_token_ids('', '$TINY') || array_length(bert_embed('', '$TINY'), 1)")" "{101,102,32}"

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
		c=$(PGOPTIONS="-c bert.model_dir=${cased// /\\ }" q "$DB" "SELECT bert_token_ids('e' || repeat(U&'\\0316\\0301', 50000), 'tiny-cased') || ' ' || array_length(bert_token_ids(repeat('e' || repeat(U&'\\0301\\0316\\0323\\0358\\035C', 19) || ' ', 100000), 'tiny-cased'), 1) || ' ' || bert_token_ids(U&'e\\0301\\0316', 'tiny-cased')")
		expect_eq "text/combining-storm-cased" "$c" "{101,100,102} 512 {101,100,102}" "cased: 1e5 marks -> [UNK]; 1e5 zalgo words -> 512 ids"
	else
		fail "text/combining-storm-cased" "could not build the cased model copy"
	fi

	# --- other entry points on 100 MB: cost bounded by the limit
	local fa1 fa100 fo
	fa1=$(q "$DB" "SELECT hostile_ms(repeat('the quick brown fox jumps over the lazy dog. ', 23302), 1, 'bert_answer(''what jumps?'', \$1, ''bert-tiny-random-qa'')')")
	fa100=$(q "$DB" "SELECT hostile_ms(repeat('the quick brown fox jumps over the lazy dog. ', 2330169), 1, 'bert_answer(''what jumps?'', \$1, ''bert-tiny-random-qa'')')")
	fa1=${fa1%%|*}
	fa100=${fa100%%|*}
	if [ -n "$fa1" ] && [ -n "$fa100" ] && le "$fa100" "$(awk -v a="$fa1" 'BEGIN { print 2 * a + 500 }')"; then
		pass "text/answer-1MB-vs-100MB" "bert_answer context 1MB $fa1 ms, 100MB $fa100 ms (contexts cut at 100,000 pieces)"
	else
		fail "text/answer-1MB-vs-100MB" "bert_answer context 1MB '$fa1' ms, 100MB '$fa100' ms ${QERR}"
	fi
	fo=$(q "$DB" "SELECT hostile_ms(repeat('Angela Merkel visited Paris. ', 3615840), 1, 'bert_ner(\$1, ''bert-tiny-random-ner'')', 'bert_next_sentence(\$1, \$1, ''bert-tiny-random-pretrain'')', 'bert_token_logits(\$1, \$1, ''bert-tiny-random-ner'')', 'length(\$1)')")
	local fn fs ft fl
	read -r fn fs ft fl <<<"${fo%%|*}"
	if [ -n "$fo" ] && le "$fn" 100 && le "$fs" 100 && le "$ft" 100; then
		pass "text/100MB-ner-nsp-token-logits" "bert_ner $fn ms, bert_next_sentence(100MB, 100MB) $fs ms, bert_token_logits pair $ft ms (length() $fl ms)"
	else
		fail "text/100MB-ner-nsp-token-logits" "bert_ner '$fn' ms, bert_next_sentence '$fs' ms, bert_token_logits '$ft' ms (bound 100 ms) ${QERR}"
	fi
	expect_eq "text/max-length-3-on-100MB" \
		"$(PGOPTIONS="$PGOPTIONS -c bert.max_length=3" q "$DB" "SELECT bert_token_ids(repeat('hello world ', 8738134), '$TINY')")" \
		"{101,7592,102}"
	expect_eq "text/max-length-65536-tiny" \
		"$(PGOPTIONS="$PGOPTIONS -c bert.max_length=65536" q "$DB" "SELECT array_length(bert_token_ids(repeat('hello world ', 8738134), '$TINY'), 1)")" \
		"512" "bert.max_length 65536 is capped by the model's 512 positions"

	GROUP_SUMMARY="$GROUP_CASES cases, $GROUP_FAILED failed"
}
