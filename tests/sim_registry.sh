#!/bin/sh
# sim_registry.sh - the registry behind hoist-sim's registry APIs is real:
# each cloud's API (DigitalOcean, Scaleway, AWS ECR) hands out an endpoint
# and a login; skopeo pushes a tiny umoci-made image with exactly that login
# and reads it back; DigitalOcean's repositoriesV2 lists what was pushed; an
# external registry (--registry) is used as given; the registry process and
# its port are gone after hoist-sim's SIGTERM.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"

for tool in docker-registry htpasswd skopeo umoci jq; do
    command -v $tool >/dev/null 2>&1 ||
        skip_all "$tool is not installed (apt-get install docker-registry apache2-utils skopeo umoci jq)"
done
curl -s -o /dev/null --aws-sigv4 aws:amz:x:y file:///dev/null 2>/dev/null ||
    skip_all "this curl has no --aws-sigv4 (needs 7.75)"

sim_start main || { echo "1..1"; not_ok "hoist-sim starts with its registry"; exit 1; }
MAIN_PID=$SIM_PID
REG_URL=$(sim_registry_url main)
HOST=${REG_URL#http://}
check "hoist-sim prints its registry (plain HTTP on loopback)" \
    sh -c "printf '%s' '$REG_URL' | grep -Eq '^http://127\.0\.0\.1:[0-9]+$'"
REG_PID=$(pgrep -P "$MAIN_PID" -x docker-registry)
check "docker-registry runs as hoist-sim's child" test -n "$REG_PID"
REG_DIR=$(tr '\0' '\n' <"/proc/$REG_PID/cmdline" 2>/dev/null | sed -n 's,/config.yml$,,p')

D="Authorization: Bearer hoist-sim-do-token"
S="X-Auth-Token: hoist-sim-scw-secret"
do_api() { curl -s -H "$D" -H 'Content-Type: application/json' "$@"; }
aws_ecr() { # ACTION BODY
    curl -s --aws-sigv4 "aws:amz:eu-west-3:ecr" --user AKIDHOISTSIM:hoist-sim-secret \
        -H "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.$1" \
        -H 'Content-Type: application/x-amz-json-1.1' --data-binary "$2" "$SIM_URL/"
}

# the image every cloud pushes
sim_tiny_image "$SIM_TMP/img" || { diag "umoci failed"; echo "1..1"; not_ok "tiny image made"; exit 1; }
push() { # CREDS REF
    skopeo copy -q --dest-tls-verify=false --dest-creds "$1" "oci:$SIM_TMP/img:1" "docker://$2" \
        >"$SIM_TMP/push.log" 2>&1 || { diag "$(cat "$SIM_TMP/push.log")"; return 1; }
}
digest_of() { # CREDS REF
    skopeo inspect --tls-verify=false --creds "$1" "docker://$2" 2>"$SIM_TMP/inspect.log" | jq -r .Digest
}
WANT=$(skopeo inspect "oci:$SIM_TMP/img:1" | jq -r .Digest)

# ---- DigitalOcean: server_url, docker-credentials, repositoriesV2
do_api -X POST -d '{"name":"simreg","subscription_tier_slug":"basic","region":"fra1"}' \
    "$SIM_URL/v2/registry" >/dev/null
check "DO registry server_url is the registry" \
    test "$(do_api "$SIM_URL/v2/registry" | jq -r .registry.server_url)" = "$REG_URL"
CRED=$(do_api "$SIM_URL/v2/registry/docker-credentials?read_write=true")
check "DO docker-credentials name the registry host" \
    test "$(printf '%s' "$CRED" | jq -r '.auths | keys[0]')" = "$HOST"
DO_CREDS=$(printf '%s' "$CRED" | jq -r ".auths[\"$HOST\"].auth" | base64 -d)
check "DO: skopeo pushes with the handed-out login" push "$DO_CREDS" "$HOST/simreg/app:v1"
check "DO: skopeo reads the image back" test "$(digest_of "$DO_CREDS" "$HOST/simreg/app:v1")" = "$WANT"
check "DO: a wrong password is refused" sh -c "! skopeo inspect --tls-verify=false --creds '${DO_CREDS%%:*}:wrong' docker://$HOST/simreg/app:v1 >/dev/null 2>&1"
push "$DO_CREDS" "$HOST/simreg/app:v2"
push "$DO_CREDS" "$HOST/other/app:v1"
REPOS=$(do_api "$SIM_URL/v2/registry/simreg/repositoriesV2?per_page=20")
check "DO repositoriesV2 lists exactly the registry's repository" \
    test "$(printf '%s' "$REPOS" | jq -c '[.repositories[].name]')" = '["app"]'
check "DO repositoriesV2: 2 tags, 1 manifest" \
    test "$(printf '%s' "$REPOS" | jq -r '.repositories[0] | "\(.tag_count) \(.manifest_count) \(.registry_name)"')" = "2 1 simreg"
check "DO repositoriesV2: latest manifest is the pushed digest with both tags" \
    test "$(printf '%s' "$REPOS" | jq -r '.repositories[0].latest_manifest | "\(.digest) \(.tags | sort | join(","))"')" = "$WANT v1,v2"
check "DO repositoriesV2: blobs are config and layer" \
    test "$(printf '%s' "$REPOS" | jq '.repositories[0].latest_manifest.blobs | length')" = 2

# ---- Scaleway: namespace endpoint, login nologin + secret key
NS=$(curl -s -H "$S" -H 'Content-Type: application/json' -d '{"name":"scwns"}' \
    "$SIM_URL/registry/v1/regions/fr-par/namespaces")
EP=$(printf '%s' "$NS" | jq -r .endpoint)
check "SCW namespace endpoint is <registry>/<namespace>" test "$EP" = "$HOST/scwns"
check "SCW: skopeo pushes as nologin with the secret key" push "nologin:hoist-sim-scw-secret" "$EP/app:v1"
check "SCW: skopeo reads the image back" test "$(digest_of "nologin:hoist-sim-scw-secret" "$EP/app:v1")" = "$WANT"

# ---- AWS ECR: repositoryUri, GetAuthorizationToken
URI=$(aws_ecr CreateRepository '{"repositoryName":"awsrepo"}' | jq -r .repository.repositoryUri)
check "ECR repositoryUri is <registry>/<repo>" test "$URI" = "$HOST/awsrepo"
TOK=$(aws_ecr GetAuthorizationToken '{}')
check "ECR proxyEndpoint is http://<registry>" \
    test "$(printf '%s' "$TOK" | jq -r '.authorizationData[0].proxyEndpoint')" = "$REG_URL"
ECR_CREDS=$(printf '%s' "$TOK" | jq -r '.authorizationData[0].authorizationToken' | base64 -d)
check "ECR token decodes to AWS:<password>" test "${ECR_CREDS%%:*}" = AWS
check "ECR: skopeo pushes with the token's login" push "$ECR_CREDS" "$URI:v1"
check "ECR: skopeo reads the image back" test "$(digest_of "$ECR_CREDS" "$URI:v1")" = "$WANT"

# ---- an external registry: a second hoist-sim uses the first one's
sim_start ext --registry "$REG_URL" --registry-credentials "$DO_CREDS" ||
    { not_ok "hoist-sim starts with --registry"; done_testing; exit 1; }
EXT_PID=$SIM_PID
check "--registry: no registry process of its own" test -z "$(pgrep -P "$EXT_PID" -x docker-registry)"
MAIN_URL=$SIM_URL
SIM_URL=$(sed -n 's/^hoist-sim: listening on //p' "$SIM_TMP/ext.out")
do_api -X POST -d '{"name":"simreg","subscription_tier_slug":"basic"}' "$SIM_URL/v2/registry" >/dev/null
check "--registry: DO credentials are the given login for the given host" \
    test "$(do_api "$SIM_URL/v2/registry/docker-credentials" | jq -r ".auths[\"$HOST\"].auth" | base64 -d)" = "$DO_CREDS"
check "--registry: repositoriesV2 reads the given registry" \
    test "$(do_api "$SIM_URL/v2/registry/simreg/repositoriesV2" | jq -r '.repositories[0].tag_count')" = 2
sim_stop "$EXT_PID"
check "--registry: the external registry outlives that hoist-sim" kill -0 "$REG_PID"
SIM_URL=$MAIN_URL

# ---- --no-registry
sim_start none --no-registry || { not_ok "hoist-sim starts with --no-registry"; done_testing; exit 1; }
check "--no-registry: no registry process, no registry line" \
    test -z "$(pgrep -P "$SIM_PID" -x docker-registry)$(sim_registry_url none)"
sim_stop "$SIM_PID"

# ---- SIGTERM: the registry, its port and its directory are gone
sim_stop "$MAIN_PID"
check "after SIGTERM the registry process is gone" sh -c "! kill -0 $REG_PID 2>/dev/null"
# free: nobody answers there and a new server can bind it (as servers do, with SO_REUSEADDR)
check "after SIGTERM the registry port is free" /usr/bin/python3 -c "
import socket
p = ${HOST##*:}
c = socket.socket()
assert c.connect_ex(('127.0.0.1', p)) != 0
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', p))
s.listen()"
check "after SIGTERM the temporary registry directory is removed" test -n "$REG_DIR" -a ! -e "$REG_DIR"

# ---- SIGINT (a script's background job starts with SIGINT ignored: hoist-sim still stops)
sim_start int || { not_ok "hoist-sim starts again"; done_testing; exit 1; }
R2=$(pgrep -P "$SIM_PID" -x docker-registry)
kill -INT "$SIM_PID"
wait "$SIM_PID"
RC=$?
check "after SIGINT hoist-sim has exited cleanly and its registry is gone" \
    sh -c "test $RC -eq 0 && test -n '$R2' && ! kill -0 '$R2' 2>/dev/null"

# ---- --state-dir keeps the images across runs (new port, new logins)
sim_start state --state-dir "$SIM_TMP/state" || { not_ok "hoist-sim starts with --state-dir"; done_testing; exit 1; }
H2=$(sim_registry_url state); H2=${H2#http://}
push "nologin:hoist-sim-scw-secret" "$H2/keep/app:v1"
sim_stop "$SIM_PID"
sim_start state2 --state-dir "$SIM_TMP/state" || { not_ok "hoist-sim restarts with --state-dir"; done_testing; exit 1; }
H2=$(sim_registry_url state2); H2=${H2#http://}
check "--state-dir: the image survives a restart" \
    test "$(digest_of "nologin:hoist-sim-scw-secret" "$H2/keep/app:v1")" = "$WANT"
sim_stop "$SIM_PID"
check "--state-dir: the registry storage is kept" test -d "$SIM_TMP/state/registry/storage"

done_testing
