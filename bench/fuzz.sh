#!/bin/sh
# fuzz.sh - build the fuzz targets (tests/fuzz/fuzz_*.c) with clang's
# libFuzzer + ASan + UBSan in a temporary directory (outside the automake
# tree), fuzz each for SECONDS (default 60), and print executions and crashes
# per target.  Crash inputs are kept in the work directory (printed) so they
# can be fixed and added to tests/fuzz/corpus/<target>/.
#
# Usage: bench/fuzz.sh [SECONDS] [TARGET...]
# Needs: clang-14 (or $CC) with compiler-rt's libFuzzer (libclang-rt-14-dev).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
CC=${CC:-clang-14}
jobs=$(nproc 2>/dev/null || echo 2)
command -v "$CC" >/dev/null || { echo "fuzz.sh: $CC not found (apt-get install clang-14)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hoist-fuzz.XXXXXX")
echo "work directory: $work"
[ -x "$src/configure" ] || (cd "$src" && ./autogen.sh >/dev/null)

# libhoist, statically, instrumented for coverage but without libFuzzer's main.
san='-fsanitize=address,undefined -fno-sanitize-recover=undefined'
mkdir -p "$work/build"
(cd "$work/build" &&
 "$src/configure" -q --disable-shared CC="$CC" \
     CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $san" LDFLAGS="$san" &&
 make -s -j"$jobs" libhoist.la) >"$work/build.log" 2>&1 || {
    echo "fuzz.sh: building libhoist failed; see $work/build.log" >&2; exit 1; }

libs="$work/build/.libs/libhoist.a $(pkg-config --libs jansson yaml-0.1 libcurl libcrypto libssl \
      libxml-2.0 libarchive zlib) -lltdl -lpthread"
targets=${*:-$(cd "$src/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}
printf '%-10s %12s %10s %8s %s\n' TARGET EXECUTIONS EXEC/S CRASHES CORPUS
total_crash=0
for t in $targets; do
    "$CC" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer $san \
        -I"$work/build" -I"$src/plugins-api" -I"$src/libhoist" $(pkg-config --cflags jansson) \
        "$src/tests/fuzz/fuzz_$t.c" $libs -o "$work/fuzz_$t" 2>>"$work/build.log" || {
        echo "fuzz.sh: building fuzz_$t failed; see $work/build.log" >&2; exit 1; }
    # Seeds are copied: libFuzzer writes new inputs into its first corpus dir.
    mkdir -p "$work/corpus_$t" "$work/crash_$t"
    cp "$src/tests/fuzz/corpus/$t/"* "$work/corpus_$t/" 2>/dev/null || true
    # -fork keeps going after a crash so one bug does not hide the rest.
    (cd "$work/crash_$t" &&
     ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
     "$work/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
         -fork=1 -ignore_crashes=1 -artifact_prefix="$work/crash_$t/" \
         "$work/corpus_$t" >"$work/fuzz_$t.log" 2>&1) || true
    execs=$(grep -Eo 'execs: [0-9]+|stat::number_of_executed_units: *[0-9]+' "$work/fuzz_$t.log" |
            grep -Eo '[0-9]+$' | tail -1)
    [ -n "$execs" ] || execs=$(grep -Eo '#[0-9]+' "$work/fuzz_$t.log" | tr -d '#' | sort -n | tail -1)
    crashes=$(ls "$work/crash_$t" | grep -c -E '^(crash|leak|timeout|oom)-' || true)
    total_crash=$((total_crash + crashes))
    printf '%-10s %12s %10s %8s %s\n' "$t" "${execs:-?}" "$(( ${execs:-0} / secs ))" "$crashes" \
        "$(ls "$work/corpus_$t" | wc -l)"
done
echo "total crashes: $total_crash (inputs under $work/crash_*/; logs $work/fuzz_*.log)"
