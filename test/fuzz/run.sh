#!/usr/bin/env bash
# Fuzzing suite: libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer on
# the parsers of model files (src/safetensors.c, src/json.c, src/config.c)
# and on the tokenizer (src/tokenizer.c, src/decoder.c).
#
#   bash test/fuzz/run.sh
#
# For each target (safetensors, json, tokenizer, vocab) it runs every file of
# the committed corpus test/fuzz/corpus/<target>/ once (regression), then
# fuzzes for FUZZ_SECONDS seconds on a scratch copy of that corpus (the
# committed corpus never grows), and prints the number of executions.  Ends
# with the line "fuzz: N passed, M failed" (N, M: targets) and exits non-zero
# when any target crashed, failed a sanitizer or a harness check; the
# report and the path of the crashing input (kept, with the scratch folder)
# are printed.
#
# Needs clang-14 with libFuzzer (Debian: clang-14 libclang-rt-14-dev),
# pg_config with the server headers, libpgcommon.a and libpgport.a, and
# libutf8proc.  Installs nothing.  The tokenizer target uses the vocabulary
# of ../shared/models/bert-mini-sentiment beside the checkout, or the
# committed sample vocabulary when ../shared is absent.
#
# Environment:
#   FUZZ_SECONDS   seconds of fuzzing per target (default 30; 0: regression only)
#   FUZZ_TARGETS   targets to run (default "safetensors json tokenizer vocab")
#   FUZZ_CC        compiler (default clang-14, else clang)
#   FUZZ_SEED      libFuzzer -seed (default: random; printed in the log)
#   FUZZ_CFLAGS    extra compiler flags
#   KEEP=1         keep the scratch folder (it is always kept after a failure)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=$ROOT/../shared
SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
TARGETS=${FUZZ_TARGETS:-safetensors json tokenizer vocab}
read -r -a TARGET_LIST <<<"$TARGETS"

passed=0
failed=0
WORK=
cleanup() {
	[ -n "$WORK" ] && [ -d "$WORK" ] || return 0
	if [ "${KEEP:-0}" = 1 ] || [ "$failed" -gt 0 ]; then
		echo "scratch kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
# the verdict is the last line printed
finish() {
	trap - EXIT
	cleanup
	echo "fuzz: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}
fail_all() {
	echo "$1" >&2
	failed=${#TARGET_LIST[@]}
	finish
}

case "$SECONDS_PER_TARGET" in
	'' | *[!0-9]*) fail_all "FUZZ_SECONDS must be a whole number of seconds, not '$SECONDS_PER_TARGET'" ;;
esac
for t in "${TARGET_LIST[@]}"; do
	case "$t" in
		safetensors | json | tokenizer | vocab) ;;
		*) fail_all "unknown fuzz target '$t' (known: safetensors json tokenizer vocab)" ;;
	esac
done

# --- tools -------------------------------------------------------------------
CC=${FUZZ_CC:-}
if [ -z "$CC" ]; then
	if command -v clang-14 >/dev/null; then CC=clang-14
	elif command -v clang >/dev/null; then CC=clang
	fi
fi
if [ -z "$CC" ] || ! command -v "$CC" >/dev/null; then
	fail_all "fuzz: no clang found (test/install_deps.sh must install clang-14 libclang-rt-14-dev)"
fi
if ! command -v pg_config >/dev/null; then
	fail_all "fuzz: pg_config not found (postgresql-server-dev-15)"
fi
INC=$(pg_config --includedir-server)
PGLIB=$(pg_config --pkglibdir)
[ -f "$PGLIB/libpgcommon.a" ] || PGLIB=$(pg_config --libdir)
# a symbolizer gives file:line in sanitizer reports
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
	for s in "$(dirname "$(readlink -f "$(command -v "$CC")")")/llvm-symbolizer" \
		/usr/lib/llvm-14/bin/llvm-symbolizer "$(command -v llvm-symbolizer-14 || true)" \
		"$(command -v llvm-symbolizer || true)"; do
		if [ -n "$s" ] && [ -x "$s" ]; then
			export ASAN_SYMBOLIZER_PATH=$s
			break
		fi
	done
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bert-fuzz.XXXXXX")

