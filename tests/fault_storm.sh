#!/bin/sh
# fault_storm.sh [SEED] [DRIVER...] - each cloud driver (default: aws,
# digitalocean, scaleway) deploys and destroys against hoist-sim while 30%
# of the cloud requests fail (error=0.1 5xx, throttle=0.1 429, reset=0.05
# connection dropped before the work, lost=0.05 dropped after it, 20 ms
# latency), from a seed.  Both must succeed in one run, creating nothing
# twice and leaving nothing behind.  Then a permanent failure (POST
# /_sim/fail: the cloud's quota error, then its invalid-parameter error, on
# an operation in the middle of the graph) must fail the deploy cleanly with
# the cloud's message, leave nothing in the simulator the state does not
# know, and the next run after the fix (DELETE /_sim/fail) completes.
# Without arguments (as make check runs it) only each driver's first
# permanent failure is tried; with a SEED, all (HOIST_STORM_PERM=one|all
# overrides).  By hand: tests/fault_storm.sh 7 scaleway
. "$(dirname "$0")/storm_lib.sh"
PERM=${HOIST_STORM_PERM:-$([ $# -gt 0 ] && echo all || echo one)}
SEED=${1:-${HOIST_STORM_SEED:-1}}
[ $# -gt 0 ] && shift
DRIVERS=${*:-aws digitalocean scaleway}
FAULTS=error=0.1,throttle=0.1,reset=0.05,lost=0.05,latency=20ms
diag "seed $SEED, faults $FAULTS"

faults_on() { curl -sf -X POST -d "{\"error\":0.1,\"throttle\":0.1,\"reset\":0.05,\"lost\":0.05,\"latency\":\"20ms\",\"seed\":$SEED}" "$SIM_URL/_sim/faults" >/dev/null; }
faults_off() { curl -sf -X POST -d '{"error":0,"throttle":0,"reset":0,"lost":0,"latency":"0ms"}' "$SIM_URL/_sim/faults" >/dev/null; }
injected() { sim_admin faults | jq '[.injected[]] | add'; }
requests() { sim_admin calls | jq '[.calls[] | select(.cloud != "sim") | .count] | add // 0'; }
orphans() { sim_admin resources >"$SIM_TMP/res.json" && python3 "$HOIST_SRCDIR/tests/storm_orphans.py" "$1" "$SIM_TMP/res.json" | tr '\n' ' '; }

# The operations that fail for good, per driver: "kind operation expected-text".
perm_failures() {
    case $DRIVER in
    aws) echo "invalid|POST ec2:CreateSubnet|InvalidParameterValue"
         echo "quota|POST rds:CreateDBInstance|InstanceQuotaExceeded" ;;
    digitalocean) echo "quota|POST /v2/databases/{database_cluster_uuid}/users|unprocessable_entity"
         echo "invalid|POST /v2/kubernetes/clusters|unprocessable_entity" ;;
    scaleway) echo "invalid|POST /vpc/v2/regions/{region}/private-networks|invalid_arguments"
         echo "quota|POST /rdb/v1/regions/{region}/instances|quotas_exceeded" ;;
    esac
}
# timed DIR OP OUT: storm_hoist with its output in OUT; SECS is how long it took.
timed() {
    _t0=$(date +%s)
    storm_hoist "$1" "$2" >"$3" 2>&1
    _rc=$?
    SECS=$(($(date +%s) - _t0))
    return $_rc
}
cloud_of() { case $1 in aws) echo aws ;; digitalocean) echo do ;; scaleway) echo scw ;; esac; }

