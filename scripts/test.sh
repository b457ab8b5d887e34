#!/bin/sh
# The whole test suite: build and `make check` in build/, then the same suite
# again under AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/.
# Logs: build/test-suite.log, build/tests/*.log (and the same under build-asan/).
# TESTS="tests/cli.sh tests/check_loader" runs only those tests in both passes.
set -e
cd "$(dirname "$0")/.."
[ -x configure ] || ./autogen.sh
jobs=$(nproc 2>/dev/null || echo 2)
if [ -f config.status ]; then
  echo "scripts/test.sh: this source tree was configured in place (./configure), so autoconf" \
       "refuses to build it again in build/; run 'make distclean' here, then build in" \
       "build/ as the README's first command does" >&2
  exit 2
fi

# build/ keeps the options the README's first command configured it with (--prefix).
mkdir -p build
(cd build && { [ -f config.status ] || ../configure -q; } && make -s -j"$jobs" &&
 make -s -j"$jobs" check ${TESTS:+TESTS="$TESTS"})

if [ "${HOIST_SKIP_ASAN:-0}" != 1 ]; then
  mkdir -p build-asan
  san='-fsanitize=address,undefined -fno-sanitize-recover=undefined'
  (cd build-asan && ../configure -q CFLAGS="-g -O1 -fno-omit-frame-pointer $san" \
      LDFLAGS="$san" &&
   make -s -j"$jobs" &&
   ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
   make -s -j"$jobs" check ${TESTS:+TESTS="$TESTS"})
fi
