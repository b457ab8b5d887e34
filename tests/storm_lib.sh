# storm_lib.sh - what the storm tests (crash_storm.sh, fault_storm.sh,
# secrets_clouds.sh) share: one hoist-sim, each cloud driver pointed at it,
# a project per environment shape, and the simulator's admin views.
# Source it first: it finds a build tree when run by hand, then sources
# lib.sh and sim_lib.sh.
if [ -z "${HOIST_SRCDIR:-}" ]; then
    HOIST_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
fi
: "${HOIST_BUILDDIR:=$HOIST_SRCDIR/build}"
: "${HOIST:=$HOIST_BUILDDIR/tools/hoist/hoist}"
export HOIST HOIST_SRCDIR HOIST_BUILDDIR
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"
[ -x "$SIM_BIN" ] || skip_all "hoist-sim is not built"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v jq >/dev/null || skip_all "jq is not installed"

# Short status delays: every intermediate status still shows, runs stay fast.
STORM_DELAYS=cluster=60ms,pool=60ms,database=60ms,instance=60ms,namespace=20ms,registry=20ms,vpc=20ms,private_network=20ms,rollout=40ms

# storm_sim_start [HOIST-SIM ARGS...]: one simulator for the whole script.
storm_sim_start() {
    sim_start storm --delay "$STORM_DELAYS" "$@"
}

# storm_driver DRIVER: credentials the cloud's way (never the user's own
# files), the driver's build directory on the provider path, and ENVNAME.
storm_driver() {
    DRIVER=$1
    unset AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN
    unset DIGITALOCEAN_ACCESS_TOKEN DIGITALOCEAN_API_URL
    unset SCW_API_URL SCW_PROFILE SCW_DEFAULT_REGION SCW_DEFAULT_ZONE
    case $DRIVER in
    aws)
        export AWS_ACCESS_KEY_ID=AKIDHOISTSIM AWS_SECRET_ACCESS_KEY=hoist-sim-secret
        export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null
        STORM_KEYS="hoist-sim-secret"
        ENVNAME=prod ;;
    digitalocean)
        export DIGITALOCEAN_TOKEN=hoist-sim-do-token
        STORM_KEYS="hoist-sim-do-token"
        ENVNAME=staging ;;
    scaleway)
        export SCW_ACCESS_KEY=SCWSIMULATOR00000000 SCW_SECRET_KEY=hoist-sim-scw-secret
        export SCW_DEFAULT_PROJECT_ID=11111111-1111-4111-8111-111111111111
        export SCW_CONFIG_PATH=/nonexistent/scw-config.yaml
        STORM_KEYS="hoist-sim-scw-secret"
        ENVNAME=staging ;;
    *) echo "unknown driver '$DRIVER' (aws, digitalocean or scaleway)" >&2; return 2 ;;
    esac
    HOIST_PROVIDER_PATH="${HOIST_MODDIR:-$HOIST_BUILDDIR}/providers/$DRIVER"
    export HOIST_PROVIDER_PATH
}

# The environment block of hoist.yml for $DRIVER against $SIM_URL.
storm_env_yaml() {
    case $DRIVER in
    aws) cat <<EOY
  prod:
    provider: aws
    region: eu-west-3
    endpoint: "$SIM_URL"
    poll_ms: 30
    cluster: { version: "1.30", nodes: { type: t3.medium, min: 2, max: 4 } }
EOY
    ;;
    digitalocean) cat <<EOY
  staging: { provider: digitalocean, region: fra1, endpoint: "$SIM_URL", poll_ms: 30 }
EOY
    ;;
    scaleway) cat <<EOY
  staging:
    provider: scaleway
    region: fr-par
    endpoint: "$SIM_URL"
    poll_ms: 30
    cluster: { version: "1.31", nodes: { type: PRO2-XXS, min: 1, max: 3 } }
EOY
    ;;
    esac
}

