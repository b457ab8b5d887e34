#!/bin/sh
# The whole test suite: build and `make check` in build/, then the suites
# that start threads under ThreadSanitizer in build-tsan/, then the whole
# suite again under AddressSanitizer + UndefinedBehaviorSanitizer in
# build-asan/.  HOIST_SKIP_TSAN=1 / HOIST_SKIP_ASAN=1 skip a sanitizer pass.
# Logs: build/test-suite.log, build/tests/*.log (and the same under
# build-tsan/ and build-asan/).
# TESTS="tests/cli.sh tests/check_loader" runs only those tests in the normal
# and ASan passes.
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

# sanitized DIR FLAGS OPTIONS [MAKE-ARGS...]: configure and build in DIR
# with the sanitizer FLAGS, then `make check MAKE-ARGS` with OPTIONS (the
# sanitizer's NAME=VALUE settings) in the environment.
sanitized() {
  dir=$1 flags=$2 opts=$3
  shift 3
  mkdir -p "$dir"
  # shellcheck disable=SC2086 # $opts is NAME=VALUE words
  (cd "$dir" && ../configure -q CFLAGS="-g -O1 -fno-omit-frame-pointer $flags" \
      LDFLAGS="$flags" &&
   make -s -j"$jobs" &&
   env $opts make -s -j"$jobs" check "$@")
}

# The suites whose code runs on several threads: the run executor's workers
# and supervisor, plan's parallel observers, the HTTP layer against threaded
# test servers, S3 lease renewal, the conformance checker's parallel calls,
# and the CLI's deploy with its SIGINT flag.  Any report is an error
# (halt_on_error; TSan's exit code 66 fails the test).
if [ "${HOIST_SKIP_TSAN:-0}" != 1 ]; then
  sanitized build-tsan '-fsanitize=thread' \
      'TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1' \
      TESTS="tests/check_run tests/check_graph tests/check_state tests/check_http \
tests/check_state_s3 tests/check_kube tests/check_conformance tests/pipeline_cli.sh"
fi

if [ "${HOIST_SKIP_ASAN:-0}" != 1 ]; then
  sanitized build-asan '-fsanitize=address,undefined -fno-sanitize-recover=undefined' \
      'ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1' \
      ${TESTS:+TESTS="$TESTS"}
fi
