#!/bin/sh
# image_pipeline.sh - the pipeline's image/<app> nodes: `hoist deploy` on a
# driver that offers a registry builds each app's image and pushes it to the
# repository the driver hands out (here the null driver pointing at a real
# docker-registry with htpasswd auth); skopeo reads it back; a redeploy
# pushes nothing.
. "${HOIST_SRCDIR:-.}/tests/lib.sh"

PY=/usr/bin/python3
for tool in docker-registry skopeo htpasswd; do
    command -v $tool >/dev/null 2>&1 || skip_all "$tool is not installed (apt-get install docker-registry skopeo apache2-utils)"
done
T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-imgpipe-XXXXXX")
REG_PID=
cleanup() {
    [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "${HOIST_SRCDIR:-.}/tests/registry_lib.sh"

pass=s3cret-registry-pass
htpasswd -Bbc "$T/htpasswd" hoister "$pass" 2>/dev/null
start_registry htpasswd || { echo "Bail out! docker-registry did not start"; exit 1; }
REG_LOG="$T/registry-htpasswd.log"

mkdir -p "$T/proj/api"
cd "$T/proj" || exit 1
echo 'console.log("hi")' >api/server.js
echo 'node_modules' >api/.dockerignore
cat >hoist.yml <<YML
project: shop
environments:
  ci:
    provider: "null"
    offer: [network, cluster, registry]
    registry: { endpoint: "http://$REG", username: hoister, password: "$pass" }
    timeouts: { app: 2 }
applications:
  - name: api
    path: ./api
    port: 3000
    command: [node, server.js]
YML

# Apps run on Kubernetes for such a driver; the null cluster is not a real
# one, so the app node fails (after a short deadline): only the image node is
# asserted here.
"$HOIST" deploy -e ci --yes -o json >"$T/deploy1.json" 2>"$T/deploy1.err"
ref=$($PY -c 'import json,sys; s=json.load(open(".hoist/state/ci.json")); print(s["resources"]["image/api"]["outputs"]["reference"])' 2>/dev/null)
case "$ref" in
    "$REG/shop/api@sha256:"*) ok "deploy pushed image/api to the driver's repository: $ref" ;;
    *) not_ok "image/api reference is '$ref'"; sed 's/^/# /' "$T/deploy1.err" "$T/deploy1.json" ;;
esac
out=$(skopeo inspect --tls-verify=false --creds "hoister:$pass" "docker://$ref" 2>&1)
check "skopeo reads the pushed image back" sh -c "printf '%s' '$out' | grep -q '\"Digest\"'"
check "its config runs the app's command" sh -c "skopeo inspect --config --tls-verify=false --creds 'hoister:$pass' 'docker://$ref' | grep -q '\"server.js\"'"
if grep -q "$pass" "$T/deploy1.json" "$T/deploy1.err" .hoist/state/ci.json 2>/dev/null; then
    not_ok "the registry password leaked into output or state"
else
    ok "the registry password appears in no output and not in the state"
fi

# A redeploy of the unchanged app only asks the registry (HEAD/GET).
lines=$(wc -l <"$REG_LOG")
"$HOIST" deploy -e ci --yes >"$T/deploy2.out" 2>&1
writes=$(tail -n +"$((lines + 1))" "$REG_LOG" | grep 'response completed' |
    grep -c 'http.request.method=\(POST\|PUT\|PATCH\)')
check "the unchanged redeploy made no registry writes ($writes)" test "$writes" -eq 0

# A changed app is rebuilt and pushed under a new digest.
echo 'console.log("hi again")' >api/server.js
"$HOIST" deploy -e ci --yes >"$T/deploy3.out" 2>&1
ref2=$($PY -c 'import json; s=json.load(open(".hoist/state/ci.json")); print(s["resources"]["image/api"]["outputs"]["reference"])' 2>/dev/null)
check "a changed app gets a new image digest" sh -c "[ -n '$ref2' ] && [ '$ref2' != '$ref' ]"
done_testing
