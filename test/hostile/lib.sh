# test/hostile/lib.sh: helpers of the hostile-input suite (sourced by run.sh).
#
# Results: pass/fail/skip print one line per case and count per group.
# Queries: q DB SQL runs one statement and prints its rows (-At); qerr the
# error text, if any.  Sessions that must keep one backend (the
# model cache is per backend) are written as a script of steps: st_sql adds
# a query, st_sh a shell command run by psql's \! between two queries; st_run
# runs the whole script in one psql session, then st_out/st_err/st_msg read
# what each step printed.

PASSED=0
FAILED=0
SKIPPED=0
GROUP_CASES=0
GROUP_FAILED=0

pass() { echo "PASS $1${2:+: $2}"; PASSED=$((PASSED + 1)); GROUP_CASES=$((GROUP_CASES + 1)); }
fail() {
	echo "FAIL $1${2:+: $2}"
	FAILED=$((FAILED + 1))
	GROUP_CASES=$((GROUP_CASES + 1))
	GROUP_FAILED=$((GROUP_FAILED + 1))
}
skip() { echo "SKIP $1${2:+: $2}"; SKIPPED=$((SKIPPED + 1)); }
group_begin() { GROUP_CASES=0; GROUP_FAILED=0; echo "== hostile/$1"; }

# timing_of FILE: the "Time: X ms" psql printed (first one)
timing_of() { sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$1" | head -1; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# q DB SQL: rows on stdout, status 0/1; psql's stderr goes to $WORK/qerr,
# and qerr prints the message of the last q's ERROR (q usually runs in a
# command substitution, so it cannot leave a variable behind)
q() {
	psql -X -At -q -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>"$WORK/qerr"
}
qerr() { sed -n 's/^\(psql:[^ ]*: \)\{0,1\}ERROR: *//p' "$WORK/qerr" | head -1; }

# expect_error NAME DB SQL REGEX: the statement must fail with a message
# matching REGEX (grep -E)
expect_error() {
	local name=$1 db=$2 sql=$3 re=$4 out
	if out=$(q "$db" "$sql"); then
		fail "$name" "expected an error matching /$re/, got a result: ${out:0:120}"
	elif qerr | grep -Eq -- "$re"; then
		pass "$name" "ERROR: $(qerr)"
	else
		fail "$name" "expected /$re/, got: $(head -3 "$WORK/qerr" | tr '\n' ' ')"
	fi
}

# expect_eq NAME GOT WANT [FIGURE]
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1" "${4:-$2}"
	else
		fail "$1" "got '${2:0:200}', expected '${3:0:200}' $(qerr)"
	fi
}

# ---------------------------------------------------------------- scripts

st_begin() {
	ST=$WORK/$1
	: >"$ST.sql"
	: >"$ST.lines"
	ST_LINE=0
}
st_add() {
	printf '%s\n' "$1" >>"$ST.sql"
	ST_LINE=$((ST_LINE + $(printf '%s\n' "$1" | wc -l)))
}
# st_sql NAME SQL (one statement, may span lines; no trailing ';')
st_sql() {
	st_add "\\echo @@BEGIN $1"
	st_add "$2;"
	echo "$1 $ST_LINE" >>"$ST.lines"	# psql names the line of the ';'
	st_add "\\echo @@END $1 :ERROR"
}
# st_sh COMMAND: run as this user between two steps; output to the log
st_sh() { st_add "\\! ( $1 ) >>$WORK/shell.log 2>&1"; }
# st_run DB: runs the script in one session
st_run() {
	psql -X -At -q -d "$1" -f "$ST.sql" >"$ST.out" 2>"$ST.err"
}
# rows of step NAME
st_out() {
	awk -v b="@@BEGIN $1" -v e="@@END $1 " \
		'$0 == b {f = 1; next} f && index($0, e) == 1 {exit} f' "$ST.out"
}
# "true"/"false": whether step NAME failed; "" if it did not run
st_failed() { awk -v e="@@END $1 " 'index($0, e) == 1 {print $NF; exit}' "$ST.out"; }
# the ERROR line (and DETAIL/HINT lines) psql printed for step NAME
st_msg() {
	local line
	line=$(awk -v n="$1" '$1 == n {print $2}' "$ST.lines")
	awk -v pre="psql:$ST.sql:$line: " '
		index($0, pre) == 1 {f = 1; sub(/^psql:[^ ]*: /, ""); print; next}
		/^psql:/ {f = 0}
		f' "$ST.err"
}
st_err() { st_msg "$1" | sed -n 's/^ERROR: *//p' | head -1; }

# st_expect_error NAME REGEX [WHAT]: step NAME must have failed with REGEX
st_expect_error() {
	local name=$1 re=$2 what=${3:-$1} failed msg
	failed=$(st_failed "$name")
	msg=$(st_err "$name")
	if [ -z "$failed" ]; then
		fail "$what" "step did not run (session lost?): $(tail -2 "$ST.err" | tr '\n' ' ')"
	elif [ "$failed" != true ]; then
		fail "$what" "expected an error matching /$re/, got: $(st_out "$name" | head -3 | tr '\n' ' ' | cut -c1-160)"
	elif printf '%s' "$msg" | grep -Eq -- "$re"; then
		pass "$what" "ERROR: $msg"
	else
		fail "$what" "expected /$re/, got: $msg"
	fi
}

# the long model: bert-mini-mlm (F32, used in place from the mapping) with
# its positions tiled to 4096, in $LONG_ROOT/long
ensure_long_model() {
	LONG_ROOT=$WORK/long
	[ -f "$LONG_ROOT/long/model.safetensors" ] && return 0
	mkdir -p "$LONG_ROOT"
	"$PY" "$HERE/mkmodel.py" long "$BERT_MODELS/bert-mini-mlm" "$LONG_ROOT/long" 4096 &&
		chmod -R a+rX "$LONG_ROOT"
}
