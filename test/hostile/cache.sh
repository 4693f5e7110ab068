# test/hostile/cache.sh: the shared prepared copies in bert.cache_dir under
# faults (sourced by run.sh).
#
# Model copies live in $WORK/cache-models (the bert.model_dir of these
# cases); each case has its own cache directory under $WORK/cachedirs,
# which the server's user owns.  A case builds a cache file, then replaces
# the source, truncates or overwrites the cache file, or takes the right to
# write away, and checks that the next call gives the model's results (those
# of its private copy, bert.cache_dir = '', to 1e-5: the plans may differ),
# that a bad file is built again and never used, that an unwritable
# directory costs one WARNING and still gives results, and that nothing
# crashes.  A plan file removed and measured again by another backend makes
# a backend that holds the model reload it and run the new plan.  Then 8
# backends load a new model at once, and private memory per backend is
# measured.

CACHE_FAULTS=0
CACHE_TEXT="hello world"

# cq CACHEDIR SQL: one new session with bert.model_dir = $CM and the cache dir
cq() { q "$DB" "SET bert.model_dir = '$CM'; SET bert.cache_dir = '$1'; $2"; }

# close_to MODEL CACHEDIR REF: "true <weights>" when a new session's
# embedding of $CACHE_TEXT is within 1e-5 of REF
close_to() {
	cq "$2" "SELECT hostile_close(bert_embed('$CACHE_TEXT', '$1'), '$3'::real[]) || ' ' ||
	            (SELECT weights FROM bert_models() WHERE name = '$1')"
}

# number of cache files (*.bert) / temporary files in a directory
cache_files() { find "$1" -maxdepth 1 -name '*.bert' 2>/dev/null | wc -l; }
temp_files() { find "$1" -maxdepth 1 -name '*.tmp.*' 2>/dev/null | wc -l; }
cache_file() { find "$1" -maxdepth 1 -name '*.bert' 2>/dev/null | head -1; }

cache_fault() { CACHE_FAULTS=$((CACHE_FAULTS + 1)); }

