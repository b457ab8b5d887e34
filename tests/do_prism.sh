#!/bin/sh
# do_prism.sh - every request the DigitalOcean driver makes in a whole
# lifecycle (deploy, status, credentials, deploy again, destroy, destroy
# again) passes through Stoplight Prism (proxy --errors) loaded with
# DigitalOcean's official OpenAPI document, in front of hoist-sim.  Prism
# answers 422 to a request that violates the document and 500 with
# sl-violations to such an answer; either makes the driver's run fail, and
# Prism's log must not mention a single violation.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"

SPEC=$HOIST_SPECS_DIR/digitalocean/DigitalOcean-public.v2.bundled.yaml
[ -f "$SPEC" ] || skip_all "official API documents not found in HOIST_SPECS_DIR=$HOIST_SPECS_DIR"
[ -n "$HOIST_PRISM" ] && [ -e "$HOIST_PRISM" ] ||
    skip_all "Prism not installed: set HOIST_PRISM to prism-cli's dist/index.js or a prism executable (.ci/run does)"
. "$HOIST_SRCDIR/tests/do_lib.sh"
case $HOIST_PRISM in
*.js) PRISM="node $HOIST_PRISM" ;;
*) PRISM=$HOIST_PRISM ;;
esac

sim_start main --delay cluster=1s,database=1s || { echo "1..1"; not_ok "hoist-sim starts"; exit 1; }
PORT=$(free_port)
$PRISM proxy --errors -h 127.0.0.1 -p "$PORT" "$SPEC" "$SIM_URL" >"$SIM_TMP/prism.log" 2>&1 &
SIM_PIDS="$SIM_PIDS $!"
PR="http://127.0.0.1:$PORT"
for _i in $(seq 1 240); do
    curl -s -o /dev/null "$PR/" && break
    sleep 0.25
done
curl -s -o /dev/null "$PR/" || { diag "$(cat "$SIM_TMP/prism.log")"; echo "1..1"; not_ok "Prism starts"; exit 1; }

# step NAME CMD: one do_drive run through Prism; no error line at all.
step() {
    _name=$1; shift
    drive "$PR" "$@"
    _rc=$?
    _bad=$(grep -E '^(ensure|destroy|observe) [a-z]+/[a-z]+: ' "$OUT" | grep -v -e ': ok' -e ': pending' | head -5)
    if [ $_rc -eq 0 ] && [ -z "$_bad" ]; then
        ok "$_name"
    else
        not_ok "$_name (exit $_rc)"
        diag "$(tail -15 "$OUT")"
    fi
}

step "deploy through Prism" deploy
step "status through Prism" status
step "credentials through Prism" creds
step "deploy again through Prism" deploy
step "destroy through Prism" destroy
step "destroy again (already gone) through Prism" destroy

FWD=$(grep -c 'Forwarding "' "$SIM_TMP/prism.log")
check "the runs went through Prism ($FWD requests forwarded)" test "$FWD" -gt 50
for m in post put delete; do
    check "Prism forwarded the driver's ${m} requests" grep -q "Forwarding \"$m\"" "$SIM_TMP/prism.log"
done
# Any error, warning or violation Prism logged, except its refusal of the
# readiness probe (GET /, a path the document does not have).
grep -Ei 'error|warning|violation' "$SIM_TMP/prism.log" | grep -v '\] get / ' >"$SIM_TMP/prism.bad"
N=$(wc -l <"$SIM_TMP/prism.bad")
check "Prism's log reports zero request and response violations" test "$N" -eq 0
[ "$N" -eq 0 ] || diag "$(head -20 "$SIM_TMP/prism.bad")"
check "no request or answer was refused by Prism (no 422 / sl-violations)" sh -c "! grep -Eq 'HTTP 422 (unprocessable|UNPROCESSABLE)|sl-violations|HTTP 500' '$SIM_TMP'/*.out"
check "zero leftovers in hoist-sim" test "$(curl -s "$SIM_URL/_sim/resources" | jq '[.resources[] | select(.cloud == "do")] | length')" = 0

done_testing
