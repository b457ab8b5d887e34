#!/bin/sh
# check-fresh-tree.sh [TEST...] - the README's two commands on a tree made
# the way a new user gets one: `git archive HEAD | tar -x`, every directory
# group-writable (0775, as tar leaves them when root unpacks git's archive).
# Runs the build part of the README's first command (taken from README.md,
# so the two cannot drift; no install, no deploy), then its second command,
# scripts/test.sh.  TEST... limits the suite to those tests (names as in
# tests/*.mk), e.g.: scripts/check-fresh-tree.sh tests/check_loader tests/cli.sh
# HOIST_SKIP_ASAN=1 skips the sanitizer pass as in test.sh.  Exit status is
# test.sh's; the tree is left in $TMPDIR for its logs only on failure.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
tree=$(mktemp -d "${TMPDIR:-/tmp}/hoist-fresh-XXXXXX")

git -C "$top" archive --format=tar HEAD | tar -x -C "$tree"
# A non-root tar drops the group write bit git's archive carries; put it back.
find "$tree" -type d -exec chmod 0775 {} +

# "./autogen.sh && ... && make -j..." from the README's first command.
build=$(sed -n 's|^\./scripts/install-deps\.sh && \(\./autogen\.sh && .*\) && make install && .*|\1|p' \
        "$top/README.md")
if [ -z "$build" ]; then
  echo "check-fresh-tree.sh: cannot find the README's first command in $top/README.md" >&2
  exit 2
fi
echo "check-fresh-tree.sh: in $tree: $build" >&2
# As a user whose umask lets the group write: build/ and its module
# directories are then 0775 as well.
umask 002
status=0
(cd "$tree" && HOME=$tree/home && export HOME && eval "$build" >/dev/null) || status=$?
if [ "$status" = 0 ]; then
  echo "check-fresh-tree.sh: in $tree: ./scripts/test.sh${*:+ (TESTS=$*)}" >&2
  (cd "$tree" && TESTS="$*" ./scripts/test.sh) || status=$?
fi
if [ "$status" = 0 ]; then
  rm -rf "$tree"
  echo "check-fresh-tree.sh: passed" >&2
else
  echo "check-fresh-tree.sh: failed (exit $status); logs in $tree/build*/tests/" >&2
fi
exit "$status"
