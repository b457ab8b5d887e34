#!/bin/sh
# critical_path.sh - one environment (network, cluster, 2 managed databases,
# 10 apps) deployed with the digitalocean driver against hoist-sim with
# scaled-down delays (cluster 6 s, database 4 s, rollout 1 s): wall time
# against the critical path, the same with --parallelism 1, a no-op
# redeploy (calls from /_sim/calls), and the cost of 20% faults.
# Not part of make check; prints figures, never pass/fail.
# Usage: sh bench/critical_path.sh [BUILD_DIR] [POLL_MS] ["SEED..."]
#   POLL_MS: the driver's poll_ms (default 200: DigitalOcean's 10 s default
#   scaled like the delays, which are ~1/50 of a real DO cluster's minutes).
. "$(dirname "$0")/bench_lib.sh"
POLL=${2:-200}
SEEDS=${3:-"3 4 5"}
CL=6 DB=4 RO=1 NET=0   # seconds; the sim has no network delay (VPCs are ready at once)
DELAYS="cluster=${CL}s,database=${DB}s,rollout=${RO}s"
export HOIST_PROVIDER_PATH=$B/providers/digitalocean

# project DIR: the environment, endpoint $SIM_URL.
project() {
    mkdir -p "$1"
    {
        echo "project: shop"
        echo "environments:"
        echo "  staging: { provider: digitalocean, region: fra1, endpoint: \"$SIM_URL\", poll_ms: $POLL }"
        echo "databases:"
        echo "  - { name: main, engine: postgresql, version: \"16\", mode: managed, size: small }"
        echo "  - { name: cache, engine: redis, version: \"7\", mode: managed, size: small }"
        echo "applications:"
        for i in 1 2 3 4 5 6 7 8 9 10; do
            echo "  - { name: app$i, image: \"nginx:1.$i\", port: 8080, databases: [main, cache] }"
        done
    } >"$1/hoist.yml"
}

# deploy NAME [ARGS...]: hoist deploy in $T/NAME; sets WALL (s), RC.
deploy() {
    _d=$T/$1; shift
    _t0=$(now_s)
    (cd "$_d" && "$HOIST" deploy -e staging --yes $BENCH_HOIST_ARGS "$@") >"$_d/deploy.log" 2>&1
    RC=$?
    WALL=$(awk -v a="$_t0" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }')
    [ $RC -eq 0 ] || { echo "  (deploy exit $RC)"; tail -5 "$_d/deploy.log" | sed 's/^/  | /'; }
}

# scenario NAME SIMARGS DEPLOYARGS: a fresh hoist-sim, a fresh state, one deploy.
scenario() {
    _name=$1 _simargs=$2; shift 2
    # shellcheck disable=SC2086
    sim_up "$_name" --delay "$DELAYS" $_simargs
    project "$T/$_name"
    deploy "$_name" "$@"
}

P1=$((NET + CL + RO)) P2=$((NET + DB + RO))
CP=$(( P1 > P2 ? P1 : P2 ))
echo "machine: $(machine)"
echo "environment: network, cluster, 2 managed databases, 10 apps; digitalocean driver, poll_ms $POLL"
echo "delays: $DELAYS"
echo "critical path: network+cluster+rollout = $NET+$CL+$RO = ${P1} s; network+database+rollout = $NET+$DB+$RO = ${P2} s -> ${CP} s"
echo

scenario par ""
PAR=$WALL
echo "deploy (--parallelism 8, default): wall $PAR s   wall / critical path = $(ratio "$PAR" "$CP")   (exit $RC)"

# 2. No-op redeploy of the same environment against the same sim.
set -- $(sim_calls do) $(sim_calls kube)
dm=$1 dr=$2 km=$3 kr=$4
deploy par
set -- $(sim_calls do) $(sim_calls kube)
echo "no-op redeploy: wall $WALL s; mutating calls $(($1 - dm + $3 - km)) (DigitalOcean $(($1 - dm)), Kubernetes $(($3 - km))); read calls $(($2 - dr + $4 - kr)) (DigitalOcean $(($2 - dr)), Kubernetes $(($4 - kr)))   (exit $RC)"
sim_down

scenario serial "" --parallelism 1
SER=$WALL
sim_down
SUM=$((NET + CL + DB + DB + 10 * RO))
echo "deploy --parallelism 1:            wall $SER s   wall / critical path = $(ratio "$SER" "$CP")   (exit $RC)"
echo "  (sum of all delays, the serial bound: $NET+$CL+$DB+$DB+10x$RO = $SUM s)"
echo "speed-up parallel vs --parallelism 1: $(ratio "$SER" "$PAR")x"

# 7. Fault tolerance: the same deploy with 20% errors and 5% throttling
# (hoist-sim's 429s ask for Retry-After: 1), one run per seed.
TOTAL=0 N=0
for seed in $SEEDS; do
    scenario "faults$seed" "--faults error=0.2,throttle=0.05 --seed $seed"
    set -- $(sim_calls)
    sim_down
    echo "deploy with faults error=0.2,throttle=0.05 seed $seed: wall $WALL s = $(ratio "$WALL" "$PAR") x clean   (exit $RC; calls: $1 mutating, $2 reads, faulted attempts included)"
    TOTAL=$(awk -v a="$TOTAL" -v b="$WALL" 'BEGIN { print a + b }') N=$((N + 1))
done
MEAN=$(ratio "$TOTAL" "$N")
echo "fault cost: mean faulted wall $MEAN s; faulted / clean = $(ratio "$MEAN" "$PAR"); wall / critical path = $(ratio "$MEAN" "$CP")"
