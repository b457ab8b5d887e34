# do_lib.sh - helpers for the DigitalOcean driver tests (source after lib.sh
# and sim_lib.sh): run tests/do_drive against an endpoint, read hoist-sim's
# admin API.
command -v jq >/dev/null || skip_all "jq not installed"
DRIVE="$HOIST_BUILDDIR/tests/do_drive"
# The driver is built in its own directory; the loader finds it there.
HOIST_PROVIDER_PATH="$HOIST_MODDIR/providers/digitalocean${HOIST_PROVIDER_PATH:+:$HOIST_PROVIDER_PATH}"
export HOIST_PROVIDER_PATH
DIGITALOCEAN_TOKEN=hoist-sim-do-token
export DIGITALOCEAN_TOKEN
unset DIGITALOCEAN_ACCESS_TOKEN DIGITALOCEAN_API_URL
mkdir -p "$SIM_TMP/sd"
chmod 700 "$SIM_TMP/sd"

# drive ENDPOINT CMD [ARGS...]: run do_drive; output in $SIM_TMP/CMD.N.out, sets OUT.
_drive_n=0
drive() {
    _ep=$1 _cmd=$2; shift 2
    _drive_n=$((_drive_n + 1))
    OUT="$SIM_TMP/$_cmd.$_drive_n.out"
    "$DRIVE" --state "$SIM_TMP/state.json" --state-dir "$SIM_TMP/sd" \
        --settings "{\"endpoint\":\"$_ep\",\"region\":\"fra1\",\"poll_ms\":100}" "$@" "$_cmd" \
        >"$OUT" 2>&1
}

# Total of mutating calls hoist-sim counted (faulted attempts included).
mutating_calls() {
    curl -s "$SIM_URL/_sim/calls" | jq '[.calls[] | select(.mutating and .cloud == "do") | .count] | add // 0'
}

# sim_get PATH: GET from hoist-sim's DO API directly, retried past injected faults.
sim_get() {
    for _i in $(seq 1 30); do
        _b=$(curl -s -w '\n%{http_code}' -H "$SIM_DO_AUTH" "$SIM_URL$1")
        if [ "$(printf '%s' "$_b" | tail -1)" = 200 ]; then
            printf '%s' "$_b" | sed '$d'
            return 0
        fi
    done
    return 1
}
