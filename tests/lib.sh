# lib.sh - TAP helpers for the shell tests.  Source it, call plan N (or
# plan_lazy and done_testing), then ok/not_ok/skip_all.
_tap_n=0
_tap_fail=0
plan() { echo "1..$1"; }
ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1)); echo "not ok $_tap_n - $*"; }
# check DESCRIPTION COMMAND...: ok if COMMAND succeeds.
check() { _d=$1; shift; if "$@"; then ok "$_d"; else not_ok "$_d"; fi; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
diag() { echo "# $*"; }
done_testing() { echo "1..$_tap_n"; [ "$_tap_fail" -eq 0 ]; }
: "${HOIST:?run through make check (HOIST is set there)}"
# local_app_pid STATE_DIR APP: pid of the local provider's first serving
# instance of APP (instances are numbered; serving.json says which serve).
local_app_pid() {
    _id=$(tr -d ' \n' < "$1/apps/$2/serving.json" 2>/dev/null |
        sed -n 's/.*"instances":\[\([0-9]*\).*/\1/p')
    [ -n "$_id" ] && cat "$1/apps/$2/inst-$_id/app.pid" 2>/dev/null
}