# --- build -------------------------------------------------------------------
echo "== building the fuzz targets with $CC ($("$CC" --version | head -n 1))"
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
COMMON=(-std=gnu99 -g -O1 -DBERT_STANDALONE -Wall -Wextra -Wno-ignored-attributes
	-I"$INC" -I"$ROOT/src" -I"$HERE")
read -r -a EXTRA_CFLAGS <<<"${FUZZ_CFLAGS:-}"
COMMON+=("${EXTRA_CFLAGS[@]}")
LIBS=("$PGLIB/libpgcommon.a" "$PGLIB/libpgport.a" -lutf8proc -lm)
mkdir -p "$WORK/obj"
build_log=$WORK/build.log
build_ok=1
# the code under test gets coverage instrumentation; the allocator and shims not
for f in json safetensors config tokenizer decoder; do
	"$CC" "${COMMON[@]}" "${SAN[@]}" -fsanitize=fuzzer-no-link \
		-c "$ROOT/src/$f.c" -o "$WORK/obj/$f.o" >>"$build_log" 2>&1 || build_ok=0
done
for f in fuzz_palloc fuzz_shims; do
	"$CC" "${COMMON[@]}" "${SAN[@]}" -c "$HERE/$f.c" -o "$WORK/obj/$f.o" >>"$build_log" 2>&1 || build_ok=0
