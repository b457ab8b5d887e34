#!/bin/sh
# cloud_e2e.sh - issue 11's last "done when": the whole pipeline (network,
# cluster, registry, image build and push, managed and container databases,
# apps) runs to the end on the aws, digitalocean and scaleway drivers against
# hoist-sim and its real docker-registry, with examples/nodejs-postgres.
#
# For each cloud, a copy of the example gets one environment pointing at the
# sim, a container redis beside the managed PostgreSQL, a worker app using
# it, and a Node base image (the host's real node binary and its libraries,
# made with umoci and pushed with skopeo: no public registry is reachable).
# Asserted: deploy exits 0; every Deployment has availableReplicas ==
# replicas and the redis StatefulSet is ready (the cluster's own API, with
# the token of `hoist kubeconfig`); every image is <registry>/...@sha256:
# and skopeo finds it; each app's Secret has DATABASE_URL (postgresql:// and
# redis://) and HOIST_DATABASE_* whose passwords never show in hoist's output;
# a second deploy makes no mutating call on any cloud, the Kubernetes API or
# the registry; status exits 0; destroy leaves nothing and nothing was
# created twice.  Then the example's own `staging` (scaleway) and
# `production` (aws) environments run unchanged, only endpoints and
# credentials coming from the clouds' usual variables (SCW_API_URL,
# AWS_ENDPOINT_URL, ...).
. "$HOIST_SRCDIR/tests/lib.sh"

for tool in docker-registry htpasswd skopeo umoci jq curl base64; do
    command -v $tool >/dev/null 2>&1 ||
        skip_all "$tool is not installed (apt-get install docker-registry apache2-utils skopeo umoci jq curl)"
done
. "$HOIST_SRCDIR/tests/sim_lib.sh"
[ -x "$SIM_BIN" ] || skip_all "hoist-sim is not built"

EXAMPLE="$HOIST_SRCDIR/examples/nodejs-postgres"
SIMSTATE="$SIM_TMP/simstate"
sim_start main --state-dir "$SIMSTATE" \
    --delay cluster=1s,pool=500ms,database=1s,instance=500ms,registry=200ms,vpc=200ms,private_network=200ms,namespace=200ms,rollout=300ms ||
    { echo "1..1"; not_ok "hoist-sim starts with its registry"; exit 1; }
