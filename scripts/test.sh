#!/bin/sh
# The whole test suite: build and `make check` in build/, then the same suite
# again under AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/.
# Logs: build/test-suite.log, build/tests/*.log (and the same under build-asan/).
set -e
cd "$(dirname "$0")/.."
[ -x configure ] || ./autogen.sh
jobs=$(nproc 2>/dev/null || echo 2)

mkdir -p build
(cd build && ../configure -q && make -s -j"$jobs" && make -s -j"$jobs" check)

if [ "${HOIST_SKIP_ASAN:-0}" != 1 ]; then
  mkdir -p build-asan
  san='-fsanitize=address,undefined -fno-sanitize-recover=undefined'
  (cd build-asan && ../configure -q CFLAGS="-g -O1 -fno-omit-frame-pointer $san" \
      LDFLAGS="$san" &&
   make -s -j"$jobs" &&
   ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
   make -s -j"$jobs" check)
fi
