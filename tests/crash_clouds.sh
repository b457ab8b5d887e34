#!/bin/sh
# crash_clouds.sh - the make check share of tests/crash_storm.sh: a few
# seeded trials per cloud driver (HOIST_CRASH_CLOUD_TRIALS, default 5;
# HOIST_CRASH_CLOUD_SEED, default 3).  Run crash_storm.sh by hand for 100+.
. "$HOIST_SRCDIR/tests/lib.sh"
TRIALS=${HOIST_CRASH_CLOUD_TRIALS:-5}
SEED=${HOIST_CRASH_CLOUD_SEED:-3}
for d in aws digitalocean scaleway; do
    # Re-number the storm's TAP into this script's own.
    "$HOIST_SRCDIR/tests/crash_storm.sh" "$d" "$TRIALS" "$SEED" 2>&1 | while IFS= read -r line; do
        case $line in
        "ok "*) echo "OK ${line#ok [0-9]* - }" ;;
        "not ok "*) echo "NOTOK ${line#not ok [0-9]* - }" ;;
        "1..0 # SKIP"*) echo "DIAG $d: ${line#1..0 # }" ;;
        "#"*) echo "DIAG ${line#\# }" ;;
        esac
    done
done >"${TMPDIR:-/tmp}/crash_clouds.$$"
while IFS= read -r line; do
    case $line in
    "OK "*) ok "${line#OK }" ;;
    "NOTOK "*) not_ok "${line#NOTOK }" ;;
    "DIAG "*) diag "${line#DIAG }" ;;
    esac
done <"${TMPDIR:-/tmp}/crash_clouds.$$"
rm -f "${TMPDIR:-/tmp}/crash_clouds.$$"
[ "$_tap_n" -gt 0 ] || skip_all "crash_storm.sh ran no trial (see the diagnostics)"
done_testing
