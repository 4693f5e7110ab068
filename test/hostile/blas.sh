# test/hostile/blas.sh: OpenBLAS threads and their memory (sourced by run.sh).
#
# OpenBLAS maps a work buffer of 128 MB for each thread on its first packed
# product, and retries forever when the mapping fails; a backend stuck there
# ignores cancel, statement_timeout and pg_terminate_backend.  These cases
# start a second server under an address-space limit (ulimit -v, inherited
# by every backend), sized from what one backend maps on this machine:
#   V1 = VmSize of a backend after one 1-thread call of 2,046 tokens
#   (its OpenBLAS buffer included), measured on the same server unlimited;
#   one-buffer:  limit V1 - 80 MB: room for everything but the buffer;
#   two-threads: limit V1 + 48 MB: one thread runs, a second has no room.
# Every call must come back (an ERROR naming bert.threads or the limit, or
# its result) within BLAS_CLIENT_TIMEOUT seconds, the session must stay
# usable (statement_timeout still cancels a long call), and the server log
# must show no crash.  Also, on the main server: bert.threads far above the
# CPU count starts no more threads than the CPUs the backend may run on.
# With bert in shared_preload_libraries (OpenBLAS opened by the postmaster,
# inherited by every backend): the one-buffer limit still gives its ERROR,
# and bert.threads = 2 starts exactly one OpenBLAS thread in the backend
# (the pool stopped at fork is restarted once, not twice) with the same
# result as one thread.

BLAS_CLIENT_TIMEOUT=30

# blas_start [LIMIT_KB [SERVER OPTION...]]: (re)starts the limited server
# ($BLAS_DIR); LIMIT_KB '' for none
blas_start() {
	local limit=${1:-}
	shift || true
	[ -f "$BLAS_DIR/data/postmaster.pid" ] &&
		as_server "$PGBIN/pg_ctl" -D "$BLAS_DIR/data" -m immediate -w stop >/dev/null 2>&1
	as_server bash -c "${limit:+ulimit -v $limit;} exec '$PGBIN/pg_ctl' -D '$BLAS_DIR/data' -l '$BLAS_DIR/server.log' -w -o \"-p $BLAS_PORT -k '$BLAS_DIR' -c listen_addresses='' $*\" start" >/dev/null
}

# blas_psql SQL...: runs the statements in one session of the limited
# server, at most BLAS_CLIENT_TIMEOUT seconds; output in $WORK/blas.out
blas_psql() {
	local args=()
	for s in "$@"; do args+=(-c "$s"); done
	PGHOST=$BLAS_DIR PGPORT=$BLAS_PORT PGOPTIONS="-c bert.model_dir=${LONG_ROOT// /\\ } -c bert.max_length=2048" \
		timeout "$BLAS_CLIENT_TIMEOUT" psql -X -At -q -d postgres "${args[@]}" >"$WORK/blas.out" 2>&1
}

blas_setup() {
	PGBIN=${PGBIN:-$(pg_config --bindir)}
	[ -x "$PGBIN/initdb" ] || PGBIN=/usr/lib/postgresql/$(pg_config --version | sed 's/[^0-9]*\([0-9]*\).*/\1/')/bin
	BLAS_DIR=$WORK/blas
	mkdir -p "$BLAS_DIR"
	chmod 755 "$BLAS_DIR"
	[ "$(id -u)" = 0 ] && chown postgres "$BLAS_DIR"
	for _ in $(seq 1 200); do
		BLAS_PORT=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$BLAS_PORT") 2>/dev/null || break
	done
	as_server "$PGBIN/initdb" -D "$BLAS_DIR/data" -U postgres -A trust -E UTF8 --locale=C >"$BLAS_DIR/initdb.log" 2>&1 || return 1
	ensure_long_model || return 1
	blas_start || return 1
	PGHOST=$BLAS_DIR PGPORT=$BLAS_PORT psql -X -q -d postgres -c "CREATE EXTENSION bert" || return 1
	LONG_CALL="SELECT array_length(bert_embed(repeat('word ', 2500), 'long'), 1)"
	VMSIZE="SELECT 'vmsize ' || (regexp_match(pg_read_file('/proc/self/status'), 'VmSize:\\s*(\\d+)'))[1]"
	blas_psql "$LONG_CALL" "$VMSIZE" "\timing on" "$LONG_CALL" || return 1
	V1=$(sed -n 's/^vmsize //p' "$WORK/blas.out")
	# a cancel is seen before the next of 4 layers: bound 2 layers' time
	BLAS_BOUND_MS=$(sed -n 's/^Time: \([0-9]*\).*/\1/p' "$WORK/blas.out" | head -1)
	BLAS_BOUND_MS=$(( ${BLAS_BOUND_MS:-0} / 2 > 1200 ? ${BLAS_BOUND_MS:-0} / 2 : 1200 ))
	[ -n "$V1" ]
}

