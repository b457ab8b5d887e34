#!/bin/sh
# pipeline_scale.sh - the pipeline at 1,000 resources on the null driver.
# Not part of make check.  Usage (from a build directory):
#   sh ../bench/pipeline_scale.sh [N_APPS]     (default 500 -> 1,000 resources)
# Prints plan time, first deploy, no-op deploy, CPU per resource, peak RSS.
. "$(dirname "$0")/bench_lib.sh"
export HOIST_PROVIDER_PATH=${HOIST_PROVIDER_PATH:-$B/providers/null}
N=${1:-500}
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

for step in "plan (empty):plan" "deploy (create):deploy --yes" "plan (no-op):plan" \
    "deploy (no-op):deploy --yes" "destroy:destroy --yes"; do
    # shellcheck disable=SC2086
    measure "${step%%:*}" "$total" "$HOIST" ${step#*:} -f "$T/hoist.yml" -e dev || cat "$T/measure.err" >&2
done