# storm_project DIR SHAPE: a project in DIR for $DRIVER.  SHAPE:
#   full   network, cluster, registry, managed database, a built app (image)
#          and an app from a published image
#   apps   network, cluster, managed database, an app from a published image
#   infra  network and a managed database (no app: no cluster in the graph)
storm_project() {
    mkdir -p "$1"
    {
        echo "project: shop"
        echo "environments:"
        storm_env_yaml
        echo "databases:"
        echo "  - { name: main, engine: postgresql, version: \"15\", mode: managed, size: small }"
        case $2 in
        full|apps) echo "applications:" ;;
        esac
        case $2 in
        full)
            mkdir -p "$1/api"
            printf 'FROM scratch\nCOPY index.html /\n' >"$1/api/Dockerfile"
            echo "storm $1" >"$1/api/index.html"
            echo "  - { name: api, path: ./api, port: 3000, databases: [main] }" ;;
        esac
        case $2 in
        full|apps) echo "  - { name: web, image: \"nginx:1.27\", port: 80, databases: [main] }" ;;
        esac
    } >"$1/hoist.yml"
}

# storm_hoist DIR OP [ARGS...]: hoist OP on the project in DIR (exec: a kill
# of the subshell is a kill of hoist itself).
storm_hoist() {
    _d=$1 _op=$2; shift 2
    (cd "$_d" && exec "$HOIST" "$_op" -e "$ENVNAME" --yes "$@")
}

# storm_state DIR: the state file of the project in DIR.
storm_state() { echo "$1/.hoist/state/$ENVNAME.json"; }

# Admin views of the simulator.
sim_admin() { curl -sf "$SIM_URL/_sim/$1"; }
sim_reset() { curl -sf -X POST "$SIM_URL/_sim/reset" >/dev/null; }
# Creations made more than once, as "cloud/type/name xN" words.
sim_dups() {
    sim_admin creations | jq -r '[.creations[] | select(.count > 1) | "\(.cloud)/\(.type)/\(.name)x\(.count)"] | join(" ")'
}
# Number of resources the simulator still holds.
sim_left() { sim_admin resources | jq '.resources | length'; }
# sim_settle: wait (at most 3 s) for resources still being deleted to go.
sim_settle() {
    for _i in $(seq 1 30); do
        [ "$(sim_left)" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}

# storm_shape: the richest shape whose clean deploy and destroy succeed on
# this tree for $DRIVER (sets SHAPE and SHAPE_WHY).  A richer shape that
# fails is named with its first failure, so the report says what is missing.
storm_shape() {
    SHAPE_WHY=
    for SHAPE in full apps infra; do
        _p=$SIM_TMP/probe-$DRIVER-$SHAPE
        storm_project "$_p" $SHAPE
        if storm_hoist "$_p" deploy >"$_p.out" 2>&1 && storm_hoist "$_p" destroy >>"$_p.out" 2>&1; then
            sim_reset
            return 0
        fi
        SHAPE_WHY="$SHAPE_WHY$SHAPE: $(grep -m1 ' failed' "$_p.out" | cut -c1-220); "
        storm_hoist "$_p" destroy >/dev/null 2>&1
        sim_reset
    done
    return 1
}

# Resources of the shape, as the state file lists them when deployed.
storm_expected() {
    case $1 in
    full) echo "app/api app/web cluster/cluster database/main image/api network/network registry/api" ;;
    apps) echo "app/web cluster/cluster database/main network/network" ;;
    infra) echo "database/main network/network" ;;
    esac
}

# state_ready FILE: the keys of the resources recorded ready, sorted, one line.
state_ready() {
    jq -r '[.resources | to_entries[] | select(.value.status == "ready") | .key] | sort | join(" ")' "$1" 2>/dev/null
}
# (a destroy that leaves nothing removes the state file: that counts 0)
state_count() { [ -e "$1" ] || { echo 0; return; }; jq '.resources | length' "$1" 2>/dev/null || echo unreadable; }
