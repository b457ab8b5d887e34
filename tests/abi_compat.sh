#!/bin/sh
# abi_compat.sh - a driver built against the OLD provider ABI 1.2 headers
# (tests/abi/1.2/hoist/*.h, the SDK as it was before 1.3) still loads and
# runs with this core: the in-tree null driver, compiled out of tree against
# them, plans, deploys, reports its (static) status_text, and destroys.  The
# 1.2 descriptor ends before ABI 1.3's settings member, so its keys are left
# unchecked (a -v note says so) while typos of hoist's own keys still fail;
# the same source built against this SDK gets its keys checked and reports
# progress through host->progress.
. "$HOIST_SRCDIR/tests/lib.sh"

old=$HOIST_SRCDIR/tests/abi/1.2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-abi-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err
q="'"
run() { "$HOIST" "$@" >"$out" 2>"$err"; rc=$?; }
hasF() { grep -qF -- "$1" "$2"; }
expect() { if eval "$2"; then ok "$1"; else not_ok "$1"; sed 's/^/#   /' "$err" | tail -n 15; fi; }

expect "the kept 1.2 header declares ABI 1.2 and has no 1.3 member" \
    'grep -q "^#define HOIST_ABI_MINOR 2$" "$old/hoist/provider.h" &&
     ! grep -q "progress" "$old/hoist/host.h" && ! grep -q "hoist_setting" "$old/hoist/provider.h"'

# Out of tree, as a third party would: the old headers, jansson, nothing of
# hoist's.  Built with hoist's CFLAGS so the sanitizer pass instruments it too.
drivers=$tmp/drivers
mkdir -m 700 "$drivers"
cc=${HOIST_CC:-cc}
jflags=$(pkg-config --cflags jansson 2>/dev/null)
jlibs=$(pkg-config --libs jansson 2>/dev/null || echo -ljansson)
# hoist/kit.h is compiled into the driver and is not part of the ABI: give the
# old build today's kit alone, so provider.h and host.h still come from 1.2.
mkdir -p "$tmp/kit/hoist"
cp "$HOIST_SRCDIR/plugins-api/hoist/kit.h" "$tmp/kit/hoist/"
# shellcheck disable=SC2086 # flag lists
if $cc ${HOIST_CFLAGS:--g -O2} -fPIC -shared -fvisibility=hidden -I"$old" -I"$tmp/kit" $jflags \
       -o "$drivers/null.so" "$HOIST_SRCDIR/providers/null/null.c" ${HOIST_LDFLAGS:-} $jlibs >"$err" 2>&1; then
    ok "null.c builds against the 1.2 headers"
else
    not_ok "null.c builds against the 1.2 headers"; sed 's/^/#   /' "$err"
    done_testing
    exit 1
fi
HOIST_PROVIDER_PATH=$drivers
export HOIST_PROVIDER_PATH

run providers
expect "hoist providers loads it and shows ABI 1.2" \
    '[ "$rc" = 0 ] && grep -q "^null  *1.0.0  *1\.2  *$drivers/null.so" "$out"'

mkdir "$tmp/proj" "$tmp/cloud"
chmod 700 "$tmp/cloud"
cat >"$tmp/proj/hoist.yml" <<YML
project: compat
environments:
  dev:
    provider: "null"
    dir: $tmp/cloud
    polls: 1
    not_a_null_setting: 1
databases:
  - { name: main, engine: postgresql }
YML
cd "$tmp/proj" || exit 1

run validate -v
expect "validate: a 1.2 driver's keys pass, with a -v note naming them and the reason" \
    '[ "$rc" = 0 ] && hasF "note: settings of environment ${q}dev${q} (dir, polls, not_a_null_setting) not checked: driver ${q}null${q} was built against provider ABI 1.2, which has no settings schema" "$err"'
run validate
expect "validate without -v: no note" '[ "$rc" = 0 ] && ! hasF "note:" "$err"'

sed 's/^    polls: 1$/    polls: 1\n    protectd: true/' hoist.yml >bad.yml
run validate -f bad.yml
expect "a misspelt protected is an error even with a 1.2 driver" \
    '[ "$rc" = 2 ] && hasF "bad.yml:7:5: error: unknown key ${q}protectd${q} in environment ${q}dev${q}; did you mean ${q}protected${q}?" "$err"'

run plan -e dev
expect "plan -e dev with the 1.2 driver" '[ "$rc" = 0 ] && hasF "database/main" "$out"'
run deploy -e dev --yes -v -o json
expect "deploy -e dev with the 1.2 driver" \
    '[ "$rc" = 0 ] && hasF "\"created\":2" "$out"'
expect "its status_text (deprecated, static) is still shown while pending" \
    'hasF "\"phase\":\"ensure\",\"status\":\"creating\"" "$out"'
expect "the 1.2 driver created the database in its cloud" \
    'ls "$tmp/cloud" | grep -q "^database"'
run status -e dev
expect "status -e dev with the 1.2 driver" '[ "$rc" = 0 ]'
run destroy -e dev --yes
expect "destroy -e dev with the 1.2 driver" '[ "$rc" = 0 ] && hasF "2 destroyed" "$out"'
expect "destroy left its cloud without objects" \
    '! ls "$tmp/cloud" | grep -q "\.json$"'

# The same source against this SDK (the build tree's null): keys checked,
# progress copied from the driver's stack.
HOIST_PROVIDER_PATH=$HOIST_MODDIR/providers/null
run validate
expect "built against 1.3, the same driver's schema rejects the unknown key" \
    '[ "$rc" = 2 ] && hasF "hoist.yml:7:5: error: unknown key ${q}not_a_null_setting${q} in environment ${q}dev${q}" "$err"'
grep -v not_a_null_setting hoist.yml >h13.yml
run deploy -f h13.yml -e dev --yes -v -o json
expect "built against 1.3, deploy shows its host->progress text" \
    '[ "$rc" = 0 ] && hasF "\"status\":\"creating (0 more polls)\"" "$out"'
run destroy -f h13.yml -e dev --yes
expect "built against 1.3, destroy" '[ "$rc" = 0 ]'

done_testing
