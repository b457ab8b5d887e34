#!/bin/sh
# pipeline_scale.sh - the pipeline at 1,000 resources on the null driver.
# Not part of make check.  Usage (from a build directory):
#   sh ../bench/pipeline_scale.sh [N_APPS]     (default 500 -> 1,000 resources)
# Prints plan time, first deploy, no-op deploy, CPU per resource, peak RSS.
set -e
B=$(pwd)
HOIST=${HOIST:-$B/tools/hoist/hoist}
export HOIST_PROVIDER_PATH=${HOIST_PROVIDER_PATH:-$B/providers/null}
N=${1:-500}
T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-bench-XXXXXX")
trap 'rm -rf "$T"' EXIT
{
    echo "project: bench"
    echo "environments:"
    echo "  dev: { provider: \"null\", offer: [network, database, app] }"
    echo "databases:"
    i=1; while [ $i -lt "$N" ]; do echo "  - { name: db$i, engine: postgresql }"; i=$((i + 1)); done
    echo "applications:"
    i=1; while [ $i -le "$N" ]; do
        j=$(( (i % (N - 1)) + 1 ))
        echo "  - { name: app$i, image: \"x:$i\", databases: [db$j] }"; i=$((i + 1)); done
} > "$T/hoist.yml"
total=$((N + N - 1 + 1))
echo "resources: $total"

# measure LABEL CMD...: wall, user+sys CPU and peak RSS of one command.
measure() {
    label=$1; shift
    python3 - "$label" "$total" "$@" <<'PY'
import os, resource, subprocess, sys, time
label, total, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
t0 = time.monotonic()
r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru.ru_utime + ru.ru_stime
print(f"{label:18s} exit {r.returncode}  wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
      f"cpu/resource {cpu / total * 1000:6.2f} ms  peak RSS {ru.ru_maxrss / 1024:6.1f} MiB")
if r.returncode not in (0,):
    sys.stderr.write(r.stderr.decode()[-2000:])
PY
}
measure "plan (empty)" "$HOIST" plan -f "$T/hoist.yml" -e dev
measure "deploy (create)" "$HOIST" deploy -f "$T/hoist.yml" -e dev --yes
measure "plan (no-op)" "$HOIST" plan -f "$T/hoist.yml" -e dev
measure "deploy (no-op)" "$HOIST" deploy -f "$T/hoist.yml" -e dev --yes
measure "destroy" "$HOIST" destroy -f "$T/hoist.yml" -e dev --yes