cache_setup() {
	CM=$WORK/cache-models
	CD=$WORK/cachedirs
	mkdir -p "$CM" "$CD"
	for m in f16 stale swap trunc trunc-cached garbage garbage-cached header ro unwritable full negated; do
		cp -r "$BERT_TESTMODELS/bert-tiny-random-f16" "$CM/$m"
	done
	"$PY" "$HERE/mkmodel.py" negate "$CM/negated" &&
		mv "$CM/negated/model.safetensors.new" "$CM/negated/model.safetensors"
	cp -r "$BERT_MODELS/bert-mini-embed" "$CM/conc"
	cp -r "$BERT_MODELS/bert-mini-sentiment" "$CM/plan32"
	"$PY" "$HERE/mkmodel.py" long "$BERT_MODELS/bert-mini-embed" "$CM/long16" 4096
	chmod -R a+rX "$CM"
	# written back: pages of a file still dirty in the page cache count as
	# Private_Dirty of the one backend that maps them
	sync "$CM"/*/model.safetensors
	[ "$(id -u)" = 0 ] && chown postgres "$CD"
	q "$DB" "CREATE OR REPLACE FUNCTION hostile_close(a real[], b real[]) RETURNS boolean
	         LANGUAGE sql IMMUTABLE AS
	         'SELECT cardinality(a) = cardinality(b) AND
	                 (SELECT max(abs(x - y)) FROM unnest(a, b) u(x, y)) < 1e-5'" >/dev/null
	REF_F16=$(cq "" "SELECT bert_embed('$CACHE_TEXT', 'f16')")
	REF_NEG=$(cq "" "SELECT bert_embed('$CACHE_TEXT', 'negated')")
}

# the source model file replaced by another model of the same shapes
swap_source() { cp "$CM/negated/model.safetensors" "$1/model.safetensors.new" && mv "$1/model.safetensors.new" "$1/model.safetensors"; }

cache_basic() {
	local o d
	# shared: the copy is used, bit-identical in two new backends
	o=$(close_to f16 "$CD/shared" "$REF_F16")
	expect_eq "cache/f16-shared-copy" "$o $(cache_files "$CD/shared") $(grep -c WARNING "$WORK/qerr")" \
		"true shared cache 1 0" "within 1e-5 of the private copy, weights 'shared cache', one cache file, no WARNING"
	expect_eq "cache/f16-same-bits-in-new-backends" \
		"$(cq "$CD/shared" "SELECT md5(bert_embed('$CACHE_TEXT', 'f16')::text)")" \
		"$(cq "$CD/shared" "SELECT md5(bert_embed('$CACHE_TEXT', 'f16')::text)")"
	if [ "$REF_NEG" = "$REF_F16" ] || [ -z "$REF_NEG" ]; then
		fail "cache/negated-model-differs" "the replacement model gives the same embedding: the stale cases prove nothing"
	fi

	# stale: the source replaced (rename) while no backend holds it
	d=$CD/stale
	close_to stale "$d" "$REF_F16" >/dev/null
	local ino0 ino1
	ino0=$(stat -c %i "$(cache_file "$d")")
	swap_source "$CM/stale"
	cache_fault
	o=$(close_to stale "$d" "$REF_NEG")
	ino1=$(stat -c %i "$(cache_file "$d")")
	if [ "$o" = "true shared cache" ] && [ "$(cache_files "$d")" = 1 ] && [ "$ino0" != "$ino1" ]; then
		pass "cache/stale-source-replaced" "the new model's results; its cache file built again and renamed over the old one (inode $ino0 -> $ino1)"
	else
		fail "cache/stale-source-replaced" "got '$o', $(cache_files "$d") files, inode $ino0 -> $ino1 $(qerr)"
	fi

	# truncated, garbage, one header byte changed: never used, built again
	local size f case
	for case in trunc garbage header; do
		d=$CD/$case
		close_to "$case" "$d" "$REF_F16" >/dev/null
		f=$(cache_file "$d")
		size=$(stat -c %s "$f")
		case $case in
			trunc) truncate -s $((size / 2)) "$f" ;;
			garbage) head -c "$size" /dev/urandom | dd of="$f" conv=notrunc status=none ;;
			header) head -c 16 /dev/urandom | dd of="$f" bs=1 seek=1500 conv=notrunc status=none ;;
		esac
		cache_fault
		o=$(close_to "$case" "$d" "$REF_F16")
		if [ "$o" = "true shared cache" ] && [ "$(stat -c %s "$f")" = "$size" ] &&
			[ "$(head -c 8 "$f")" = BERTPREP ] && [ "$(cache_files "$d")" = 1 ]; then
			pass "cache/$case-cache-file" "correct results; the file was built again ($size bytes, valid magic)"
		else
			fail "cache/$case-cache-file" "got '$o', size $(stat -c %s "$f") (was $size), magic '$(head -c 8 "$f" | tr -cd '[:print:]')' $(qerr)"
		fi
	done
	if [ -z "$SERVER_LOG" ] || [ ! -f "$SERVER_LOG" ]; then
		skip "cache/damage-logged" "no server log at \$CLUSTER_DIR/server.log"
	elif tail -c +$((LOG_START + 1)) "$SERVER_LOG" | grep -q 'rebuilding damaged cache file.*"trunc"'; then
		pass "cache/damage-logged" "the server log says which file was rebuilt"
	else
		fail "cache/damage-logged" "no 'rebuilding damaged cache file' line for model trunc in the server log"
	fi

	# a read-only directory holding a valid file: mapped, no WARNING
	d=$CD/ro
	close_to ro "$d" "$REF_F16" >/dev/null
	chmod 555 "$d"
	o=$(close_to ro "$d" "$REF_F16")
	expect_eq "cache/read-only-dir-with-valid-file" "$o $(grep -c WARNING "$WORK/qerr")" "true shared cache 0" \
		"the existing file is mapped, no WARNING"
	chmod 755 "$d"
}

# faults while one backend holds the model: source replaced, cache file
# truncated or overwritten in place, an unwritable directory, a full disk
cache_script() {
	local lim
	mkdir -p "$WORK/cache-unwritable"
	chmod 555 "$WORK/cache-unwritable"
	st_begin cache
	st_add "SET bert.model_dir = '$CM';"
	st_add "\\set VERBOSITY default"
	st_add "SET bert.cache_dir = '$CD/swap';"
	st_sql swap-0 "SELECT hostile_close(bert_embed('$CACHE_TEXT', 'swap'), '$REF_F16'::real[])"
	st_sh "cp '$CM/negated/model.safetensors' '$CM/swap/model.safetensors.new' && mv '$CM/swap/model.safetensors.new' '$CM/swap/model.safetensors'"
	cache_fault
	st_sql swap-1 "SELECT hostile_close(bert_embed('$CACHE_TEXT', 'swap'), '$REF_NEG'::real[]) || ' ' || (SELECT weights FROM bert_models() WHERE name = 'swap')"

	for m in trunc-cached garbage-cached; do
		st_add "SET bert.cache_dir = '$CD/$m';"
		st_sql "$m-0" "SELECT hostile_close(bert_embed('$CACHE_TEXT', '$m'), '$REF_F16'::real[])"
		if [ "$m" = trunc-cached ]; then
			st_sh "f=\$(find '$CD/$m' -name '*.bert'); truncate -s \$((\$(stat -c %s \$f) / 2)) \$f"
		else
			st_sh "f=\$(find '$CD/$m' -name '*.bert'); head -c \$(stat -c %s \$f) /dev/urandom | dd of=\$f conv=notrunc status=none"
		fi
		cache_fault
		st_sql "$m-1" "SELECT hostile_close(bert_embed('$CACHE_TEXT', '$m'), '$REF_F16'::real[]) || ' ' || (SELECT weights FROM bert_models() WHERE name = '$m')"
	done

	# a directory the server cannot write: one WARNING, private copies
	cache_fault
	st_add "SET bert.cache_dir = '$WORK/cache-unwritable';"
	st_sql unwritable-1 "SELECT hostile_close(bert_embed('$CACHE_TEXT', 'unwritable'), '$REF_F16'::real[]) || ' ' || (SELECT weights FROM bert_models() WHERE name = 'unwritable')"
	st_sql unwritable-2 "SELECT hostile_close(bert_embed('$CACHE_TEXT', 'unwritable'), '$REF_F16'::real[])"

	# a full disk: the backend's file size limit set to 64 kB (PostgreSQL
	# ignores SIGXFSZ: writes fail with EFBIG)
	if command -v prlimit >/dev/null; then
		cache_fault
		lim="prlimit --pid \$(psql -X -At -c \"SELECT pid FROM pg_stat_activity WHERE application_name = 'hostile_cache' AND pid <> pg_backend_pid()\") --fsize=65536"
		[ "$(id -u)" = 0 ] && lim="runuser -u postgres -- $lim"
		st_add "SET bert.cache_dir = '$CD/full';"
		st_sh "$lim"
		st_sql full-1 "SELECT hostile_close(bert_embed('$CACHE_TEXT', 'full'), '$REF_F16'::real[]) || ' ' || (SELECT weights FROM bert_models() WHERE name = 'full')"
	fi

	# the plan file removed while this backend holds an F32 model read in
	# place (no cache file to watch where its measured plan keeps the
	# weights as stored, as on BERT-Mini's shapes on the CPUs measured so
	# far), and measured again by a new backend:
	# this backend reloads the model at its next call and runs the plan the
	# other one wrote, bit for bit (not the one it measured before)
	local plan_q="SELECT md5(bert_embed('$CACHE_TEXT', 'plan32')::text) || ' ' || (SELECT gemm_plan FROM bert_models() WHERE name = 'plan32')"
	st_add "SET bert.cache_dir = '$CD/plan';"
	st_sql plan-0 "$plan_q"
	st_sh "rm -f '$CD/plan'/*.plan && psql -X -At -d '$DB' -c \"SET bert.model_dir = '$CM'\" -c \"SET bert.cache_dir = '$CD/plan'\" -c \"$plan_q\" >'$WORK/plan-other.out'"
	st_sql plan-1 "$plan_q"
	st_sql alive "SELECT 'alive'"
}

cache_check() {
	expect_eq "cache/source-replaced-while-cached" "$(st_out swap-0) $(st_out swap-1) $(cache_files "$CD/swap")" \
		"t true shared cache 1" "the new model's results from its rebuilt copy, one cache file"
	expect_eq "cache/truncated-while-cached" "$(st_out trunc-cached-0) $(st_out trunc-cached-1)" \
		"t true shared cache" "reloaded between calls (the file's size and ctime changed), built again"
	expect_eq "cache/overwritten-in-place-while-cached" "$(st_out garbage-cached-0) $(st_out garbage-cached-1)" \
		"t true shared cache" "reloaded between calls, built again"
	local other plans
	other=$(tail -1 "$WORK/plan-other.out" 2>/dev/null)
	plans=$(find "$CD/plan" -maxdepth 1 -name '*.plan' | wc -l)
	if [ -n "$other" ] && [ "$(st_out plan-1)" = "$other" ] && [ "$plans" = 1 ] &&
		[ "$(st_out plan-0 | cut -d' ' -f2)" = measured ]; then
		pass "cache/plan-file-measured-again" "the held backend reloaded and runs the new plan file's plan, same bits as the new backend ($(cut -c1-110 <<<"$other"))"
	else
		fail "cache/plan-file-measured-again" "held backend before '$(st_out plan-0 | cut -c1-120)', after '$(st_out plan-1 | cut -c1-120)', new backend '$(cut -c1-120 <<<"$other")', $plans plan files $(st_msg plan-1 | head -1)"
	fi
	local warnings
	warnings=$(grep -c "WARNING: .*could not create the prepared weights of model \"unwritable\" in bert.cache_dir: Permission denied" "$ST.err")
	if [ "$(st_out unwritable-1)" = "true private copy" ] && [ "$(st_out unwritable-2)" = t ] &&
		[ "$warnings" = 1 ] && [ "$(grep WARNING "$ST.err" | grep -vc '"full"')" = 1 ] &&
		[ -z "$(ls -A "$WORK/cache-unwritable")" ]; then
		pass "cache/unwritable-dir" "one WARNING ($(grep -m1 WARNING "$ST.err" | sed 's/^psql:[^ ]*: //')), correct results from a private copy, nothing written"
	else
		fail "cache/unwritable-dir" "got '$(st_out unwritable-1)' '$(st_out unwritable-2)', $warnings matching WARNINGs of $(grep -c WARNING "$ST.err"): $(grep WARNING "$ST.err" | head -3 | tr '\n' ' ')"
	fi
	if command -v prlimit >/dev/null; then
		if [ "$(st_out full-1)" = "true private copy" ] && grep -q "WARNING: .*\"full\" in bert.cache_dir: File too large" "$ST.err" &&
			[ "$(temp_files "$CD/full")" = 0 ] && [ "$(cache_files "$CD/full")" = 0 ]; then
			pass "cache/disk-full" "WARNING ($(grep -m1 'File too large' "$ST.err" | sed 's/^psql:[^ ]*: //')), correct results, no file left"
		else
			fail "cache/disk-full" "got '$(st_out full-1)' $(grep 'full' "$ST.err" | head -2 | tr '\n' ' '), $(temp_files "$CD/full") temporary files"
		fi
	else
		skip "cache/disk-full" "no prlimit"
	fi
	expect_eq "cache/session-survived" "$(st_out alive)" "alive"
}

# 8 backends load a model that has no cache file yet, at once: all results
# equal, one file; while all 8 hold it, each one's private memory and its
# share (Pss) of the mapped cache file
cache_concurrent() {
	local d=$CD/conc n=8 i flag=$WORK/conc-release text
	text=$(printf 'word%.0s ' $(seq 1 126))	# 128 tokens with [CLS] and [SEP]
	rm -f "$flag"
	# the barrier: workers wait for a shared advisory lock this session holds
	cat >"$WORK/conc-holder.sql" <<SQL
SELECT pg_advisory_lock(88001);
\\! while [ ! -f '$flag' ]; do sleep 0.05; done
SELECT pg_advisory_unlock(88001);
SQL
	psql -X -At -q -d "$DB" -f "$WORK/conc-holder.sql" >/dev/null 2>&1 &
	local holder=$!
	for _ in $(seq 1 100); do
		[ "$(q "$DB" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 88001 AND granted")" = 1 ] && break
		sleep 0.05
	done
	cat >"$WORK/conc.sql" <<SQL
SET bert.model_dir = '$CM';
SET bert.cache_dir = '$d';
SELECT md5(bert_embed('$text', 'conc')::text) AS md5,
       (SELECT cardinality(bert_token_ids('$text', 'conc'))) AS tokens,
       (SELECT weights FROM bert_models() WHERE name = 'conc') AS weights \\gset
SELECT pg_advisory_lock_shared(88001) AS locked \\gset
WITH s AS (SELECT l, i FROM regexp_split_to_table(pg_read_file('/proc/self/smaps'), E'\\n') WITH ORDINALITY AS t(l, i)),
     n AS (SELECT l, sum(CASE WHEN l ~ '^[0-9a-f]+-[0-9a-f]+ ' THEN 1 ELSE 0 END) OVER (ORDER BY i) AS m FROM s),
     c AS (SELECT DISTINCT m FROM n WHERE l ~ '\\.bert\$')
SELECT :'md5' || ' ' || :'tokens' || ' ' || :'weights' || ' ' ||
       (SELECT sum(substring(l FROM '(\\d+)')::bigint) FROM n WHERE l LIKE 'Private_Dirty:%') || ' ' ||
       (SELECT coalesce(sum(substring(l FROM '(\\d+)')::bigint), 0) FROM n WHERE l LIKE 'Rss:%' AND m IN (SELECT m FROM c)) || ' ' ||
       (SELECT coalesce(sum(substring(l FROM '(\\d+)')::bigint), 0) FROM n WHERE l LIKE 'Pss:%' AND m IN (SELECT m FROM c));
SQL
	cache_fault
	local workers=() deadline alive
	for i in $(seq 1 $n); do
		psql -X -At -q -d "$DB" -f "$WORK/conc.sql" >"$WORK/conc-$i.out" 2>&1 &
		workers+=($!)
	done
	# release once all n wait at the barrier (or one gave up, or after 120 s)
	deadline=$(($(now_ms) + 120000))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		[ "$(q "$DB" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 88001 AND NOT granted")" -ge $n ] && break
		alive=0
		for i in "${workers[@]}"; do kill -0 "$i" 2>/dev/null && alive=$((alive + 1)); done
		[ "$alive" -lt $n ] && break
		sleep 0.05
	done
	touch "$flag"
	wait "${workers[@]}"
	wait "$holder" 2>/dev/null
	local md5s ref worst_pd=0 rss pss lines bad=0
	md5s=$(awk '{print $1}' "$WORK"/conc-*.out | sort -u)
	ref=$(cq "$d" "SELECT md5(bert_embed('$text', 'conc')::text)")
	lines=$(cat "$WORK"/conc-*.out | grep -c ' shared cache ')
	local all_pd=""
	for i in $(seq 1 $n); do
		read -r _ _ _ _ pd rss pss <"$WORK/conc-$i.out" || bad=$((bad + 1))
		[ "${pd:-999999}" -gt "$worst_pd" ] && worst_pd=${pd:-999999}
		all_pd="$all_pd ${pd:-?}"
	done
	if [ "$lines" = $n ] && [ "$(printf '%s\n' "$md5s" | wc -l)" = 1 ] && [ "$md5s" = "$ref" ] &&
		[ "$(cache_files "$d")" = 1 ] && [ "$(temp_files "$d")" = 0 ]; then
		pass "cache/concurrent-first-loads" "$n backends at once: one result (= a later backend's, bit for bit), one cache file of $(($(stat -c %s "$(cache_file "$d")") / 1024 / 1024)) MB, no temporary file"
	else
		fail "cache/concurrent-first-loads" "$lines of $n answered from the shared copy, $(printf '%s\n' "$md5s" | wc -l) distinct results (later backend: $ref), $(cache_files "$d") cache files, $(temp_files "$d") temporary: $(head -c 300 "$WORK/conc-1.out")"
	fi
	# the copy is shared: while the 8 hold it, each one's Pss of the file is
	# a fraction of its Rss
	read -r _ _ _ _ _ rss pss <"$WORK/conc-1.out"
	if [ -n "$rss" ] && [ "$rss" -gt 0 ] && [ "$((pss * 2))" -lt "$rss" ]; then
		pass "cache/one-copy-for-8-backends" "each backend maps ${rss} kB of the cache file; its proportional share (Pss) is ${pss} kB"
	else
		fail "cache/one-copy-for-8-backends" "Rss '$rss' kB, Pss '$pss' kB of the cache file in one of the 8 backends"
	fi
	if [ "$bad" = 0 ] && [ "$worst_pd" -le 15360 ]; then
		pass "cache/private-memory-f16" "bert-mini-embed (F16), 128-token call: Private_Dirty at most $worst_pd kB per backend (target 15 MB; all:$all_pd)"
	else
		fail "cache/private-memory-f16" "Private_Dirty $worst_pd kB (target 15360 kB; all:$all_pd), $bad unreadable outputs"
	fi
	# for comparison: the private copy
	local priv
	priv=$(cq "" "SELECT bert_embed('$text', 'conc') IS NOT NULL;
	              SELECT sum(substring(l FROM '(\\d+)')::bigint)
	              FROM regexp_split_to_table(pg_read_file('/proc/self/smaps'), E'\\n') l WHERE l LIKE 'Private_Dirty:%'" | tail -1)
	echo "     for comparison, bert.cache_dir = '' (private copy): Private_Dirty $priv kB"
}

# the cache file truncated during a long call: SIGBUS on its mapping is
# caught; the call fails, the next one rebuilds and works
cache_sigbus() {
	local d=$CD/sigbus f=$WORK/cache-mid marker=hostile-cache-mid-$RANDOM out
	if [ ! -f "$CM/long16/model.safetensors" ]; then
		fail "cache/truncated-during-call" "could not build the long F16 model"
		return
	fi
	cat >"$f.sql" <<SQL
SET bert.model_dir = '$CM';
SET bert.cache_dir = '$d';
SET bert.max_length = 4096;
SELECT bert_embed('warm', 'long16') IS NOT NULL;
SELECT /*$marker*/ array_length(bert_embed(repeat('word ', 4096), 'long16'), 1);
SELECT 'next ' || array_length(bert_embed('warm', 'long16'), 1) || ' ' || (SELECT weights FROM bert_models() WHERE name = 'long16');
SQL
	PGAPPNAME=hostile_cache_mid psql -X -At -q -d "$DB" -f "$f.sql" >"$f.out" 2>&1 &
	local bg=$!
	for _ in $(seq 1 600); do
		[ "$(q "$DB" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hostile_cache_mid' AND state = 'active' AND query LIKE '%$marker%' AND pid <> pg_backend_pid()")" = 1 ] && break
		sleep 0.05
	done
	sleep 0.3
	cache_fault
	truncate -s $(($(stat -c %s "$(cache_file "$d")") / 2)) "$(cache_file "$d")"
	wait $bg
	out=$(grep -v '^t$' "$f.out" | sed 's/^psql:[^ ]*: //' | tr '\n' ' ')
	if grep -q "server closed the connection unexpectedly\|connection to server was lost" "$f.out"; then
		fail "cache/truncated-during-call" "BACKEND CRASH: $out"
		for _ in $(seq 1 120); do
			psql -X -At -d "$DB" -c "SELECT 1" >/dev/null 2>&1 && break
			sleep 0.5
		done
	elif printf '%s' "$out" | grep -q 'ERROR: *cache file of model "long16" changed while in use.*next 256 shared cache'; then
		pass "cache/truncated-during-call" "the call fails cleanly (SIGBUS on the cache mapping caught), the next call rebuilds: $(printf '%s' "$out" | cut -c1-110)"
	elif printf '%s' "$out" | grep -q '^256 next 256 shared cache'; then
		skip "cache/truncated-during-call" "the call ended before the file was cut (machine too slow or too fast)"
	else
		fail "cache/truncated-during-call" "got: $out"
	fi
}

group_cache() {
	group_begin cache
	cache_setup
	if [ -z "$REF_F16" ] || [ -z "$REF_NEG" ]; then
		fail "cache/setup" "no reference embeddings: $(qerr)"
		GROUP_SUMMARY="setup failed"
		return
	fi
	cache_basic
	cache_script
	PGAPPNAME=hostile_cache st_run "$DB"
	cache_check
	cache_concurrent
	cache_sigbus
	GROUP_SUMMARY="$CACHE_FAULTS faults injected, $GROUP_CASES checks, $GROUP_FAILED failed"
}