blas_stop() {
	as_server "$PGBIN/pg_ctl" -D "$BLAS_DIR/data" -m fast -w -t 20 stop >/dev/null 2>&1 ||
		as_server "$PGBIN/pg_ctl" -D "$BLAS_DIR/data" -m immediate -w stop >/dev/null 2>&1
}

# stops the limited server whatever state it is in (from run.sh's cleanup)
blas_cleanup() {
	[ -n "${BLAS_DIR:-}" ] && [ -f "$BLAS_DIR/data/postmaster.pid" ] &&
		as_server "$PGBIN/pg_ctl" -D "$BLAS_DIR/data" -m immediate -w stop >/dev/null 2>&1
	return 0
}

# blas_one_buffer_case NAME LABEL [SERVER OPTION...]: under a limit that
# leaves no room for the one buffer a single thread needs, the call is an
# ERROR and the session stays usable
blas_one_buffer_case() {
	local name=$1 label=$2 lim=$((V1 - 81920)) rc
	shift 2
	blas_start "$lim" "$@"
	blas_psql "$LONG_CALL" "SELECT 'usable'"
	rc=$?
	if [ $rc -eq 124 ]; then
		fail "$name" "${label}ulimit -v $((lim / 1024)) MB: the call hung (no answer in $BLAS_CLIENT_TIMEOUT s)"
	elif grep -q "could not reserve memory for OpenBLAS" "$WORK/blas.out" && grep -q "^usable" "$WORK/blas.out"; then
		pass "$name" "${label}ulimit -v $((lim / 1024)) MB: ERROR: $(grep -m1 ERROR "$WORK/blas.out" | sed 's/.*ERROR: *//'); session usable"
	else
		fail "$name" "${label}ulimit -v $((lim / 1024)) MB: $(head -3 "$WORK/blas.out" | tr '\n' ' ')"
	fi
}

