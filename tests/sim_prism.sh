#!/bin/sh
# sim_prism.sh - proof of fidelity: Stoplight Prism (proxy --errors) loaded
# with the official DigitalOcean and Scaleway documents sits in front of
# hoist-sim while curl walks every simulated endpoint, success and error
# cases.  A violating response becomes 500 with sl-violations; an invalid
# request becomes 422.  DigitalOcean documents its error answers, so every
# answer must be violation-free; Scaleway's documents list only the success
# answers, so for its error cases Prism's one expected warning ("unable to
# match the returned status code") is allowed and the error body shape is
# checked here instead.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"

SPECS=$HOIST_SPECS_DIR
[ -f "$SPECS/digitalocean/DigitalOcean-public.v2.bundled.yaml" ] ||
    skip_all "official API documents not found in HOIST_SPECS_DIR=$SPECS"
[ -n "$HOIST_PRISM" ] && [ -e "$HOIST_PRISM" ] ||
    skip_all "Prism not installed: set HOIST_PRISM to prism-cli's dist/index.js or a prism executable (.ci/run does)"
command -v jq >/dev/null || skip_all "jq not installed"
case $HOIST_PRISM in
*.js) PRISM="node $HOIST_PRISM" ;;
*) PRISM=$HOIST_PRISM ;;
esac


sim_start main --delay cluster=0,pool=0,database=0,instance=0 || { echo "1..1"; not_ok "hoist-sim starts"; exit 1; }

# One Prism per document, started in parallel.
start_prism() { # NAME SPEC -> sets port in $SIM_TMP/NAME.port
    _port=$(free_port)
    echo "$_port" >"$SIM_TMP/$1.port"
    $PRISM proxy --errors -h 127.0.0.1 -p "$_port" "$2" "$SIM_URL" >"$SIM_TMP/$1.log" 2>&1 &
    SIM_PIDS="$SIM_PIDS $!"
}
start_prism do "$SPECS/digitalocean/DigitalOcean-public.v2.bundled.yaml"
for s in vpc.v2 k8s.v1 registry.v1 rdb.v1; do
    start_prism "$s" "$SPECS/scaleway/scaleway.$s.Api.yml"
done
for n in do vpc.v2 k8s.v1 registry.v1 rdb.v1; do
    p=$(cat "$SIM_TMP/$n.port")
    for _i in $(seq 1 240); do
        curl -s -o /dev/null "http://127.0.0.1:$p/" && break
        sleep 0.25
    done
    curl -s -o /dev/null "http://127.0.0.1:$p/" || { diag "$(cat "$SIM_TMP/$n.log")"; echo "1..1"; not_ok "Prism for $n starts"; exit 1; }
done
DO="http://127.0.0.1:$(cat "$SIM_TMP/do.port")"
VPC="http://127.0.0.1:$(cat "$SIM_TMP/vpc.v2.port")/vpc/v2/regions/fr-par"
K8S="http://127.0.0.1:$(cat "$SIM_TMP/k8s.v1.port")/k8s/v1/regions/fr-par"
REG="http://127.0.0.1:$(cat "$SIM_TMP/registry.v1.port")/registry/v1/regions/fr-par"
RDB="http://127.0.0.1:$(cat "$SIM_TMP/rdb.v1.port")/rdb/v1/regions/fr-par"