TOTAL_INJ=0 TOTAL_REQ=0
for DRIVER in $DRIVERS; do
    storm_driver "$DRIVER" || exit 2
    # A simulator (and registry) per driver: DigitalOcean's account-wide
    # registry "shop" would otherwise see the AWS run's "shop/prod/api"
    # images and, rightly, not be deleted.
    [ -n "${SIM_PID:-}" ] && sim_stop "$SIM_PID"
    storm_sim_start --seed "$SEED" || { not_ok "hoist-sim starts"; continue; }
    faults_off
    storm_shape || { not_ok "$DRIVER: no environment shape deploys cleanly: $SHAPE_WHY"; continue; }
    EXPECTED=$(storm_expected $SHAPE)
    diag "$DRIVER: shape '$SHAPE': $EXPECTED"
    P=$SIM_TMP/f-$DRIVER
    storm_project "$P" $SHAPE
    faults_on
    timed "$P" deploy "$P.deploy"
    rc=$?
    check "$DRIVER: deploy under 30% faults succeeds in one run (${SECS}s)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || sed 's/^/#   /' "$P.deploy" | grep -v ' ready ' | tail -n 12
    check "$DRIVER: every resource ready in the state" [ "$(state_ready "$(storm_state "$P")")" = "$EXPECTED" ]
    twice=$(sim_dups)
    check "$DRIVER: nothing created twice under faults${twice:+ ($twice)}" [ -z "$twice" ]
    timed "$P" destroy "$P.destroy"
    rc=$?
    check "$DRIVER: destroy under 30% faults succeeds in one run (${SECS}s)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || sed 's/^/#   /' "$P.destroy" | tail -n 12
    sim_settle
    check "$DRIVER: nothing left in the simulator" [ "$(sim_left)" = 0 ]
    [ "$(sim_left)" = 0 ] || diag "left: $(sim_admin resources | jq -c '[.resources[] | "\(.cloud)/\(.type)/\(.name) \(.status)"]')"
    inj=$(injected) req=$(requests)
    diag "$DRIVER: $inj faults injected in $req cloud requests"
    check "$DRIVER: faults really were injected (at least 15% of requests)" [ $((inj * 100)) -ge $((req * 15)) ]
    TOTAL_INJ=$((TOTAL_INJ + inj)) TOTAL_REQ=$((TOTAL_REQ + req))
    sim_reset

    # Permanent failures, faults still on.
    if [ "$PERM" = one ]; then
        perm_failures | head -n 1 >"$SIM_TMP/perm"
    else
        perm_failures >"$SIM_TMP/perm"
    fi
    while IFS='|' read -r kind op text; do
        P=$SIM_TMP/p-$DRIVER-$kind
        storm_project "$P" $SHAPE
        curl -sf -X POST -d "{\"cloud\":\"$(cloud_of "$DRIVER")\",\"operation\":\"$op\",\"kind\":\"$kind\"}" \
            "$SIM_URL/_sim/fail" >/dev/null || { not_ok "$DRIVER: POST /_sim/fail $op"; continue; }
        timed "$P" deploy "$P.deploy"
        rc=$?
        hits=$(sim_admin fail | jq '[.fail[].hits] | add')
        check "$DRIVER/$kind: '$op' fails the deploy (exit 1, $hits refused requests, ${SECS}s)" [ $rc -eq 1 -a "$hits" -ge 1 ]
        line=$(grep -m1 ' failed (' "$P.deploy")
        diag "$DRIVER/$kind: $line"
        check "$DRIVER/$kind: the failure carries the cloud's error ($text) and message" \
            sh -c "printf '%s' \"\$1\" | grep -q -e '$text' && printf '%s' \"\$1\" | grep -q 'simulated '" _ "$line"
        check "$DRIVER/$kind: not retried for minutes: refused $hits times" [ "$hits" -le 12 ]
        orph=$(orphans "$(storm_state "$P")")
        check "$DRIVER/$kind: nothing in the simulator unknown to the state${orph:+ (unknown: $orph)}" [ -z "$orph" ]
        twice=$(sim_dups)
        check "$DRIVER/$kind: nothing created twice${twice:+ ($twice)}" [ -z "$twice" ]
        curl -sf -X DELETE "$SIM_URL/_sim/fail" >/dev/null
        timed "$P" deploy "$P.fix"
        rc=$?
        check "$DRIVER/$kind: the next run after the fix completes (${SECS}s)" \
            [ $rc -eq 0 -a "$(state_ready "$(storm_state "$P")")" = "$EXPECTED" ]
        [ $rc -eq 0 ] || sed 's/^/#   /' "$P.fix" | tail -n 8
        twice=$(sim_dups)
        check "$DRIVER/$kind: still nothing created twice${twice:+ ($twice)}" [ -z "$twice" ]
        timed "$P" destroy "$P.destroy"
        rc=$?
        sim_settle
        check "$DRIVER/$kind: destroy leaves nothing (${SECS}s)" [ $rc -eq 0 -a "$(sim_left)" = 0 ]
        [ "$(sim_left)" = 0 ] || diag "left: $(sim_admin resources | jq -c '[.resources[] | "\(.cloud)/\(.type)/\(.name) \(.status)"]')"
        [ $rc -eq 0 ] || sed 's/^/#   /' "$P.destroy" | tail -n 8
        TOTAL_INJ=$((TOTAL_INJ + $(injected))) TOTAL_REQ=$((TOTAL_REQ + $(requests)))
        sim_reset
    done <"$SIM_TMP/perm"
done
diag "fault storm: drivers [$DRIVERS], $TOTAL_INJ faults injected in $TOTAL_REQ cloud requests (seed $SEED)"
done_testing
