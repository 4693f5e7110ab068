# test/hostile/encoding.sh: SQL_ASCII and LATIN1 databases (sourced by run.sh).
#
# Every query here is sent with client_encoding UTF8 except in the SQL_ASCII
# database (no conversion there: the bytes go through as written), so the
# same literal can be compared across databases.

group_encoding() {
	group_begin encoding
	local tiny=bert-tiny-random
	local mixed="Café naïve ÀÉÎ straße 東京 😀 Ωμέγα"

	# --- SQL_ASCII: invalid UTF-8 is an error, valid UTF-8 is tokenized as in UTF8
	expect_error "encoding/sqlascii-invalid-byte" "$DB_ASCII" \
		"SELECT bert_token_ids(E'abc\\xff def', '$tiny')" 'invalid byte sequence for encoding "UTF8": 0xff'
	expect_error "encoding/sqlascii-truncated-sequence" "$DB_ASCII" \
		"SELECT bert_embed(E'caf\\xc3', '$tiny')" 'invalid byte sequence for encoding "UTF8": 0xc3'
	expect_error "encoding/sqlascii-invalid-past-limit" "$DB_ASCII" \
		"SELECT bert_token_ids(repeat('word ', 200000) || E'\\xed\\xa0\\x80', '$tiny')" \
		'invalid byte sequence for encoding "UTF8": 0xed 0xa0 0x80'
	expect_error "encoding/sqlascii-latin1-bytes" "$DB_ASCII" \
		"SELECT bert_sentiment(E'na\\xefve', 'bert-tiny-random-cls')" 'invalid byte sequence for encoding "UTF8"'
	local u a
	u=$(PGCLIENTENCODING=UTF8 q "$DB" "SELECT bert_token_ids('$mixed', '$tiny')::text || ' ' || bert_tokenize('$mixed', '$tiny')::text")
	a=$(q "$DB_ASCII" "SELECT bert_token_ids('$mixed', '$tiny')::text || ' ' || bert_tokenize('$mixed', '$tiny')::text")
	if [ -n "$u" ] && [ "$u" = "$a" ]; then
		pass "encoding/sqlascii-valid-utf8-same-ids" "$u"
	else
		fail "encoding/sqlascii-valid-utf8-same-ids" "UTF8 db '$u' vs SQL_ASCII db '$a' $(qerr)"
	fi

	# --- LATIN1: converted to UTF-8 before tokenizing, tokens converted back
	local l
	u=$(PGCLIENTENCODING=UTF8 q "$DB" "SELECT bert_token_ids('Café naïve', '$tiny')::text || ' ' || bert_tokenize('Café naïve', '$tiny')::text")
	l=$(PGCLIENTENCODING=UTF8 q "$DB_LATIN1" "SELECT bert_token_ids('Café naïve', '$tiny')::text || ' ' || bert_tokenize('Café naïve', '$tiny')::text")
	if [ -n "$u" ] && [ "$u" = "$l" ]; then
		pass "encoding/latin1-same-ids" "$l"
	else
		fail "encoding/latin1-same-ids" "UTF8 db '$u' vs LATIN1 db '$l' $(qerr)"
	fi
	# every LATIN1 character (C1 controls included), one per word
	local all="(SELECT string_agg(chr(i), ' ' ORDER BY i) FROM generate_series(1, 255) i)"
	u=$(PGCLIENTENCODING=UTF8 q "$DB" "SELECT bert_token_ids($all, '$tiny')")
	l=$(PGCLIENTENCODING=UTF8 q "$DB_LATIN1" "SELECT bert_token_ids($all, '$tiny')")
	if [ -n "$u" ] && [ "$u" = "$l" ]; then
		pass "encoding/latin1-all-255-chars" "same $(echo "$l" | tr ',' '\n' | wc -l) ids as in UTF8"
	else
		fail "encoding/latin1-all-255-chars" "UTF8 db '${u:0:100}' vs LATIN1 db '${l:0:100}' $(qerr)"
	fi
	# a cased tokenizer keeps the accents: tokens with é must convert back to LATIN1
	if [ -d "$WORK/cased/tiny-cased" ]; then
		local opt="-c bert.model_dir=${WORK// /\\ }/cased"
		u=$(PGOPTIONS="$opt" PGCLIENTENCODING=UTF8 q "$DB" "SELECT bert_tokenize('café naïve über caf', 'tiny-cased')")
		l=$(PGOPTIONS="$opt" PGCLIENTENCODING=UTF8 q "$DB_LATIN1" "SELECT bert_tokenize('café naïve über caf', 'tiny-cased')")
		local l1
		l1=$(PGOPTIONS="$opt" PGCLIENTENCODING=UTF8 q "$DB_LATIN1" "SELECT bool_and(convert_to(t, 'LATIN1') IS NOT NULL) FROM unnest(bert_tokenize('café naïve über caf', 'tiny-cased')) t")
		if [ -n "$u" ] && [ "$u" = "$l" ] && [ "$l1" = t ] && [[ "$l" == *café,naïve,über* ]]; then
			pass "encoding/latin1-accented-tokens-back" "$l"
		else
			fail "encoding/latin1-accented-tokens-back" "UTF8 db '$u' vs LATIN1 db '$l' ($l1) $(qerr)"
		fi
	fi
	# a vocabulary token with no LATIN1 form: the error names the character
	expect_error "encoding/latin1-unrepresentable-token" "$DB_LATIN1" \
		"SELECT count(*) FROM bert_fill_mask('hello [MASK]', 'bert-tiny-random-pretrain', 30522)" \
		'has no equivalent in encoding "LATIN1"'
	# --- offsets in the units substr() counts: characters of the database
	# encoding (bytes in SQL_ASCII); the same spans as written in every
	# database, and the token spans put together give back the text
	local lat="Café au lait, naïve résumé à Zürich; Ärger über Öl." wide="Café 東京 😀 naïve Ωμέγα Zürich."
	local sql_off
	sql_off() {
		cat <<SQL
SELECT (SELECT string_agg(substr(t, start_char + 1, end_char - start_char), '|' ORDER BY start_char) FROM bert_ner(t, 'bert-tiny-random-ner'))
    || ' # ' || (SELECT string_agg(substr(t, start_char + 1, end_char - start_char), '|' ORDER BY position) FROM bert_token_logits(t, 'bert-tiny-random-ner') WHERE start_char IS NOT NULL)
    || ' # ' || (SELECT string_agg(substr(CASE token_type_id WHEN 0 THEN 'Où?' ELSE t END, start_char + 1, end_char - start_char), '|' ORDER BY position) FROM bert_token_logits('Où?', t, 'bert-tiny-random-qa') WHERE start_char IS NOT NULL)
    || ' # ' || (SELECT answer || ' ' || (answer = substr(t, start_char + 1, end_char - start_char)) FROM bert_answer('Où?', t, 'bert-tiny-random-qa'))
    || ' # ' || (SELECT string_agg(substr(t, start_char + 1, end_char - start_char), '' ORDER BY position) = replace(t, ' ', '') FROM bert_token_logits(t, 'bert-tiny-random-ner') WHERE start_char IS NOT NULL)
FROM (SELECT '$1'::text AS t) s
SQL
	}
	local ou oa ol
	ou=$(PGCLIENTENCODING=UTF8 q "$DB" "$(sql_off "$lat")")
	oa=$(q "$DB_ASCII" "$(sql_off "$lat")")
	ol=$(PGCLIENTENCODING=UTF8 q "$DB_LATIN1" "$(sql_off "$lat")")
	if [ -n "$ou" ] && [ "$ou" = "$oa" ] && [ "$ou" = "$ol" ] && [[ "$ou" == *"true # true" ]]; then
		pass "encoding/offsets-utf8-sqlascii-latin1" "bert_ner, bert_token_logits (single and pair), bert_answer: the same spans by substr() in the three databases: ${ou:0:140}"
	else
		fail "encoding/offsets-utf8-sqlascii-latin1" "UTF8 '${ou:0:150}' | SQL_ASCII '${oa:0:150}' | LATIN1 '${ol:0:150}' $(qerr)"
	fi
	ou=$(PGCLIENTENCODING=UTF8 q "$DB" "$(sql_off "$wide")")
	oa=$(q "$DB_ASCII" "$(sql_off "$wide")")
	if [ -n "$ou" ] && [ "$ou" = "$oa" ] && [[ "$ou" == *"true # true" ]]; then
		pass "encoding/offsets-cjk-emoji-utf8-sqlascii" "${ou:0:140}"
	else
		fail "encoding/offsets-cjk-emoji-utf8-sqlascii" "UTF8 '${ou:0:150}' | SQL_ASCII '${oa:0:150}' $(qerr)"
	fi
	# in SQL_ASCII the offsets are bytes, as substr() counts there
	local ob
	ob=$(q "$DB_ASCII" "SELECT string_agg(start_char || '-' || end_char, ',' ORDER BY position) FROM bert_token_logits('né à', 'bert-tiny-random-ner') WHERE start_char IS NOT NULL")
	expect_eq "encoding/offsets-sqlascii-are-bytes" "$ob" "0-3,4-6" "'né à' in SQL_ASCII: né = bytes 0-3, à = bytes 4-6"
	ob=$(PGCLIENTENCODING=UTF8 q "$DB_LATIN1" "SELECT string_agg(start_char || '-' || end_char, ',' ORDER BY position) FROM bert_token_logits('né à', 'bert-tiny-random-ner') WHERE start_char IS NOT NULL")
	expect_eq "encoding/offsets-latin1-are-characters" "$ob" "0-2,3-4" "'né à' in LATIN1: characters 0-2 and 3-4"

	# 100 MB in LATIN1: the whole text is converted; cost bounded by the conversion
	local f fl fc fids b
	f=$(PGCLIENTENCODING=UTF8 q "$DB_LATIN1" "$(cat <<SQL
DO \$\$
DECLARE x text := repeat('Café naïve ', 9532509); t0 timestamptz; r text; res text := '';
BEGIN
	t0 := clock_timestamp(); r := convert_to(x, 'UTF8') IS NOT NULL;
	res := res || round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 1) || ' ';
	t0 := clock_timestamp(); r := bert_token_ids(x, '$tiny')::text;
	res := res || round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 1) || ' ' || octet_length(x);
	RAISE NOTICE 'figures %', res;
END \$\$
SQL
)" 2>&1; sed -n 's/.*figures //p' "$WORK/qerr")
	read -r fc fids fl <<<"$f"
	b=$(awk -v c="${fc:-0}" 'BEGIN { printf "%.1f", 3 * c + 100 }')
	if [ -n "$fids" ] && awk -v a="$fids" -v b="$b" 'BEGIN { exit !(a <= b) }'; then
		pass "encoding/latin1-100MB" "$fl bytes: bert_token_ids $fids ms, convert_to(UTF8) floor $fc ms (bound $b ms)"
	else
		fail "encoding/latin1-100MB" "bert_token_ids '$fids' ms, convert_to floor '$fc' ms, bound $b ms $(qerr)"
	fi

	GROUP_SUMMARY="$GROUP_CASES cases, $GROUP_FAILED failed"
}