# call AUTH METHOD URL [BODY]: sets STATUS, BODY, VIOL (the sl-violations header).
call() {
    _auth=$1 _m=$2 _u=$3
    if [ $# -ge 4 ]; then
        curl -s -D "$SIM_TMP/h" -o "$SIM_TMP/b" -X "$_m" -H "$_auth" \
            -H 'Content-Type: application/json' --data-binary "$4" "$_u" >/dev/null
    else
        curl -s -D "$SIM_TMP/h" -o "$SIM_TMP/b" -X "$_m" -H "$_auth" "$_u" >/dev/null
    fi
    STATUS=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$SIM_TMP/h")
    VIOL=$(grep -i '^sl-violations:' "$SIM_TMP/h" | tr -d '\r')
    BODY=$(cat "$SIM_TMP/b")
}

# expect WANT DESCRIPTION AUTH METHOD URL [BODY]: the status is WANT and
# Prism saw no violation at all.
expect() {
    _want=$1 _d=$2; shift 2
    call "$@"
    if [ "$STATUS" = "$_want" ] && [ -z "$VIOL" ]; then
        ok "$_d"
    else
        not_ok "$_d: status $STATUS (want $_want) ${VIOL:-}"
        diag "body: $BODY"
    fi
}

# expect_scw_error WANT TYPE DESCRIPTION AUTH METHOD URL [BODY]: Scaleway
# error answer: status, the documented "type", and only the undocumented-
# status warning from Prism.
expect_scw_error() {
    _want=$1 _type=$2 _d=$3; shift 3
    call "$@"
    _t=$(printf '%s' "$BODY" | jq -r .type 2>/dev/null)
    _other=$(printf '%s' "$VIOL" | sed 's/^sl-violations: //' |
        jq -r '.[] | select(.message | startswith("Unable to match the returned status code") | not) | .message' 2>/dev/null)
    if [ "$STATUS" = "$_want" ] && [ "$_t" = "$_type" ] && [ -z "$_other" ] &&
        printf '%s' "$BODY" | jq -e '.message | type == "string"' >/dev/null; then
        ok "$_d"
    else
        not_ok "$_d: status $STATUS (want $_want) type $_t (want $_type) $VIOL"
        diag "body: $BODY"
    fi
}

D=$SIM_DO_AUTH
S=$SIM_SCW_AUTH
BAD_DO="Authorization: Bearer wrong-token"
BAD_SCW="X-Auth-Token: wrong-secret"
NOID=00000000-0000-4000-8000-000000000000

# ---- DigitalOcean
expect 200 "DO GET /v2/account" "$D" GET "$DO/v2/account"
expect 401 "DO wrong token gives DO's 401" "$BAD_DO" GET "$DO/v2/account"
check "DO 401 body is DO's unauthorized" test "$(printf '%s' "$BODY" | jq -r '.id + "/" + .message')" = "unauthorized/Unable to authenticate you"
expect 201 "DO POST /v2/vpcs" "$D" POST "$DO/v2/vpcs" '{"name":"net-a","region":"fra1","description":"a"}'
VPC_ID=$(printf '%s' "$BODY" | jq -r .vpc.id)
expect 201 "DO POST /v2/vpcs (second)" "$D" POST "$DO/v2/vpcs" '{"name":"net-b","region":"fra1"}'
expect 422 "DO POST /v2/vpcs duplicate name is 422" "$D" POST "$DO/v2/vpcs" '{"name":"net-b","region":"fra1"}'
check "DO 422 id is unprocessable_entity" test "$(printf '%s' "$BODY" | jq -r .id)" = unprocessable_entity
expect 200 "DO GET /v2/vpcs page 1 of 2" "$D" GET "$DO/v2/vpcs?per_page=1&page=1"
check "DO list has meta.total and a next link" test "$(printf '%s' "$BODY" | jq -r '"\(.meta.total) \(.vpcs|length) \(.links.pages.next != null)"')" = "2 1 true"
expect 200 "DO GET /v2/vpcs/{id}" "$D" GET "$DO/v2/vpcs/$VPC_ID"
expect 200 "DO PUT /v2/vpcs/{id}" "$D" PUT "$DO/v2/vpcs/$VPC_ID" '{"name":"net-a2","description":"b"}'
expect 200 "DO PATCH /v2/vpcs/{id}" "$D" PATCH "$DO/v2/vpcs/$VPC_ID" '{"description":"c"}'
expect 404 "DO GET unknown VPC is 404" "$D" GET "$DO/v2/vpcs/$NOID"
check "DO 404 id is not_found" test "$(printf '%s' "$BODY" | jq -r .id)" = not_found

expect 200 "DO GET /v2/kubernetes/options" "$D" GET "$DO/v2/kubernetes/options"
expect 201 "DO POST /v2/kubernetes/clusters" "$D" POST "$DO/v2/kubernetes/clusters" \
    '{"name":"k1","region":"fra1","version":"latest","vpc_uuid":"'"$VPC_ID"'","tags":["app"],"node_pools":[{"name":"pool-1","size":"s-1vcpu-2gb","count":2}]}'
CL=$(printf '%s' "$BODY" | jq -r .kubernetes_cluster.id)
POOL=$(printf '%s' "$BODY" | jq -r '.kubernetes_cluster.node_pools[0].id')
expect 422 "DO cluster without node pools is 422" "$D" POST "$DO/v2/kubernetes/clusters" '{"name":"k2","region":"fra1","version":"latest","node_pools":[]}'
expect 200 "DO GET /v2/kubernetes/clusters" "$D" GET "$DO/v2/kubernetes/clusters"
expect 200 "DO GET /v2/kubernetes/clusters/{id}" "$D" GET "$DO/v2/kubernetes/clusters/$CL"
check "DO cluster reaches running" test "$(printf '%s' "$BODY" | jq -r .kubernetes_cluster.status.state)" = running
expect 200 "DO GET node_pools" "$D" GET "$DO/v2/kubernetes/clusters/$CL/node_pools"
expect 200 "DO GET node_pools/{id}" "$D" GET "$DO/v2/kubernetes/clusters/$CL/node_pools/$POOL"
expect 202 "DO PUT node_pools/{id}" "$D" PUT "$DO/v2/kubernetes/clusters/$CL/node_pools/$POOL" '{"name":"pool-1","count":3}'
check "DO node pool resized to 3 nodes" test "$(printf '%s' "$BODY" | jq '.node_pool.nodes|length')" = 3
expect 200 "DO GET kubeconfig (YAML)" "$D" GET "$DO/v2/kubernetes/clusters/$CL/kubeconfig"
check "DO kubeconfig names the /kube endpoint" grep -q "server: $SIM_URL/kube/$CL" "$SIM_TMP/b"
expect 200 "DO GET credentials" "$D" GET "$DO/v2/kubernetes/clusters/$CL/credentials"
expect 404 "DO GET unknown cluster is 404" "$D" GET "$DO/v2/kubernetes/clusters/$NOID"

expect 404 "DO GET /v2/registry before creation is 404" "$D" GET "$DO/v2/registry"
expect 201 "DO POST /v2/registry" "$D" POST "$DO/v2/registry" '{"name":"reg1","subscription_tier_slug":"basic","region":"fra1"}'
expect 200 "DO GET /v2/registry" "$D" GET "$DO/v2/registry"
expect 200 "DO GET docker-credentials" "$D" GET "$DO/v2/registry/docker-credentials?read_write=true&expiry_seconds=3600"
REG_HOST=$(sim_registry_url main); REG_HOST=${REG_HOST#http://}
check "DO docker auth is user:password for hoist-sim's registry" sh -c "printf '%s' '$BODY' | jq -r '.auths[\"$REG_HOST\"].auth' | base64 -d | grep -q '^[^:][^:]*:.'"
# a real image in the registry, so Prism checks a non-empty repositoriesV2 too
if command -v skopeo >/dev/null && command -v umoci >/dev/null && sim_tiny_image "$SIM_TMP/img" &&
    skopeo copy -q --dest-tls-verify=false --dest-creds \
        "$(printf '%s' "$BODY" | jq -r ".auths[\"$REG_HOST\"].auth" | base64 -d)" \
        "oci:$SIM_TMP/img:1" "docker://$REG_HOST/reg1/app:v1" >/dev/null 2>&1; then
    expect 200 "DO GET repositoriesV2 (one image pushed)" "$D" GET "$DO/v2/registry/reg1/repositoriesV2?per_page=10"
    check "DO repositoriesV2 lists the pushed repository" test "$(printf '%s' "$BODY" | jq -r '.repositories[0].latest_manifest.tags[0]')" = v1
else
    diag "skopeo/umoci missing: repositoriesV2 is checked empty only"
    expect 200 "DO GET repositoriesV2" "$D" GET "$DO/v2/registry/reg1/repositoriesV2?per_page=10"
fi
expect 204 "DO POST /v2/kubernetes/registry" "$D" POST "$DO/v2/kubernetes/registry" '{"cluster_uuids":["'"$CL"'"]}'
call "$D" GET "$DO/v2/kubernetes/clusters/$CL"
check "DO cluster registry_enabled after integration" test "$(printf '%s' "$BODY" | jq -r .kubernetes_cluster.registry_enabled)" = true
expect 204 "DO DELETE /v2/kubernetes/registry" "$D" DELETE "$DO/v2/kubernetes/registry" '{"cluster_uuids":["'"$CL"'"]}'

expect 201 "DO POST /v2/databases" "$D" POST "$DO/v2/databases" \
    '{"name":"db1","engine":"pg","version":"16","size":"db-s-1vcpu-1gb","region":"fra1","num_nodes":1,"tags":["app"]}'
DB=$(printf '%s' "$BODY" | jq -r .database.id)
expect 200 "DO GET /v2/databases?tag_name=app" "$D" GET "$DO/v2/databases?tag_name=app"
check "DO tag_name filter finds the database" test "$(printf '%s' "$BODY" | jq '.databases|length')" = 1
call "$D" GET "$DO/v2/databases?tag_name=other"
check "DO tag_name filter excludes other tags" test "$(printf '%s' "$BODY" | jq '.databases|length')" = 0
expect 200 "DO GET /v2/databases/{id}" "$D" GET "$DO/v2/databases/$DB"
check "DO database reaches online" test "$(printf '%s' "$BODY" | jq -r .database.status)" = online
expect 201 "DO POST dbs" "$D" POST "$DO/v2/databases/$DB/dbs" '{"name":"app"}'
expect 200 "DO GET dbs" "$D" GET "$DO/v2/databases/$DB/dbs"
expect 200 "DO GET dbs/{name}" "$D" GET "$DO/v2/databases/$DB/dbs/app"
expect 204 "DO DELETE dbs/{name}" "$D" DELETE "$DO/v2/databases/$DB/dbs/app"
expect 404 "DO GET deleted db is 404" "$D" GET "$DO/v2/databases/$DB/dbs/app"
expect 201 "DO POST users" "$D" POST "$DO/v2/databases/$DB/users" '{"name":"appuser"}'
expect 200 "DO GET users" "$D" GET "$DO/v2/databases/$DB/users"
expect 200 "DO GET users/{name}" "$D" GET "$DO/v2/databases/$DB/users/appuser"
expect 204 "DO DELETE users/{name}" "$D" DELETE "$DO/v2/databases/$DB/users/appuser"
expect 204 "DO PUT firewall" "$D" PUT "$DO/v2/databases/$DB/firewall" '{"rules":[{"type":"k8s","value":"'"$CL"'"}]}'
expect 200 "DO GET firewall" "$D" GET "$DO/v2/databases/$DB/firewall"
check "DO firewall keeps the k8s rule" test "$(printf '%s' "$BODY" | jq -r '.rules[0].type + " " + .rules[0].value')" = "k8s $CL"

expect 204 "DO DELETE /v2/databases/{id}" "$D" DELETE "$DO/v2/databases/$DB"
expect 404 "DO GET deleted database is 404" "$D" GET "$DO/v2/databases/$DB"
expect 204 "DO DELETE cluster" "$D" DELETE "$DO/v2/kubernetes/clusters/$CL"
expect 204 "DO DELETE /v2/registry" "$D" DELETE "$DO/v2/registry"
sleep 0.1
expect 204 "DO DELETE /v2/vpcs/{id}" "$D" DELETE "$DO/v2/vpcs/$VPC_ID"

# ---- Scaleway VPC v2
P=11111111-1111-4111-8111-111111111111
expect 200 "SCW POST vpcs" "$S" POST "$VPC/vpcs" '{"name":"v1","project_id":"'$P'","tags":["a"]}'
SV=$(printf '%s' "$BODY" | jq -r .id)
expect 200 "SCW GET vpcs" "$S" GET "$VPC/vpcs"
expect 200 "SCW GET vpcs/{id}" "$S" GET "$VPC/vpcs/$SV"
expect 200 "SCW PATCH vpcs/{id}" "$S" PATCH "$VPC/vpcs/$SV" '{"name":"v1b"}'
expect 200 "SCW POST private-networks" "$S" POST "$VPC/private-networks" '{"name":"pn1","project_id":"'$P'","vpc_id":"'$SV'"}'
PN=$(printf '%s' "$BODY" | jq -r .id)
expect 200 "SCW GET private-networks" "$S" GET "$VPC/private-networks"
expect 200 "SCW GET private-networks/{id}" "$S" GET "$VPC/private-networks/$PN"
expect 200 "SCW PATCH private-networks/{id}" "$S" PATCH "$VPC/private-networks/$PN" '{"tags":["b"]}'
expect_scw_error 404 not_found "SCW GET unknown VPC is not_found" "$S" GET "$VPC/vpcs/$NOID"
expect_scw_error 401 denied_authentication "SCW wrong token is denied_authentication" "$BAD_SCW" GET "$VPC/vpcs"
expect_scw_error 409 conflict "SCW DELETE VPC with a private network is refused" "$S" DELETE "$VPC/vpcs/$SV"

# ---- Scaleway Kubernetes v1
expect 200 "SCW POST clusters with a pool" "$S" POST "$K8S/clusters" \
    '{"project_id":"'$P'","name":"kc","version":"1.32.3","cni":"cilium","private_network_id":"'"$PN"'","pools":[{"name":"default","node_type":"DEV1-M","size":1}]}'
SC=$(printf '%s' "$BODY" | jq -r .id)
expect 200 "SCW GET clusters" "$S" GET "$K8S/clusters"
expect 200 "SCW GET clusters/{id}" "$S" GET "$K8S/clusters/$SC"
check "SCW cluster reaches ready" test "$(printf '%s' "$BODY" | jq -r .status)" = ready
expect 200 "SCW GET clusters/{id}/kubeconfig" "$S" GET "$K8S/clusters/$SC/kubeconfig"
check "SCW kubeconfig content is base64 YAML naming /kube" sh -c "jq -r .content '$SIM_TMP/b' | base64 -d | grep -q 'server: $SIM_URL/kube/$SC'"
expect 200 "SCW GET clusters/{id}/pools" "$S" GET "$K8S/clusters/$SC/pools"
SP=$(printf '%s' "$BODY" | jq -r '.pools[0].id')
expect 200 "SCW POST clusters/{id}/pools" "$S" POST "$K8S/clusters/$SC/pools" '{"name":"extra","node_type":"DEV1-M","size":2}'
SP2=$(printf '%s' "$BODY" | jq -r .id)
expect 200 "SCW GET pools/{id}" "$S" GET "$K8S/pools/$SP"
expect 200 "SCW PATCH pools/{id}" "$S" PATCH "$K8S/pools/$SP" '{"size":2}'
expect 200 "SCW DELETE pools/{id}" "$S" DELETE "$K8S/pools/$SP2"
check "SCW deleted pool answers deleting" test "$(printf '%s' "$BODY" | jq -r .status)" = deleting
expect_scw_error 400 invalid_arguments "SCW cluster with unknown version is invalid_arguments" "$S" POST "$K8S/clusters" \
    '{"project_id":"'$P'","name":"kx","version":"0.1.0","cni":"cilium"}'
expect_scw_error 404 not_found "SCW GET unknown pool is not_found" "$S" GET "$K8S/pools/$NOID"

# ---- Scaleway Registry v1
expect 200 "SCW POST namespaces" "$S" POST "$REG/namespaces" '{"name":"ns-a","project_id":"'$P'"}'
NS=$(printf '%s' "$BODY" | jq -r .id)
expect 200 "SCW GET namespaces" "$S" GET "$REG/namespaces"
expect 200 "SCW GET namespaces/{id}" "$S" GET "$REG/namespaces/$NS"
expect_scw_error 409 conflict "SCW duplicate namespace is conflict" "$S" POST "$REG/namespaces" '{"name":"ns-a","project_id":"'$P'"}'
expect 200 "SCW DELETE namespaces/{id}" "$S" DELETE "$REG/namespaces/$NS"

# ---- Scaleway RDB v1
expect 200 "SCW POST instances" "$S" POST "$RDB/instances" \
    '{"project_id":"'$P'","name":"pg1","engine":"PostgreSQL-15","user_name":"admin","password":"Secr3t!pass","node_type":"DB-DEV-S","tags":["app"]}'
RI=$(printf '%s' "$BODY" | jq -r .id)
expect 200 "SCW GET instances" "$S" GET "$RDB/instances"
expect 200 "SCW GET instances/{id}" "$S" GET "$RDB/instances/$RI"
check "SCW instance reaches ready" test "$(printf '%s' "$BODY" | jq -r .status)" = ready
expect 200 "SCW POST databases" "$S" POST "$RDB/instances/$RI/databases" '{"name":"app"}'
expect 200 "SCW GET databases" "$S" GET "$RDB/instances/$RI/databases"
expect 204 "SCW DELETE databases/{name}" "$S" DELETE "$RDB/instances/$RI/databases/app"
expect 200 "SCW POST users" "$S" POST "$RDB/instances/$RI/users" '{"name":"app","password":"Secr3t!pass","is_admin":false}'
expect 200 "SCW GET users" "$S" GET "$RDB/instances/$RI/users"
expect 204 "SCW DELETE users/{name}" "$S" DELETE "$RDB/instances/$RI/users/app"
expect 200 "SCW POST acls (add)" "$S" POST "$RDB/instances/$RI/acls" '{"rules":[{"ip":"10.0.0.0/8","description":"pn"}]}'
expect 200 "SCW PUT acls (set)" "$S" PUT "$RDB/instances/$RI/acls" '{"rules":[{"ip":"192.168.0.0/16","description":"x"},{"ip":"10.1.0.0/16"}]}'
expect 200 "SCW GET acls" "$S" GET "$RDB/instances/$RI/acls"
check "SCW acls after set are exactly the two" test "$(printf '%s' "$BODY" | jq -r '[.rules[].ip]|join(",")')" = "192.168.0.0/16,10.1.0.0/16"
expect 200 "SCW DELETE acls" "$S" DELETE "$RDB/instances/$RI/acls" '{"acl_rule_ips":["10.1.0.0/16"]}'
expect_scw_error 404 not_found "SCW DELETE unknown user is not_found" "$S" DELETE "$RDB/instances/$RI/users/nobody"
expect 200 "SCW DELETE instances/{id}" "$S" DELETE "$RDB/instances/$RI"
expect 200 "SCW DELETE clusters/{id}" "$S" DELETE "$K8S/clusters/$SC?with_additional_resources=false"
expect 204 "SCW DELETE private-networks/{id}" "$S" DELETE "$VPC/private-networks/$PN"
expect 204 "SCW DELETE vpcs/{id}" "$S" DELETE "$VPC/vpcs/$SV"

# ---- direct (not through Prism, which would answer these itself)
call "" GET "$SIM_URL/v2/account"
check "DO missing token: 401 unauthorized" test "$STATUS $(printf '%s' "$BODY" | jq -r .id)" = "401 unauthorized"
call "" GET "$SIM_URL/k8s/v1/regions/fr-par/clusters"
check "SCW missing token: 401 denied_authentication" test "$STATUS $(printf '%s' "$BODY" | jq -r .type)" = "401 denied_authentication"
call "$D" POST "$SIM_URL/v2/vpcs" '{"name":'
check "DO malformed JSON: 400 bad_request" test "$STATUS $(printf '%s' "$BODY" | jq -r .id)" = "400 bad_request"
call "$S" POST "$SIM_URL/vpc/v2/regions/fr-par/vpcs" '{"name":'
check "SCW malformed JSON: 400 invalid_arguments" test "$STATUS $(printf '%s' "$BODY" | jq -r .type)" = "400 invalid_arguments"
call "$D" GET "$SIM_URL/kube/$CL/api"
check "kube hook answers a Kubernetes Status" test "$STATUS $(printf '%s' "$BODY" | jq -r .kind)" = "404 Status"

done_testing
