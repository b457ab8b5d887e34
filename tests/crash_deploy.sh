#!/bin/sh
# crash_deploy.sh - SIGKILL `hoist deploy` and `hoist destroy` at random
# instants, re-run until done, and check that every trial converges and that
# nothing was ever created twice.
#   HOIST_CRASH_TRIALS  number of trials (default 50; try 500 by hand)
#   HOIST_CRASH_SEED    RNG seed (default 1), printed so a failure can be replayed
. "$HOIST_SRCDIR/tests/lib.sh"
TRIALS=${HOIST_CRASH_TRIALS:-50}
SEED=${HOIST_CRASH_SEED:-1}
T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-crash-XXXXXX")
trap 'rm -rf "$T"' EXIT
diag "seed $SEED, $TRIALS trials"
# Kill delays in ms, one pair per trial, from a seeded generator.
awk -v s="$SEED" -v n="$TRIALS" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%d %d\n", int(rand() * 250), int(rand() * 120) }' > "$T/delays"

expected="app/api app/worker database/cache database/main network/network"

# run_until_done OPERATION: re-run (without killing) until it exits 0, at most 5 times.
run_until_done() {
    i=0
    while [ $i -lt 5 ]; do
        "$HOIST" "$1" -f "$P/hoist.yml" -e dev --yes >"$T/last.out" 2>&1 && return 0
        i=$((i + 1))
    done
    cat "$T/last.out" >&2
    return 1
}

# kill_at OPERATION MS: start it, SIGKILL it after MS milliseconds.
kill_at() {
    "$HOIST" "$1" -f "$P/hoist.yml" -e dev --yes >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v m="$2" 'BEGIN { printf "%.3f", m / 1000 }')"
    kill -KILL $pid 2>/dev/null
    wait $pid 2>/dev/null
}

n=0
while read -r d1 d2; do
    n=$((n + 1))
    P=$T/t$n
    mkdir -p "$P/api"
    echo "trial $n" > "$P/api/main.js"
    cat > "$P/hoist.yml" <<YML
project: crash
environments:
  dev: { provider: "null", latency_ms: 15, polls: 1 }
databases:
  - { name: main, engine: postgresql }
  - { name: cache, engine: redis }
applications:
  - { name: api, path: ./api, databases: [main, cache] }
  - { name: worker, image: "w:1", databases: [cache] }
YML
    cloud=$P/.hoist/null/dev
    kill_at deploy "$d1"
    if ! run_until_done deploy; then not_ok "trial $n: deploy converges (killed at ${d1}ms)"; continue; fi
    states=$(python3 -c "
import json; d = json.load(open('$P/.hoist/state/dev.json'))['resources']
print(' '.join(sorted(k for k, v in d.items() if v['status'] == 'ready')))")
    objs=$(cd "$cloud" && ls *.json | sed 's/\.json$//' | sed 's/-/\//' | sort | tr '\n' ' ' | sed 's/ $//')
    # A creation is one id; a log line repeated after a crash has the same id.
    twice=$(sort -u "$cloud/creates.log" | cut -d' ' -f1 | sort | uniq -d | tr '\n' ' ')
    if [ "$states" = "$expected" ] && [ "$objs" = "$expected" ] && [ -z "$twice" ] &&
       [ "$(sort -u "$cloud/creates.log" | wc -l)" -eq 5 ]; then
        ok "trial $n: deploy killed at ${d1}ms converges, each resource created once"
    else
        not_ok "trial $n: deploy killed at ${d1}ms: state [$states] cloud [$objs] twice [$twice]"
        continue
    fi
    kill_at destroy "$d2"
    if ! run_until_done destroy; then not_ok "trial $n: destroy converges (killed at ${d2}ms)"; continue; fi
    # a destroy that leaves nothing removes the state file and the cloud's directory
    left=0
    [ -e "$P/.hoist/state/dev.json" ] &&
        left=$(python3 -c "import json; print(len(json.load(open('$P/.hoist/state/dev.json'))['resources']))")
    objs=$(ls "$cloud" 2>/dev/null | grep -c '\.json$')
    if [ "$left" -eq 0 ] && [ "$objs" -eq 0 ]; then
        ok "trial $n: destroy killed at ${d2}ms converges to empty"
    else
        not_ok "trial $n: destroy killed at ${d2}ms: $left in state, $objs objects left"
    fi
    rm -rf "$P"
done < "$T/delays"
done_testing
