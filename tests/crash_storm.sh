#!/bin/sh
# crash_storm.sh DRIVER [TRIALS] [SEED] - SIGKILL `hoist deploy` and `hoist
# destroy` of a cloud driver (aws, digitalocean, scaleway) against hoist-sim
# at seeded random instants, then re-run each until it succeeds.  Every trial
# must converge, hoist-sim's creation log must show every object created
# once (the simulator is reset between trials), and nothing may be left in
# the simulator after destroy.
#   TRIALS  default 100 (HOIST_STORM_TRIALS); SEED default 1 (HOIST_STORM_SEED)
# By hand from the source tree, after building in ./build:
#   tests/crash_storm.sh scaleway 100 7
# The environment is the richest shape this tree deploys cleanly on the
# driver (see storm_shape in storm_lib.sh); the shape is printed.
. "$(dirname "$0")/storm_lib.sh"
storm_driver "${1:?usage: crash_storm.sh DRIVER [TRIALS] [SEED]}" || exit 2
TRIALS=${2:-${HOIST_STORM_TRIALS:-100}}
SEED=${3:-${HOIST_STORM_SEED:-1}}
storm_sim_start || { echo "1..1"; not_ok "hoist-sim starts"; exit 1; }

storm_shape || { echo "1..1"; not_ok "$DRIVER: no environment shape deploys cleanly: $SHAPE_WHY"; exit 1; }
EXPECTED=$(storm_expected $SHAPE)
diag "$DRIVER: seed $SEED, $TRIALS trials, shape '$SHAPE': $EXPECTED"
[ -n "$SHAPE_WHY" ] && diag "richer shapes that do not deploy on this tree: $SHAPE_WHY"

now_ms() { date +%s%3N; }
# The kill windows: as long as a clean deploy and destroy of the shape take.
P=$SIM_TMP/clean
storm_project "$P" $SHAPE
t0=$(now_ms); storm_hoist "$P" deploy >/dev/null 2>&1
t1=$(now_ms); storm_hoist "$P" destroy >/dev/null 2>&1
t2=$(now_ms)
DWIN=$((t1 - t0 + 50)) XWIN=$((t2 - t1 + 50))
sim_settle; sim_reset
diag "clean deploy $((t1 - t0)) ms, destroy $((t2 - t1)) ms: kills fall in [0, $DWIN] and [0, $XWIN] ms"

# Per trial: deploy kills (1-3) and destroy kills (1-2), each an instant in ms.
awk -v s="$SEED" -v n="$TRIALS" -v dw="$DWIN" -v xw="$XWIN" 'BEGIN { srand(s)
    for (i = 0; i < n; i++) {
        k = 1 + int(rand() * 3); line = ""
        for (j = 0; j < k; j++) line = line int(rand() * dw) ","
        x = 1 + int(rand() * 2); line = line " "
        for (j = 0; j < x; j++) line = line int(rand() * xw) ","
        print line } }' >"$SIM_TMP/plan"

KILLS=0 RERUNS=0 DUPS=0 LEFT=0

# kill_at DIR OP MS: start hoist OP, SIGKILL it after MS ms if still running.
# One fork only, and exec (the libtool wrapper execs too), so $! is hoist.
kill_at() {
    (cd "$1" && exec "$HOIST" "$2" -e "$ENVNAME" --yes) >/dev/null 2>&1 &
    _pid=$!
    sleep "$(awk -v m="$3" 'BEGIN { printf "%.3f", m / 1000 }')"
    if kill -0 $_pid 2>/dev/null && kill -KILL $_pid 2>/dev/null; then
        KILLS=$((KILLS + 1))
    fi
    wait $_pid 2>/dev/null
}

# until_done DIR OP: re-run hoist OP (no kill) until it succeeds, at most 5 times.
until_done() {
    _i=0
    while [ $_i -lt 5 ]; do
        RERUNS=$((RERUNS + 1))
        storm_hoist "$1" "$2" >"$SIM_TMP/last.out" 2>&1 && return 0
        _i=$((_i + 1))
    done
    sed 's/^/#   /' "$SIM_TMP/last.out" | tail -n 15
    return 1
}

n=0
while read -r dk xk; do
    n=$((n + 1))
    P=$SIM_TMP/t$n
    storm_project "$P" $SHAPE
    for ms in $(echo "$dk" | tr ',' ' '); do kill_at "$P" deploy "$ms"; done
    if ! until_done "$P" deploy; then
        not_ok "$DRIVER trial $n: deploy converges after kills at ${dk%,} ms"
        storm_hoist "$P" destroy >/dev/null 2>&1; sim_reset; continue
    fi
    got=$(state_ready "$(storm_state "$P")")
    twice=$(sim_dups)
    [ -n "$twice" ] && DUPS=$((DUPS + $(echo "$twice" | wc -w)))
    check "$DRIVER trial $n: deploy killed at ${dk%,} ms converges, nothing created twice${twice:+ (twice: $twice)}" \
        [ "$got" = "$EXPECTED" -a -z "$twice" ]
    [ "$got" = "$EXPECTED" ] || diag "state has [$got]"
    for ms in $(echo "$xk" | tr ',' ' '); do kill_at "$P" destroy "$ms"; done
    if ! until_done "$P" destroy; then
        not_ok "$DRIVER trial $n: destroy converges after kills at ${xk%,} ms"
        sim_reset; continue
    fi
    sim_settle
    left=$(sim_left) inst=$(state_count "$(storm_state "$P")") twice=$(sim_dups)
    LEFT=$((LEFT + left))
    [ -n "$twice" ] && DUPS=$((DUPS + $(echo "$twice" | wc -w)))
    check "$DRIVER trial $n: destroy killed at ${xk%,} ms converges: $inst in state, $left in the simulator" \
        [ "$left" = 0 -a "$inst" = 0 -a -z "$twice" ]
    [ "$left" = 0 ] || diag "left: $(sim_admin resources | jq -c '[.resources[] | "\(.cloud)/\(.type)/\(.name)"]')"
    sim_reset
    rm -rf "$P"
done <"$SIM_TMP/plan"
diag "$DRIVER: trials $n, kills $KILLS, re-runs $RERUNS, duplicates: $DUPS, leftovers: $LEFT (shape '$SHAPE', seed $SEED)"
done_testing
