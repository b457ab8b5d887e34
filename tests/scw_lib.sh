# scw_lib.sh - run the Scaleway driver against hoist-sim (source after
# lib.sh and sim_lib.sh).  scw_run CMD [URL]: scw_drive against URL (default
# $SIM_URL) with the simulator's credentials; output in $SIM_TMP/CMD.out.
HOIST_PROVIDER_PATH="$HOIST_MODDIR/providers/scaleway${HOIST_PROVIDER_PATH:+:$HOIST_PROVIDER_PATH}"
export HOIST_PROVIDER_PATH
SCW_DRIVE="$HOIST_BUILDDIR/tests/scw_drive"
SCW_STATE="$SIM_TMP/state.json"
# the sim's project; no user config file may leak in
SCW_ACCESS_KEY=SCWSIMULATOR00000000 SCW_SECRET_KEY=hoist-sim-scw-secret
SCW_DEFAULT_PROJECT_ID=11111111-1111-4111-8111-111111111111
SCW_CONFIG_PATH=/nonexistent/scw-config.yaml
export SCW_ACCESS_KEY SCW_SECRET_KEY SCW_DEFAULT_PROJECT_ID SCW_CONFIG_PATH
unset SCW_API_URL SCW_PROFILE SCW_DEFAULT_REGION SCW_DEFAULT_ZONE

scw_run() {
    _cmd=$1 _url=${2:-$SIM_URL}
    SCW_DRIVE_SETTINGS='{"region":"fr-par","endpoint":"'"$_url"'","poll_ms":20,"cluster":{"version":"1.31","nodes":{"type":"PRO2-XXS","min":1,"max":3}}}' \
        "$SCW_DRIVE" scaleway "$SCW_STATE" "$_cmd" >"$SIM_TMP/$_cmd.out" 2>"$SIM_TMP/$_cmd.err"
}

# sim_get PATH: GET an admin document of the simulator.
sim_get() { curl -s "$SIM_URL$1"; }

# Mutating Scaleway calls so far (sum of counts).
scw_mutations() {
    sim_get /_sim/calls | jq '[.calls[] | select(.cloud == "scw" and .mutating) | .count] | add // 0'
}

# scw_api_get PATH: GET a Scaleway API document straight from the sim,
# retrying through the injected faults (a read-only check of what was built).
scw_api_get() {
    for _i in $(seq 1 30); do
        _code=$(curl -s -o "$SIM_TMP/api.json" -w '%{http_code}' -H "$SIM_SCW_AUTH" "$SIM_URL$1")
        [ "$_code" = 200 ] && { cat "$SIM_TMP/api.json"; return 0; }
    done
    return 1
}

# check_or DESCRIPTION ON_FAILURE COMMAND...: like check, and eval ON_FAILURE
# (a diag) when COMMAND fails.
check_or() {
    _d=$1 _f=$2; shift 2
    if "$@"; then ok "$_d"; else not_ok "$_d"; eval "$_f"; fi
}