group_blas() {
	group_begin blas
	local cpus ncpu
	ncpu=$(nproc)	# the CPUs this process may run on, as the server's

	# --- bert.threads = 64 on the main server: threads capped at the CPUs
	cpus=$(PGOPTIONS="$PGOPTIONS -c bert.threads=64" q "$DB" "SELECT (regexp_match(pg_read_file('/proc/self/status'), 'Threads:\s*(\d+)'))[1] FROM (SELECT bert_embed('hello world', 'bert-tiny-random') e OFFSET 0) s WHERE e IS NOT NULL")
	if [ -n "$cpus" ] && [ "$cpus" -le "$ncpu" ]; then
		pass "blas/threads-capped-at-cpus" "bert.threads = 64: the backend runs $cpus threads on $ncpu CPUs"
	else
		fail "blas/threads-capped-at-cpus" "bert.threads = 64: the backend runs '${cpus}' threads on $ncpu CPUs $(qerr)"
	fi

	if ! blas_setup; then
		fail "blas/setup" "could not start the second server: $(tail -3 "$BLAS_DIR/server.log" "$WORK/blas.out" 2>/dev/null | tr '\n' ' ')"
		GROUP_SUMMARY="$GROUP_CASES cases, $GROUP_FAILED failed"
		return
	fi
	echo "     calibration: a backend maps $((V1 / 1024)) MB after one 1-thread call of 2,046 tokens; cancel bound $BLAS_BOUND_MS ms"

	# --- no room for the one buffer a single thread needs
	local lim rc
	blas_one_buffer_case "blas/one-buffer-limit" ""

	# --- room for one thread, not for two; cancel still works after
	lim=$((V1 + 49152))
	blas_start "$lim"
	if [ "$ncpu" -lt 2 ]; then
		skip "blas/two-threads-limit" "one CPU: bert.threads is capped at 1"
	else
		blas_psql "$LONG_CALL" "SET bert.threads = 2" "$LONG_CALL" "RESET bert.threads" \
			"SET statement_timeout = '200ms'" "\\timing on" "$LONG_CALL" "\\timing off" "RESET statement_timeout" "SELECT 'usable ' || ($LONG_CALL)"
		rc=$?
		local ms
		ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$WORK/blas.out" | head -1)
		if [ $rc -eq 124 ]; then
			fail "blas/two-threads-limit" "ulimit -v $((lim / 1024)) MB, bert.threads = 2: the call hung (no answer in $BLAS_CLIENT_TIMEOUT s)"
		elif grep -q "could not reserve memory for 2 OpenBLAS threads" "$WORK/blas.out" &&
			grep -q "canceling statement due to statement timeout" "$WORK/blas.out" &&
			grep -q "^usable 256" "$WORK/blas.out" && awk -v m="${ms:-99999}" -v b="$BLAS_BOUND_MS" 'BEGIN { exit !(m - 200 <= b) }'; then
			pass "blas/two-threads-limit" "ulimit -v $((lim / 1024)) MB: 1 thread ran; bert.threads = 2: ERROR: $(grep -m1 ERROR "$WORK/blas.out" | sed 's/.*ERROR: *//'); then statement_timeout 200 ms returned after $ms ms (bound 200 + $BLAS_BOUND_MS); session usable"
		else
			fail "blas/two-threads-limit" "ulimit -v $((lim / 1024)) MB: $(grep -v '^$' "$WORK/blas.out" | head -6 | tr '\n' ' ')"
		fi
	fi

	# --- OpenBLAS opened by the postmaster: the same limit, the same ERROR
	blas_one_buffer_case "blas/preloaded-one-buffer-limit" "shared_preload_libraries = bert, " \
		-c shared_preload_libraries=bert

	# --- OpenBLAS opened by the postmaster: bert.threads = 2 starts one thread
	blas_start "" -c shared_preload_libraries=bert
	if [ "$ncpu" -lt 2 ]; then
		skip "blas/preloaded-threads" "one CPU: bert.threads is capped at 1"
	else
		local threads_sql="SELECT 'threads ' || (regexp_match(pg_read_file('/proc/self/status'), 'Threads:\s*(\d+)'))[1]"
		local sum_sql="SELECT 'sum ' || sum(x) FROM unnest(bert_embed(repeat('word ', 2500), 'long')) x"
		blas_psql "$threads_sql" "$sum_sql" "SET bert.threads = 2" "$sum_sql" "$threads_sql" "$sum_sql" "$threads_sql"
		rc=$?
		local t s
		t=$(sed -n 's/^threads //p' "$WORK/blas.out" | tr '\n' ' ')
		# the three sums agree within 1e-4 (float rounding of other splits)
		s=$(sed -n 's/^sum //p' "$WORK/blas.out" | awk 'NR == 1 { a = $1 } { d = $1 - a; if (d < 0) d = -d; if (d > m) m = d } END { print (NR == 3 && m <= 1e-4) ? "same" : "differ" }')
		if [ $rc -eq 0 ] && [ "$t" = "1 2 2 " ] && [ "$s" = same ]; then
			pass "blas/preloaded-threads" "shared_preload_libraries = bert: threads before / after bert.threads = 2 / after a second call: $t; the embedding's sum equal on 1 and 2 threads within 1e-4"
		else
			fail "blas/preloaded-threads" "shared_preload_libraries = bert: threads '$t' (want 1 2 2), sums $s: $(grep -v '^$' "$WORK/blas.out" | head -7 | tr '\n' ' ')"
		fi
	fi

	blas_stop
	if grep -q "terminated by signal" "$BLAS_DIR/server.log"; then
		fail "blas/server-log" "$(grep -m2 "terminated by signal" "$BLAS_DIR/server.log" | tr '\n' ' ')"
	else
		pass "blas/server-log" "no 'terminated by signal' in the limited server's log"
	fi
	GROUP_SUMMARY="$GROUP_CASES cases, $GROUP_FAILED failed"
}
