#!/bin/sh
# oci_registry.sh - `hoist build --push` against a real registry (Debian's
# docker-registry 2.8) with htpasswd auth and with bearer-token auth, read
# back by skopeo and umoci; base images made here with umoci.
. "${HOIST_SRCDIR:-.}/tests/lib.sh"

PY=/usr/bin/python3
for tool in docker-registry skopeo umoci htpasswd openssl; do
    command -v $tool >/dev/null 2>&1 || skip_all "$tool is not installed (apt-get install docker-registry skopeo umoci apache2-utils)"
done
$PY -c 'import cryptography' 2>/dev/null || skip_all "python3-cryptography is missing (token server)"

T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-oci-XXXXXX")
REG_PID= TOK_PID=
cleanup() {
    [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null
    [ -n "$TOK_PID" ] && kill "$TOK_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

. "${HOIST_SRCDIR:-.}/tests/registry_lib.sh"

# Docker config with credentials for the current registry.
docker_config() {
    mkdir -p "$T/docker-$2"
    printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf %s "$1" | base64 -w0)" \
        >"$T/docker-$2/config.json"
    echo "$T/docker-$2"
}

# Requests the registry logged since line $1 of its log: "METHOD" per line.
requests_since() {
    tail -n +"$(($1 + 1))" "$REG_LOG" | grep 'response completed' | grep -o 'http.request.method=[A-Z]*' | sort | uniq -c |
        awk '{printf "%s%s=%s", sep, substr($2, 21), $1; sep=" "} END {print ""}'
}

# ---- a base image made with umoci: a shell script and a release file ----
mkdir -p "$T/work" && cd "$T/work" || exit 1
umoci init --layout base >/dev/null
umoci new --image base:1 >/dev/null
umoci unpack --rootless --image base:1 bundle >/dev/null 2>&1
mkdir -p bundle/rootfs/bin bundle/rootfs/etc
printf '#!/bin/sh\necho hello from base\n' >bundle/rootfs/bin/hello
chmod 755 bundle/rootfs/bin/hello
echo "tiny 1" >bundle/rootfs/etc/base-release
umoci repack --image base:1 bundle >/dev/null 2>&1
umoci config --image base:1 --config.env BASE_VAR=from-base --config.entrypoint /bin/sh \
    --config.user 1000 >/dev/null 2>&1

# ---- the project ----
mkdir -p "$T/proj/api/src" "$T/proj/api/logs"
cd "$T/proj" || exit 1
echo 'console.log("api")' >api/server.js
echo 'module.exports = 1' >api/src/lib.js
echo 'noise' >api/logs/x.log
printf 'logs\n' >api/.dockerignore
write_yml() {
    cat >hoist.yml <<EOF
project: shop
environments:
  dev: { provider: "null" }
applications:
  - name: api
    path: ./api
    port: 8080
    env: { NODE_ENV: production }
    command: [node, server.js]
    build: { builder: native, base: "$1" }
EOF
}

htpasswd -Bbc "$T/htpasswd" user pass 2>/dev/null

# ================= htpasswd auth =================
start_registry htpasswd || { echo "1..0 # SKIP docker-registry did not start"; exit 0; }
REG_LOG=$T/registry-htpasswd.log
diag "registry on $REG (htpasswd)"
check "base image pushed with skopeo" skopeo copy -q --dest-tls-verify=false \
    --dest-creds user:pass oci:"$T/work/base:1" "docker://$REG/base/tiny:1"

export DOCKER_CONFIG="$(docker_config user:pass good)"
write_yml "$REG/base/tiny:1"
"$HOIST" build -f hoist.yml --push --registry "http://$REG/team" >out1 2>err1
rc=$?
check "hoist build --push exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || { diag "$(cat err1)"; }
REF=$(cut -f2 out1)
DIGEST=$(cut -f3 out1)
diag "$(cat out1)"
check "reference printed is $REG/team/api:TAG" sh -c "expr '$REF' : '$REG/team/api:h[0-9a-f]*\$' >/dev/null"
check "digest printed" sh -c "expr '$DIGEST' : 'sha256:[0-9a-f]\{64\}\$' >/dev/null"
check "the base layer was mounted from base/tiny, not uploaded" grep -q ', 1 mounted' out1

skopeo inspect --tls-verify=false --creds user:pass "docker://$REF" >inspect.json 2>&1
check "skopeo inspect reads it back with the same digest" \
    $PY -c "import json,sys; d=json.load(open('inspect.json')); sys.exit(d['Digest'] != '$DIGEST')"
skopeo inspect --config --tls-verify=false --creds user:pass "docker://$REF" >config.json 2>&1
check "config: Cmd, Env, ExposedPorts, WorkingDir, inherited Entrypoint/User" $PY - <<EOF
import json, sys
c = json.load(open("config.json"))["config"]
env = c.get("Env", [])
ok = (c.get("Cmd") == ["node", "server.js"] and "NODE_ENV=production" in env
      and "PORT=8080" in env and "BASE_VAR=from-base" in env
      and "8080/tcp" in c.get("ExposedPorts", {}) and c.get("WorkingDir") == "/app"
      and c.get("Entrypoint") == ["/bin/sh"] and c.get("User") == "1000"
      and c.get("Labels", {}).get("dev.hoist.app") == "api")
sys.exit(0 if ok else 1)
EOF

rm -rf copy bundle
skopeo copy -q --src-tls-verify=false --src-creds user:pass "docker://$REF" oci:copy:api 2>&1
check "skopeo copy to an oci: layout" [ -f copy/index.json ]
umoci unpack --rootless --image copy:api bundle >/dev/null 2>&1
check "unpacked app files match the app directory" \
    sh -c 'cmp bundle/rootfs/app/server.js api/server.js && cmp bundle/rootfs/app/src/lib.js api/src/lib.js'
check "ignored files are not in the image" [ ! -e bundle/rootfs/app/logs ]
check "the base's files are there (pulled and extended)" \
    sh -c 'test "$(cat bundle/rootfs/etc/base-release)" = "tiny 1" && test -x bundle/rootfs/bin/hello'

# ---- unchanged: same digest, only HEAD/GET requests ----
"$HOIST" build -f hoist.yml >out2 2>err2
check "building again gives the same digest" [ "$(cut -f3 out2)" = "$DIGEST" ]
check "the unchanged app layer comes from the cache" grep -q 'cached' out2
mark=$(wc -l <"$REG_LOG")
"$HOIST" build -f hoist.yml --push --registry "http://$REG/team" >out3 2>err3
sleep 0.3
reqs=$(requests_since "$mark")
diag "requests for the unchanged push: $reqs"
check "an unchanged push says so" grep -q 'already in the registry' out3
check "an unchanged push makes only HEAD/GET requests" \
    sh -c "echo '$reqs' | grep -q 'HEAD=' && ! echo '$reqs' | grep -Eq 'PUT|POST|PATCH|DELETE'"

# ---- a changed app: only the new layer and config travel ----
echo 'console.log("api v2")' >api/server.js
"$HOIST" build -f hoist.yml --push --registry "http://$REG/team" >out4 2>err4
check "a changed app uploads 2 blobs (layer + config), base layer present" \
    grep -q 'pushed: 2 uploaded, 0 mounted, 1 present' out4
check "a changed app gets another digest" [ "$(cut -f3 out4)" != "$DIGEST" ]

# ---- dependencies (node_modules, made by the build step from the lockfile)
# ---- travel in a layer of their own: a source change uploads only the small one
echo '{"lockfileVersion":3,"dep":"1.0.0"}' >api/package-lock.json
write_yml "$REG/base/tiny:1"
cat >>hoist.yml <<'EOF2'
    build_step: placeholder
EOF2
sed -i 's|^    build: { builder: native, base: "\(.*\)" }$|    build: { builder: native, base: "\1", command: [sh, -c, "mkdir -p node_modules/dep \&\& cp package-lock.json node_modules/dep/ \&\& seq 1 200000 > node_modules/dep/data.txt"] }|; /build_step: placeholder/d' hoist.yml
"$HOIST" build -f hoist.yml --push --registry "http://$REG/team" >out6 2>err6
check "an app with dependencies pushes its dependency layer, its layer and config" \
    grep -q 'pushed: 3 uploaded, 0 mounted, 1 present' out6
[ $? -eq 0 ] || diag "$(cat out6 err6)"
echo 'console.log("api v3")' >api/server.js
"$HOIST" build -f hoist.yml --push --registry "http://$REG/team" >out7 2>err7
check "after a source change only the app layer and config are uploaded, dependencies present" \
    grep -q 'pushed: 2 uploaded, 0 mounted, 2 present' out7
[ $? -eq 0 ] || diag "$(cat out7 err7)"
skopeo inspect --tls-verify=false --creds user:pass "docker://$(cut -f2 out7)" >inspect7.json 2>&1
check "the image: base, dependencies, then the app's small layer" $PY - <<'EOF2'
import json, os, sys
layers = json.load(open("inspect7.json"))["Layers"]
size = lambda d: os.path.getsize(".hoist/images/blobs/sha256/" + d[7:])
sys.exit(0 if len(layers) == 3 and size(layers[2]) < size(layers[1]) else 1)
EOF2
[ $? -eq 0 ] || diag "$(cat inspect7.json)"
rm -f api/package-lock.json
write_yml "$REG/base/tiny:1"

# ---- errors ----
DOCKER_CONFIG="$(docker_config user:wrong bad)" \
    "$HOIST" build -f hoist.yml --push --registry "http://$REG/other" >/dev/null 2>errw
diag "$(cat errw)"
check "wrong credentials (base pull): a clear error naming the registry, the reference and the user" \
    sh -c "grep -q 'registry $REG' errw && grep -q 'base/tiny:1' errw && grep -q 'HTTP 401' errw && grep -q \"user 'user'\" errw && ! grep -q wrong errw"
write_yml scratch
DOCKER_CONFIG="$(docker_config user:wrong bad)" \
    "$HOIST" build -f hoist.yml --push --registry "http://$REG/other" >/dev/null 2>errw2
diag "$(cat errw2)"
check "wrong credentials (push): a clear error naming the registry and the repository" \
    sh -c "grep -q 'registry $REG' errw2 && grep -q 'other/api' errw2 && grep -q 'HTTP 401' errw2"

write_yml "$REG/base/nope:9"
"$HOIST" build -f hoist.yml >/dev/null 2>erru
diag "$(cat erru)"
check "unknown base image: names the reference, the registry and the reason" \
    sh -c "grep -q 'base image $REG/base/nope:9' erru && grep -q 'HTTP 404' erru && grep -qi 'unknown' erru"
write_yml "$REG/base/tiny:1"

DEAD=$(free_port)
"$HOIST" build -f hoist.yml --push --registry "http://127.0.0.1:$DEAD/team" >/dev/null 2>errd
diag "$(cat errd)"
check "unreachable registry: names it and says why" \
    sh -c "grep -q 'registry 127.0.0.1:$DEAD' errd && grep -qi 'connect' errd"
stop_registry

# ================= bearer-token auth =================
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=hoist-test-token \
    -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
$PY "${HOIST_SRCDIR:-.}/tests/oci_token_server.py" "$T/tokport" "$T/key.pem" "$T/cert.pem" \
    hoist-test-issuer user:s3cret >"$T/token.log" 2>&1 &
TOK_PID=$!
i=0; while [ ! -s "$T/tokport" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
TOK_PORT=$(cat "$T/tokport")
start_registry token
REG_LOG=$T/registry-token.log
diag "registry on $REG (token auth by 127.0.0.1:$TOK_PORT)"
check "base image pushed with skopeo (token auth)" skopeo copy -q --dest-tls-verify=false \
    --dest-creds user:s3cret oci:"$T/work/base:1" "docker://$REG/base/tiny:1"
export DOCKER_CONFIG="$(docker_config user:s3cret tok)"
write_yml "$REG/base/tiny:1"
"$HOIST" build -f hoist.yml --push --registry "http://$REG/team" >out5 2>err5
check "hoist build --push with bearer tokens" [ $? -eq 0 ]
[ -s err5 ] && diag "$(cat err5)"
REF=$(cut -f2 out5)
DIGEST=$(cut -f3 out5)
check "token auth: the base layer is mounted across repositories" grep -q ', 1 mounted' out5
skopeo inspect --tls-verify=false --creds user:s3cret "docker://$REF" >inspect2.json 2>&1
check "token auth: skopeo reads it back with the same digest" \
    $PY -c "import json,sys; d=json.load(open('inspect2.json')); sys.exit(d['Digest'] != '$DIGEST')"
rm -rf copy2 bundle2
skopeo copy -q --src-tls-verify=false --src-creds user:s3cret "docker://$REF" oci:copy2:api 2>&1
umoci unpack --rootless --image copy2:api bundle2 >/dev/null 2>&1
check "token auth: unpacked files match" \
    sh -c 'cmp bundle2/rootfs/app/server.js api/server.js && test -x bundle2/rootfs/bin/hello'
grep -qE 'repository:team/api:(pull,push|push,pull)' "$T/token.log" || sed 's/^/# token.log: /' "$T/token.log"
check "the token service was asked for push scopes" grep -qE 'repository:team/api:(pull,push|push,pull)' "$T/token.log"
DOCKER_CONFIG="$(docker_config user:nope badtok)" \
    "$HOIST" build -f hoist.yml --push --registry "http://$REG/team" >/dev/null 2>errt
diag "$(cat errt)"
check "token auth, wrong password: a clear error naming the registry and the token service" \
    sh -c "grep -q 'registry $REG' errt && grep -q 'token from http://127.0.0.1:$TOK_PORT/token' errt && grep -q 'HTTP 401' errt"
stop_registry

done_testing