REG=$(sim_registry_url main)
REGHOST=${REG#http://}
REGLOG="$SIMSTATE/registry/registry.log"
diag "hoist-sim at $SIM_URL, registry at $REG"

# Nothing from the user's own cloud configuration: a private HOME (~/.aws,
# ~/.config/scw, ~/.docker), the sim's credentials the clouds' usual way.
export HOME="$SIM_TMP/home"
mkdir -p "$HOME"
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_SESSION_TOKEN \
    AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE SCW_API_URL SCW_PROFILE SCW_CONFIG_PATH \
    SCW_DEFAULT_REGION SCW_DEFAULT_ZONE DIGITALOCEAN_API_URL DOCKER_CONFIG HOIST_STATE_KEY
export DIGITALOCEAN_TOKEN=hoist-sim-do-token
export AWS_ACCESS_KEY_ID=AKIDHOISTSIM AWS_SECRET_ACCESS_KEY=hoist-sim-secret
export SCW_ACCESS_KEY=SCWSIMULATOR00000000 SCW_SECRET_KEY=hoist-sim-scw-secret
export SCW_DEFAULT_PROJECT_ID=11111111-1111-4111-8111-111111111111

# A registry login for the test itself: DigitalOcean's docker-credentials
# (every cloud's login reaches the whole registry).
curl -s -H "$SIM_DO_AUTH" -H 'Content-Type: application/json' -X POST \
    -d '{"name":"e2e-base","subscription_tier_slug":"basic","region":"nyc3"}' \
    "$SIM_URL/v2/registry" >/dev/null
REGCREDS=$(curl -s -H "$SIM_DO_AUTH" "$SIM_URL/v2/registry/docker-credentials?read_write=true" |
    jq -r ".auths[\"$REGHOST\"].auth" | base64 -d)
curl -s -H "$SIM_DO_AUTH" -X DELETE "$SIM_URL/v2/registry" >/dev/null

# ---- the Node base image: node and the libraries it links, in one layer
BASE="$SIM_TMP/base"
BASEREF="$REGHOST/library/node:e2e"
NODE=$(command -v node 2>/dev/null)
make_base() {
    umoci init --layout "$BASE" >/dev/null &&
        umoci new --image "$BASE:node" >/dev/null &&
        umoci unpack --rootless --image "$BASE:node" "$BASE.bundle" >/dev/null 2>&1 || return 1
    R="$BASE.bundle/rootfs"
    mkdir -p "$R/usr/bin"
    if [ -n "$NODE" ]; then
        cp -L "$NODE" "$R/usr/bin/node" || return 1
        for l in $(ldd "$NODE" | grep -o '/[^ ]*'); do
            mkdir -p "$R$(dirname "$l")" && cp -L "$l" "$R$l" || return 1
        done
    else
        # no node on this machine: a stand-in, so the pipeline still runs
        printf '#!/bin/sh\necho "node stand-in: $*"\n' >"$R/usr/bin/node"
        chmod 755 "$R/usr/bin/node"
    fi
    umoci repack --image "$BASE:node" "$BASE.bundle" >/dev/null 2>&1 &&
        umoci config --image "$BASE:node" --config.env PATH=/usr/local/bin:/usr/bin:/bin \
            --config.cmd node >/dev/null 2>&1 &&
        skopeo copy -q --dest-tls-verify=false --dest-creds "$REGCREDS" \
            "oci:$BASE:node" "docker://$BASEREF" >"$SIM_TMP/base.log" 2>&1
}
check "a Node base image is pushed to the sim's registry ($BASEREF)" make_base
[ $? -eq 0 ] || diag "$(cat "$SIM_TMP/base.log" 2>/dev/null)"
if [ -n "$NODE" ]; then
    R="$BASE.bundle/rootfs"
    LD=$(cd "$R" && ls lib64/ld-linux-* lib/ld-linux-* 2>/dev/null | head -1)
    LIBS=$(cd "$R" && find . -name '*.so*' -exec dirname {} \; | sort -u | sed "s,^\.,$R," | tr '\n' ':')
    check "the base image's files really run node (its own loader and libraries)" \
        test "$("$R/$LD" --library-path "$LIBS" "$R/usr/bin/node" -e 'console.log(6*7)' 2>&1)" = 42
else
    ok "# SKIP node is not installed: the base holds a stand-in"
fi

# ---- helpers
admin() { curl -sf "$SIM_URL/_sim/$1"; }
# Mutating calls on every cloud the sim serves (do, scw, aws, kube).
mutating() { admin calls | jq '[.calls[] | select(.mutating) | .count] | add // 0'; }
# Writes the registry served (uploads, manifests, deletes): its access log.
reg_writes() {
    grep 'response completed' "$REGLOG" 2>/dev/null |
        grep -c 'http.request.method=\(POST\|PUT\|PATCH\|DELETE\)'
}
# kube GET PATH: the environment's cluster API with `hoist kubeconfig`'s token.
kube() {
    curl -s -H "Authorization: Bearer $KTOKEN" "$KSERVER$1"
}
# The values (decoded) of Secret $1 in namespace $NS, as KEY=VALUE lines.
secret_env() {
    kube "/api/v1/namespaces/$NS/secrets/$1" |
        jq -r '.data // {} | to_entries[] | "\(.key)=\(.value | @base64d)"'
}
# The (cloud,type,name) created since snapshot $1 that were not created
# exactly once, as JSON lines; "none" when there were no creations at all.
# Kubernetes objects count only in the environment's namespace $NS: every
# simulated cluster makes its own default, kube-system... namespaces.
created_twice() {
    admin creations >"$W/cr-after.json"
    jq -nc --slurpfile b "$1" --slurpfile a "$W/cr-after.json" --arg ns "$NS" '
        [$a[0].creations[]
         | select(.cloud != "kube" or .type == "cluster" or .name == $ns or (.name | startswith($ns + "/")))
         | . as $x
         | ([$b[0].creations[] | select(.cloud == $x.cloud and .type == $x.type and .name == $x.name)
             | .count] | add // 0) as $old
         | select(.count != $old) | {cloud, type, name, n: ($x.count - $old), old: $old}]
        | if length == 0 then "none" else .[] | select(.n != 1 or .old != 0) end'
}

# run_env LABEL DIR ENV CLOUD APPS: the whole lifecycle of one environment.
# APPS: the app names expected as Deployments (plus their container databases).
run_env() {
    label=$1 W=$2 ENV=$3 CLOUD=$4 APPS=$5
    cd "$W" || return 1
    admin creations >"$W/cr-before.json"
    t0=$(date +%s)
    "$HOIST" deploy -e "$ENV" --yes >"$W/deploy1.out" 2>&1
    rc=$?
    check "$label: hoist deploy -e $ENV exits 0 ($(($(date +%s) - t0)) s)" test $rc -eq 0
    [ $rc -eq 0 ] || sed 's/^/#   /' "$W/deploy1.out" | tail -25
    check "$label: every node ran, none failed" grep -q ' 0 failed, 0 skipped' "$W/deploy1.out"

    "$HOIST" kubeconfig -e "$ENV" -o "$W/kubeconfig" >/dev/null 2>&1
    KSERVER=$(jq -r '.clusters[0].cluster.server' "$W/kubeconfig" 2>/dev/null)
    KTOKEN=$(jq -r '.users[0].user.token' "$W/kubeconfig" 2>/dev/null)
    NS=$(jq -r '.contexts[0].context.namespace' "$W/kubeconfig" 2>/dev/null)
    case $CLOUD in
    aws) check "$label: the kubeconfig carries an EKS token (k8s-aws-v1.)" \
        sh -c "printf '%s' '$KTOKEN' | grep -q '^k8s-aws-v1\.'" ;;
    *) check "$label: the kubeconfig names the cluster's API on the sim" \
        sh -c "printf '%s' '$KSERVER' | grep -q '^$SIM_URL/kube/'" ;;
    esac

    kube "/apis/apps/v1/namespaces/$NS/deployments" >"$W/deps.json"
    names=$(jq -r '[.items[].metadata.name] | sort | join(" ")' "$W/deps.json")
    check "$label: the Deployments are the apps ($names)" test "$names" = "$APPS"
    check "$label: every Deployment is available (availableReplicas == replicas >= 1)" \
        test "$(jq '[.items[] | .spec.replicas >= 1 and .status.availableReplicas == .spec.replicas] | length > 0 and all' "$W/deps.json")" = true
    kube "/apis/apps/v1/namespaces/$NS/statefulsets" >"$W/sts.json"
    check "$label: the container redis runs (StatefulSet cache-db ready)" \
        test "$(jq '[.items[] | select(.metadata.name == "cache-db") | .status.readyReplicas == .spec.replicas and .spec.replicas >= 1] | . == [true]' "$W/sts.json")" = true
    imgs=$(jq -r '.items[].spec.template.spec.containers[].image' "$W/deps.json")
    bad=0
    for i in $imgs; do
        case $i in
        "$REGHOST"/*@sha256:*)
            skopeo inspect --tls-verify=false --creds "$REGCREDS" "docker://$i" >"$W/inspect.json" 2>&1 &&
                jq -e --arg l "$(skopeo inspect --tls-verify=false --creds "$REGCREDS" "docker://$BASEREF" | jq -r '.Layers[0]')" \
                    '.Layers[0] == $l' "$W/inspect.json" >/dev/null || { bad=1; diag "$i: $(head -c 300 "$W/inspect.json")"; } ;;
        *) bad=1; diag "image $i is not <registry>/...@sha256:" ;;
        esac
    done
    check "$label: every image is $REGHOST/...@sha256:, skopeo finds it, on the Node base" \
        test -n "$imgs" -a $bad -eq 0

    secret_env api-env >"$W/api.env"
    secret_env worker-env >"$W/worker.env"
    check "$label: api's Secret: DATABASE_URL is the managed PostgreSQL" \
        grep -q '^DATABASE_URL=postgres\(ql\)\?://[^:]*:[^@]\+@' "$W/api.env"
    check "$label: worker's Secret: DATABASE_URL is the container redis" \
        grep -q '^DATABASE_URL=redis://[^:]*:[^@]\+@cache-db' "$W/worker.env"
    check "$label: HOIST_DATABASE_MAIN_{HOST,PORT,USER,PASSWORD,NAME,URL} all set" \
        test "$(grep -c '^HOIST_DATABASE_MAIN_\(HOST\|PORT\|USER\|PASSWORD\|NAME\|URL\)=.' "$W/api.env")" -eq 6
    PW1=$(sed -n 's/^HOIST_DATABASE_MAIN_PASSWORD=//p' "$W/api.env")
    PW2=$(sed -n 's/^HOIST_DATABASE_CACHE_PASSWORD=//p' "$W/worker.env")

    calls0=$(mutating)
    regw0=$(reg_writes)
    "$HOIST" deploy -e "$ENV" --yes >"$W/deploy2.out" 2>&1
    rc=$?
    calls1=$(mutating)
    regw1=$(reg_writes)
    check "$label: deploy again exits 0 with nothing to do" \
        sh -c "[ $rc -eq 0 ] && grep -q 'is up to date' '$W/deploy2.out'"
    check "$label: ...and makes no mutating call on any cloud or cluster ($calls0 -> $calls1)" \
        test "$calls0" = "$calls1"
    check "$label: ...and writes nothing to the registry ($regw0 -> $regw1)" \
        test "$regw0" = "$regw1"

    "$HOIST" status -e "$ENV" >"$W/status.out" 2>&1
    rc=$?
    check "$label: hoist status exits 0" test $rc -eq 0
    [ $rc -eq 0 ] || sed 's/^/#   /' "$W/status.out"

    "$HOIST" destroy -e "$ENV" --yes >"$W/destroy.out" 2>&1
    rc=$?
    check "$label: hoist destroy exits 0" test $rc -eq 0
    [ $rc -eq 0 ] || sed 's/^/#   /' "$W/destroy.out" | tail -20
    left=$(admin resources | jq "[.resources[] | select(.cloud == \"$CLOUD\" or .cloud == \"kube\")] | length")
    check "$label: nothing of the environment is left on the sim ($left)" test "$left" = 0
    [ "$left" = 0 ] || admin resources | jq -c ".resources[] | select(.cloud == \"$CLOUD\" or .cloud == \"kube\") | [.type, .name]" | sed 's/^/#   /' | head
    created_twice "$W/cr-before.json" >"$W/twice.json"
    check "$label: every resource was created exactly once" test ! -s "$W/twice.json"
    sed 's/^/#   /' "$W/twice.json" | head

    leaked=0
    for pw in "$PW1" "$PW2" "$KTOKEN" "${REGCREDS#*:}"; do
        [ -n "$pw" ] && grep -qF -- "$pw" "$W"/*.out && leaked=1
    done
    check "$label: no password or token in hoist's output" test -n "$PW1" -a -n "$PW2" -a $leaked -eq 0
    cd "$SIM_TMP" || return 1
}

# project PROVIDER-ENV-YAML: a copy of the example with that environment, a
# container redis, a worker app using it, and the Node base for both apps.
project() {
    d="$SIM_TMP/$1"
    rm -rf "$d"
    cp -R "$EXAMPLE" "$d"
    rm -rf "$d/.hoist" "$d/api/node_modules"
    cat >"$d/hoist.yml" <<EOF
# examples/nodejs-postgres, run on $1 in hoist-sim by tests/cloud_e2e.sh
project: visits
environments:
$2
databases:
  - name: main
    engine: postgresql
    version: "15"
    mode: managed
    size: small
  - name: cache
    engine: redis
    mode: container
applications:
  - name: api
    path: ./api
    port: 3000
    instances: { min: 1, max: 3 }
    healthcheck: /health
    public: true
    env:
      NODE_ENV: production
    databases: [main]
    command: [node, server.js]
    build: { base: "$BASEREF" }
  - name: worker
    path: ./api
    databases: [cache]
    command: [node, server.js]
    build: { base: "$BASEREF" }
EOF
    echo "$d"
}

W=$(project do "  sim-do:
    provider: digitalocean
    region: nyc3
    endpoint: $SIM_URL
    poll_ms: 200")
run_env digitalocean "$W" sim-do do "api worker"

W=$(project scw "  sim-scw:
    provider: scaleway
    region: fr-par
    endpoint: $SIM_URL
    poll_ms: 200")
run_env scaleway "$W" sim-scw scw "api worker"

W=$(project aws "  sim-aws:
    provider: aws
    region: eu-west-3
    endpoint: $SIM_URL
    cluster: { version: \"1.30\", nodes: { type: t3.medium, min: 2, max: 5 } }")
run_env aws "$W" sim-aws aws "api worker"

# ---- the example's own hoist.yml, unchanged: staging (scaleway), production (aws)
EX="$SIM_TMP/example"
cp -R "$EXAMPLE" "$EX"
rm -rf "$EX/.hoist"
check "the example's hoist.yml is used as shipped" cmp -s "$EXAMPLE/hoist.yml" "$EX/hoist.yml"
export SCW_API_URL="$SIM_URL" AWS_ENDPOINT_URL="$SIM_URL"
run_example() { # ENV CLOUD
    cd "$EX" || return 1
    t0=$(date +%s)
    "$HOIST" deploy -e "$1" --yes >"$EX/$1-deploy.out" 2>&1
    rc=$?
    check "example $1 ($2): hoist deploy exits 0 ($(($(date +%s) - t0)) s)" test $rc -eq 0
    [ $rc -eq 0 ] || sed 's/^/#   /' "$EX/$1-deploy.out" | tail -25
    "$HOIST" kubeconfig -e "$1" -o "$EX/$1.kubeconfig" >/dev/null 2>&1
    KSERVER=$(jq -r '.clusters[0].cluster.server' "$EX/$1.kubeconfig" 2>/dev/null)
    KTOKEN=$(jq -r '.users[0].user.token' "$EX/$1.kubeconfig" 2>/dev/null)
    NS=$(jq -r '.contexts[0].context.namespace' "$EX/$1.kubeconfig" 2>/dev/null)
    check "example $1 ($2): Deployment api available, image in the cloud's registry" \
        test "$(kube "/apis/apps/v1/namespaces/$NS/deployments" | jq --arg r "$REGHOST/" '[.items[] | .metadata.name == "api" and .status.availableReplicas == .spec.replicas and (.spec.template.spec.containers[0].image | startswith($r) and contains("@sha256:"))] == [true]')" = true
    # The image runs on a real cloud: it starts the way hoist.yml says, and
    # the build step (npm ci, from the package-lock.json) put pg in it.
    img=$(kube "/apis/apps/v1/namespaces/$NS/deployments" | jq -r '.items[] | select(.metadata.name == "api") | .spec.template.spec.containers[0].image')
    check "example $1 ($2): the image's Cmd is the app's command: [node, server.js]" \
        test "$(skopeo inspect --config --tls-verify=false --creds "$REGCREDS" "docker://$img" 2>/dev/null | jq -c .config.Cmd)" = '["node","server.js"]'
    layer=$(skopeo inspect --tls-verify=false --creds "$REGCREDS" "docker://$img" 2>/dev/null | jq -r '.Layers[-2]')
    check "example $1 ($2): the dependency layer holds node_modules/pg from the build step" \
        sh -c "gzip -dc '$EX/.hoist/images/blobs/sha256/${layer#sha256:}' | tar -t | grep -q '^app/node_modules/pg/package.json$'"
    secret_env api-env >"$EX/$1-api.env"
    check "example $1 ($2): api's Secret has DATABASE_URL (the managed PostgreSQL)" \
        grep -q '^DATABASE_URL=postgres\(ql\)\?://[^:]*:[^@]\+@' "$EX/$1-api.env"
    "$HOIST" destroy -e "$1" --yes >"$EX/$1-destroy.out" 2>&1
    check "example $1 ($2): hoist destroy exits 0, nothing left" \
        test $? -eq 0 -a "$(admin resources | jq "[.resources[] | select(.cloud == \"$2\" or .cloud == \"kube\")] | length")" = 0
    cd "$SIM_TMP" || return 1
}
run_example staging scw
run_example production aws
done_testing
