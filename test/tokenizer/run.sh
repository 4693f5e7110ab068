#!/usr/bin/env bash
# Tokenizer parity test: src/tokenizer.c against the Hugging Face tokenizer
# oracle (../shared/tools/tokref) on real and generated hostile text.
#
#   bash test/tokenizer/run.sh
#
# Needs gcc, pg_config (server headers, libpgcommon.a, libpgport.a),
# libutf8proc, Node >= 20 and the npm registry (the oracle is installed into
# a temporary folder).  Ends with "tokenizer parity: N passed, M failed" and
# exits non-zero when anything fails.  Environment: CC (default gcc),
# KEEP=1 keeps the scratch folder, SKIP_ASAN=1 skips the sanitizer run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=$ROOT/../shared
MODEL=$SHARED/models/bert-mini-sentiment
CC=${CC:-gcc}

if [ ! -f "$MODEL/tokenizer.json" ] || [ ! -f "$SHARED/tools/tokref/tokref.mjs" ]; then
	echo "tokenizer parity: skipped, $SHARED not found (models and oracle live there)"
	exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bert-tokcheck.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
	echo "scratch: $WORK"
else
	trap 'rm -rf "$WORK"' EXIT
fi

step() { printf '== %s\n' "$*"; }

# --- the oracle --------------------------------------------------------------
step "installing the oracle"
mkdir -p "$WORK/tokref"
cp "$SHARED/tools/tokref/package.json" "$SHARED/tools/tokref/tokref.mjs" "$WORK/tokref/"
(cd "$WORK/tokref" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
# same script, also printing token_type_ids (every replacement must apply)
node - "$WORK/tokref/tokref.mjs" "$WORK/tokref/tokref_tt.mjs" <<'EOF'
const fs = require("fs");
const [src, dst] = process.argv.slice(2);
let s = fs.readFileSync(src, "utf8");
const edits = [
  ["{ text_pair: fix(r.text_pair) }", "{ text_pair: fix(r.text_pair), return_token_type_ids: true }"],
  [": tok.encode(fix(r.text));", ": tok.encode(fix(r.text), { return_token_type_ids: true });"],
  ["ids: Array.from(enc.ids) }", "ids: Array.from(enc.ids), type_ids: Array.from(enc.token_type_ids) }"],
];
for (const [a, b] of edits) {
  if (s.split(a).length !== 2) { console.error(`tokref.mjs changed: cannot find ${a}`); process.exit(1); }
  s = s.replace(a, b);
}
fs.writeFileSync(dst, s);
EOF

# --- build -------------------------------------------------------------------
step "building tokcheck"
INC=$(pg_config --includedir-server)
PGLIB=$(pg_config --pkglibdir)
[ -f "$PGLIB/libpgcommon.a" ] || PGLIB=$(pg_config --libdir)
LIBS=("$PGLIB/libpgcommon.a" "$PGLIB/libpgport.a" -lutf8proc -lm)
# no warnings, in frontend and in server builds
$CC -std=gnu99 -Wall -Wextra -Werror -O2 -DBERT_STANDALONE -I"$INC" -fsyntax-only "$ROOT/src/tokenizer.c"
$CC -std=gnu99 -Wall -Wextra -Werror -O2 -fPIC -I"$INC" -fsyntax-only "$ROOT/src/tokenizer.c"
$CC -std=gnu99 -Wall -Wextra -O2 -g -DBERT_STANDALONE -I"$INC" -o "$WORK/tokcheck" \
	"$HERE/tokcheck.c" "${LIBS[@]}"

# --- cases -------------------------------------------------------------------
step "generating cases"
"$WORK/tokcheck" --dump-props > "$WORK/props.txt"
node "$HERE/gen_cases.mjs" "$SHARED" "$WORK/props.txt" "$WORK/cases"
NCASES=$(wc -l < "$WORK/cases/cases.hex")

# --- run both ----------------------------------------------------------------
# the model's vocabulary on every case; an extended one on generated text
step "running the oracle and tokcheck on $NCASES + $(wc -l < "$WORK/cases/ext.hex") cases"
(
	node "$WORK/tokref/tokref_tt.mjs" "$MODEL/tokenizer.json" \
		< "$WORK/cases/cases.jsonl" > "$WORK/oracle.jsonl"
	node "$WORK/tokref/tokref_tt.mjs" "$WORK/cases/ext_tokenizer.json" \
		< "$WORK/cases/ext.jsonl" > "$WORK/oracle_ext.jsonl"
) &
ORACLE_PID=$!
STATUS=0
"$WORK/tokcheck" "$MODEL/vocab.txt" < "$WORK/cases/cases.hex" > "$WORK/ours.txt" || {
	echo "tokcheck reported span violations (see above)"
	STATUS=1
}
"$WORK/tokcheck" "$WORK/cases/ext_vocab.txt" --max-chars 250 \
	< "$WORK/cases/ext.hex" > "$WORK/ours_ext.txt" || {
	echo "tokcheck reported span violations (see above)"
	STATUS=1
}
wait "$ORACLE_PID"

# --- offsets: every piece of the first 3000 cases lies inside its text ------
step "checking offsets"
head -n 3000 "$WORK/cases/cases.hex" | "$WORK/tokcheck" "$MODEL/vocab.txt" -o > "$WORK/offsets.txt"
awk -F'\t' '
{
	split($3, lens, ",")
	n = split($4, spans, " ")
	side = 1
	for (i = 2; i < n; i++) {
		split(spans[i], se, ":")
		if (se[1] == -1 && se[2] == -1) { side = 2; continue }
		if (!(se[1] >= 0 && se[1] < se[2] && se[2] <= lens[side])) {
			printf "case %d: token %d has span %s, text is %d bytes\n", NR, i, spans[i], lens[side]
			bad++
		}
		checked++
	}
}
END {
	printf "offsets: %d token spans checked, %d outside their text\n", checked, bad
	exit bad > 0
}' "$WORK/offsets.txt" || STATUS=1

# --- truncation and API contract --------------------------------------------
step "checking truncation, loaders and limits"
"$WORK/tokcheck" "$MODEL/vocab.txt" --selftest || STATUS=1
{ head -n 2000 "$WORK/cases/cases.hex"; grep -P '\t' "$WORK/cases/cases.hex"; } |
	"$WORK/tokcheck" "$MODEL/vocab.txt" --trunc || STATUS=1
# the pre-tokenizer's words (bert_finetune_entities) on every case
"$WORK/tokcheck" "$MODEL/vocab.txt" --words < "$WORK/cases/cases.hex" || STATUS=1
"$WORK/tokcheck" "$WORK/cases/ext_vocab.txt" --max-chars 250 --words < "$WORK/cases/ext.hex" || STATUS=1

# --- sanitizers on hostile cases and random bytes ----------------------------
if [ "${SKIP_ASAN:-0}" != 1 ]; then
	step "AddressSanitizer + UndefinedBehaviorSanitizer on hostile cases"
	if $CC -std=gnu99 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
		-DBERT_STANDALONE -I"$INC" -o "$WORK/tokcheck_asan" "$HERE/tokcheck.c" "${LIBS[@]}" 2>"$WORK/asan_build.log"; then
		paste "$WORK/cases/cases.kinds" "$WORK/cases/cases.hex" |
			awk -F'\t' '$1 !~ /^(imdb|sst2|sts-a|sts-b|sts-pair)$/ { sub(/^[^\t]*\t/, ""); print }' \
			> "$WORK/hostile.hex"
		cat "$WORK/cases/fuzz.hex" >> "$WORK/hostile.hex"	# random bytes, not compared
		if ASAN_OPTIONS=detect_leaks=0 "$WORK/tokcheck_asan" "$MODEL/vocab.txt" -o \
				< "$WORK/hostile.hex" > /dev/null 2> "$WORK/asan.log" &&
			ASAN_OPTIONS=detect_leaks=0 "$WORK/tokcheck_asan" "$MODEL/vocab.txt" --trunc \
				< "$WORK/hostile.hex" > /dev/null 2>> "$WORK/asan.log" &&
			ASAN_OPTIONS=detect_leaks=0 "$WORK/tokcheck_asan" "$MODEL/vocab.txt" --words \
				< "$WORK/hostile.hex" > /dev/null 2>> "$WORK/asan.log" &&
			ASAN_OPTIONS=detect_leaks=0 "$WORK/tokcheck_asan" "$MODEL/vocab.txt" --selftest \
				> /dev/null 2>> "$WORK/asan.log" &&
			ASAN_OPTIONS=detect_leaks=0 "$WORK/tokcheck_asan" "$WORK/cases/ext_vocab.txt" --max-chars 250 -o \
				< "$WORK/cases/ext.hex" > /dev/null 2>> "$WORK/asan.log"; then
			echo "sanitizers: $(cat "$WORK/hostile.hex" "$WORK/cases/ext.hex" | wc -l) inputs, no errors"
		else
			echo "sanitizers: errors"
			head -n 40 "$WORK/asan.log"
			STATUS=1
		fi
	else
		echo "sanitizers: skipped ($CC cannot build with -fsanitize=address,undefined)"
	fi
fi

# --- timing (information only) -----------------------------------------------
step "timing"
"$WORK/tokcheck" "$MODEL/vocab.txt" --bench "$SHARED/data/reviews/imdb_test_5000.tsv" 2

# --- verdict -----------------------------------------------------------------
step "comparing"
node "$HERE/compare.mjs" "$WORK/cases" 30 \
	cases "$WORK/oracle.jsonl" "$WORK/ours.txt" \
	ext "$WORK/oracle_ext.jsonl" "$WORK/ours_ext.txt" || STATUS=1
exit $STATUS
