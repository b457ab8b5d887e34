#!/bin/sh
# scale.sh - 500 apps and 100 managed databases (+ network, and a cluster on
# the cloud driver) on the null driver, then with the digitalocean driver
# against hoist-sim: plan time, deploy wall and CPU time per resource, peak
# RSS, no-op redeploy, destroy.  Not part of make check.
# Usage: sh bench/scale.sh [BUILD_DIR] [N_APPS] [N_DBS] [null|do|both]
# The hoist-sim run uses SIM_APPS / SIM_DBS (default 200 / 40): the sim's
# Kubernetes API costs CPU superlinear in the number of objects (its own
# CPU time is printed), so 500 apps on it take over 5 minutes.
. "$(dirname "$0")/bench_lib.sh"
NA=${2:-500}
ND=${3:-100}
WHICH=${4:-both}

# project FILE ENVLINE: NA apps, ND databases, app i uses database (i mod ND)+1.
project() {
    {
        echo "project: bench"
        echo "environments:"
        echo "  $2"
        echo "databases:"
        i=1; while [ $i -le "$ND" ]; do
            echo "  - { name: db$i, engine: postgresql, version: \"16\", mode: managed, size: small }"; i=$((i + 1)); done
        echo "applications:"
        i=1; while [ $i -le "$NA" ]; do
            echo "  - { name: app$i, image: \"nginx:1.$i\", port: 8080, databases: [db$(( (i % ND) + 1 ))] }"; i=$((i + 1)); done
    } >"$1"
}

# run_all LABEL N: plan, deploy, plan, no-op deploy, destroy of $T/$1/hoist.yml.
run_all() {
    f=$T/$1/hoist.yml n=$2
    measure "plan (empty)" "$n" "$HOIST" plan -f "$f" -e dev
    measure "deploy (create)" "$n" "$HOIST" deploy -f "$f" -e dev --yes || tail -5 "$T/measure.err"
    [ -n "$SIM_PID" ] && set -- $(sim_calls) && m0=$1 r0=$2
    measure "plan (no-op)" "$n" "$HOIST" plan -f "$f" -e dev
    measure "deploy (no-op)" "$n" "$HOIST" deploy -f "$f" -e dev --yes || tail -5 "$T/measure.err"
    if [ -n "$SIM_PID" ]; then
        set -- $(sim_calls)
        echo "   calls made by plan + no-op deploy: $(($1 - m0)) mutating, $(($2 - r0)) reads"
    fi
    measure "destroy" "$n" "$HOIST" destroy -f "$f" -e dev --yes || tail -5 "$T/measure.err"
}

echo "machine: $(machine)"
echo "scale: $NA apps, $ND managed databases"
if [ "$WHICH" != do ]; then
    mkdir -p "$T/null"
    project "$T/null/hoist.yml" "dev: { provider: \"null\", offer: [network, database, app] }"
    echo "--- null driver (no latency: hoist itself), $((NA + ND + 1)) resources"
    HOIST_PROVIDER_PATH=$B/providers/null run_all null $((NA + ND + 1))
fi
if [ "$WHICH" != null ]; then
    NA=${SIM_APPS:-200} ND=${SIM_DBS:-40}
    sim_up scale --delay cluster=1s,database=1s,rollout=200ms
    mkdir -p "$T/do"
    project "$T/do/hoist.yml" "dev: { provider: digitalocean, region: fra1, endpoint: \"$SIM_URL\", poll_ms: 200, timeouts: { app: 300 } }"
    echo "--- $NA apps, $ND databases: digitalocean driver on hoist-sim (cluster 1 s, database 1 s, rollout 0.2 s), $((NA + ND + 2)) resources"
    HOIST_PROVIDER_PATH=$B/providers/digitalocean run_all do $((NA + ND + 2))
    echo "   hoist-sim's own CPU time for all of the above: $(awk '{ printf "%.1f", ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$SIM_PID/stat") s"
    sim_down
    SIM_PID=
fi
