#!/bin/sh
# local_health.sh - how long a local deploy takes to fail on a wrong
# healthcheck path (the app answers 404 there), and how long a good release
# of the same app takes, on the local provider with a small Node.js app.
# Prints each deploy's wall time and the failed one's 404 line.  Not part of
# make check (tests/local_release.sh checks the behaviour, not the time).
# Usage: sh bench/local_health.sh [BUILD_DIR] [RUNS]
. "$(dirname "$0")/bench_lib.sh"
RUNS=${2:-3}
command -v node >/dev/null 2>&1 || { echo "bench: node is not installed" >&2; exit 2; }
export HOIST_PROVIDER_PATH=$B/providers/local
export HOIST_LOCAL_RUNNER=$B/providers/local/hoist-local-run
P=$T/proj
mkdir -p "$P/web"
cd "$P" || exit 1
cat > web/server.js <<'EOF'
require('http').createServer((req, res) => {
  res.statusCode = req.url === '/health' || req.url === '/' ? 200 : 404;
  res.end(process.env.V || '');
}).listen(process.env.PORT, '127.0.0.1');
EOF
yml() {
    cat > hoist.yml <<EOF
project: bench
environments:
  dev: { provider: local }
applications:
  - { name: web, path: ./web, command: [node, server.js], port: 3000,
      healthcheck: $1, public: true, env: { V: "$2" } }
EOF
}
trap '(cd "$P" && "$HOIST" destroy -e dev --yes >/dev/null 2>&1); bench_cleanup' EXIT INT TERM
echo "machine: $(machine)"
yml /health 0
"$HOIST" deploy -e dev --yes > "$T/first.out" 2>&1 || { cat "$T/first.out"; exit 1; }
i=1
while [ "$i" -le "$RUNS" ]; do
    yml /healthz "$i"
    t0=$(now_s)
    "$HOIST" deploy -e dev --yes > "$T/bad.out" 2>&1
    rc=$?
    t1=$(now_s)
    yml /health "$i"
    "$HOIST" deploy -e dev --yes > "$T/good.out" 2>&1
    rc2=$?
    t2=$(now_s)
    echo "run $i: wrong healthcheck path: exit $rc after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f s", b - a }');" \
        "good release: exit $rc2 after $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f s", b - a }')"
    i=$((i + 1))
done
echo "the failure said: $(grep -m1 -o 'GET /healthz -> 404 (attempt [0-9]*)' "$T/bad.out")"
echo "                  $(grep -m1 -o 'release r[0-9]* failed its healthcheck; [^.]*' "$T/bad.out")"