done
if [ "$build_ok" = 1 ]; then
	for t in "${TARGET_LIST[@]}"; do
		"$CC" "${COMMON[@]}" "${SAN[@]}" -fsanitize=fuzzer "-DFUZZ_TARGET_${t^^}" \
			"$HERE/fuzz_targets.c" "$WORK"/obj/*.o "${LIBS[@]}" -o "$WORK/fuzz_$t" \
			>>"$build_log" 2>&1 || build_ok=0
	done
fi
if [ "$build_ok" != 1 ]; then
	grep -E "error|undefined reference" "$build_log" | head -n 40 >&2
	fail_all "fuzz: build failed (full log: $build_log)"
fi
if grep -q "warning:" "$build_log"; then
	echo "build warnings:"
	grep -A3 "warning:" "$build_log" | head -n 40
fi

# --- targets -----------------------------------------------------------------
VOCAB=$SHARED/models/bert-mini-sentiment/vocab.txt
if [ ! -f "$VOCAB" ]; then
	VOCAB=$HERE/corpus/vocab/seed-copy_bert_sample.txt
	echo "note: $SHARED not found; the tokenizer target uses the sample vocabulary $VOCAB"
fi
export BERT_FUZZ_VOCAB=$VOCAB
# palloc'd memory is freed per input by fuzz_palloc.c; leak reports would only
# name libFuzzer's own allocations
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

max_len_of() {
	case "$1" in
		safetensors) echo 65536 ;;
		json) echo 16384 ;;
		tokenizer) echo 4096 ;;
		vocab) echo 8192 ;;
	esac
}

# Prints the sanitizer / check report of a libFuzzer log, without the
# progress lines.
print_report() {
	grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED|RELOAD|DONE)|^INFO: |^Running: |^Executed ' "$1" |
		grep -v -E '^[[:space:]]*$' | head -n 80 | sed 's/^/    /'
}

# Shows a crashing input: path, size, the first bytes.
print_input() {
	local f=$1
	echo "  crashing input: $f ($(wc -c <"$f") bytes)"
	od -A d -t x1z -v "$f" | head -n 8 | sed 's/^/    /'
}

for t in "${TARGET_LIST[@]}"; do
	bin=$WORK/fuzz_$t
	corpus=$HERE/corpus/$t
	max_len=$(max_len_of "$t")
	dict=()
	[ -f "$HERE/dict/$t.dict" ] && dict=(-dict="$HERE/dict/$t.dict")
	seed=()
	[ -n "${FUZZ_SEED:-}" ] && seed=(-seed="$FUZZ_SEED")
	ok=1
	echo "== $t"

	# regression: every committed file once, whole (no -max_len truncation)
	files=()
	if [ -d "$corpus" ]; then
		while IFS= read -r -d '' f; do files+=("$f"); done \
			< <(find "$corpus" -maxdepth 1 -type f -print0 | sort -z)
	fi
	# (after a failing file, the files after it are run again, so that every
	# failing file is reported)
	rest=("${files[@]}")
	round=0
	bad_files=0
	while [ ${#rest[@]} -gt 0 ]; do
		round=$((round + 1))
		log=$WORK/$t.regression.$round.log
		if timeout 600 "$bin" -timeout=10 -rss_limit_mb=1024 "${rest[@]}" >"$log" 2>&1; then
			break
		fi
		ok=0
		bad_files=$((bad_files + 1))
		culprit=$(grep -E '^Running: ' "$log" | tail -n 1 | sed 's/^Running: //')
		echo "  regression: FAILED on a committed corpus file"
		[ -n "$culprit" ] && print_input "$culprit"
		print_report "$log"
		# drop the files up to and including the culprit
		next=()
		seen=0
		for f in "${rest[@]}"; do
			[ "$seen" = 1 ] && next+=("$f")
			[ "$f" = "$culprit" ] && seen=1
		done
		[ "$seen" = 1 ] || break	# no culprit named: stop
		rest=("${next[@]}")
	done
	if [ ${#files[@]} -gt 0 ]; then
		echo "  regression: ${#files[@]} corpus files, $bad_files failing"
	fi

	# fuzzing on a scratch copy of the corpus
	if [ "$SECONDS_PER_TARGET" -gt 0 ]; then
		work_corpus=$WORK/corpus_$t
		artifacts=$WORK/artifacts_$t
		mkdir -p "$work_corpus" "$artifacts"
		# the crash-* reproducers are run above; leaving them out lets the
		# fuzzer look for other defects while they are still open
		for f in "${files[@]}"; do
			case "$(basename "$f")" in crash-*) ;; *) cp "$f" "$work_corpus/" ;; esac
		done
		log=$WORK/$t.fuzz.log
		timeout $((SECONDS_PER_TARGET * 2 + 300)) "$bin" \
			-max_total_time="$SECONDS_PER_TARGET" -max_len="$max_len" -timeout=10 \
			-rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$artifacts/" \
			"${dict[@]}" "${seed[@]}" "$work_corpus" >"$log" 2>&1
		rc=$?
		execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log" | tail -n 1)
		rate=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$log" | tail -n 1)
		rss=$(sed -n 's/^stat::peak_rss_mb:[[:space:]]*//p' "$log" | tail -n 1)
		cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -n 1)
		used_seed=$(sed -n 's/^INFO: Seed: //p' "$log" | head -n 1)
		if [ "$rc" -eq 0 ]; then
			echo "  fuzzing: ${execs:-?} executions in ${SECONDS_PER_TARGET}s (${rate:-?}/s, peak RSS ${rss:-?} MB, $cov, seed $used_seed)"
		else
			ok=0
			echo "  fuzzing: FAILED (exit $rc) after ${execs:-?} executions (seed $used_seed)"
			found=0
			for f in "$artifacts"/*; do
				[ -f "$f" ] || continue
				print_input "$f"
				found=1
			done
			[ "$found" = 1 ] || echo "  (no crashing input saved; $rc = timeout of the whole run?)"
			print_report "$log"
			echo "  reproduce: BERT_FUZZ_VOCAB=$BERT_FUZZ_VOCAB $bin <input>   (log: $log)"
		fi
	fi

	if [ "$ok" = 1 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done

finish
