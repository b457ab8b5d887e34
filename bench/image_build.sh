#!/bin/sh
# image_build.sh - build+push time and peak RSS of `hoist build --push` for a
# 100 MB application directory (random, incompressible files), then for the
# unchanged app (requests made, time).  Not part of make check.
# Usage: bench/image_build.sh [BUILD_DIR] [SIZE_MB]
set -e
B=$(cd "${1:-build}" && pwd)
MB=${2:-100}
HOIST=$B/tools/hoist/hoist
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-bench-XXXXXX")
trap 'kill $REG_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT INT TERM
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
htpasswd -Bbc "$T/htpasswd" user pass 2>/dev/null
cat >"$T/config.yml" <<EOC
version: 0.1
log: { level: info }
storage: { filesystem: { rootdirectory: $T/storage } }
http: { addr: '$REG', secret: bench }
auth: { htpasswd: { realm: bench, path: $T/htpasswd } }
EOC
docker-registry serve "$T/config.yml" >"$T/registry.log" 2>&1 &
REG_PID=$!
sleep 0.5
mkdir -p "$T/proj/app/data" "$T/docker"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf user:pass | base64 -w0)" >"$T/docker/config.json"
i=0
while [ $i -lt "$MB" ]; do
    head -c 1048576 /dev/urandom >"$T/proj/app/data/f$i.bin"; i=$((i + 1))
done
cat >"$T/proj/hoist.yml" <<EOC
project: bench
environments: { dev: { provider: "null" } }
applications:
  - { name: app, path: ./app, port: 8080, command: [sh], build: { builder: native } }
EOC
export DOCKER_CONFIG=$T/docker HOIST_PROVIDER_PATH=$B/providers/null
run() {
    mark=$(wc -l <"$T/registry.log")
    /usr/bin/time -f '%e s, peak RSS %M KB' -o "$T/time" \
        "$HOIST" build -f "$T/proj/hoist.yml" --push --registry "http://$REG/bench" >"$T/out"
    sleep 0.3
    reqs=$(tail -n +"$((mark + 1))" "$T/registry.log" | grep 'response completed' | grep -o 'http.request.method=[A-Z]*' |
        sort | uniq -c | awk '{printf "%s%s=%s", s, substr($2, 21), $1; s=" "}')
    echo "$1: $(cat "$T/time"); registry requests: $reqs"
    echo "    $(cut -f4 "$T/out")"
}
echo "app directory: $MB MB in $MB files ($(nproc) cores)"
run "first build+push"
run "unchanged      "
touch "$T/proj/app/data/f0.bin"
run "touched (rebuilt, same digest)"
