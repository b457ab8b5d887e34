#!/bin/sh
# do_lifecycle.sh - the DigitalOcean driver's whole lifecycle against
# hoist-sim with faults on (5xx, 429, answers lost after the work was done):
# deploy, status, deploy again without a single mutating call, destroy;
# every object created exactly once and nothing left behind.  Then the error
# mapping: bad token, a region DO refuses, plain http off loopback.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"
. "$HOIST_SRCDIR/tests/do_lib.sh"

SEED=${HOIST_DO_SEED:-11}
sim_start main --faults error=0.2,throttle=0.1,lost=0.05 --seed "$SEED" \
    --delay cluster=1s,database=1s || { echo "1..1"; not_ok "hoist-sim starts"; exit 1; }
diag "seed $SEED"

HOIST_TEST_DEBUG=1 drive "$SIM_URL" deploy
check "deploy converges through faults" test $? -eq 0
[ $? -eq 0 ] || diag "$(tail -20 "$OUT")"
check "faults really happened (the transport retried, or calls came back transient)" \
    grep -qE ': retry [0-9]|: temporary failure' "$OUT"
# The cloud's own status word, from an answer the driver freed before
# returning: host->progress copied it (ABI 1.3; no interning table).
check "pending calls carry DigitalOcean's status word (host->progress)" \
    grep -qE '^ensure cluster/cluster: pending - provisioning' "$OUT"

drive "$SIM_URL" status
check "status: every resource observed READY" test $? -eq 0 -a "$(grep -c ': ok' "$OUT")" -eq 5
check "network is a /20 in 10.100-199" grep -Eq '"ip_range":"10\.1[0-9][0-9]\.[0-9]+\.0/20"' "$OUT"
check "database outputs the private host" grep -q '"host":"private-shop-staging-main' "$OUT"
check "registry repository is <registry>/<project>-<env>-<app>" grep -q '"repository":"shop/shop-staging-api"' "$OUT"

CL=$(jq -r '."cluster/cluster".outputs.id' "$SIM_TMP/state.json")
DB=$(jq -r '."database/main".outputs.id' "$SIM_TMP/state.json")
drive "$SIM_URL" creds
check "credentials: cluster, registry and database all ok" test $? -eq 0
check "kube endpoint is the cluster's server" test "$(sed -n 1p "$OUT" | jq -r .cluster.endpoint)" = "$SIM_URL/kube/$CL"
check "kube token present and expiry in the future" test "$(sed -n 1p "$OUT" | jq ".cluster.token_len > 0 and .cluster.expires_at > $(date +%s)")" = true
check "registry login decoded from the docker auths" test "$(sed -n 1p "$OUT" | jq '.registry.password_len > 0 and (.registry.username|length) > 0')" = true
check "database connection: app user and db, TLS" test "$(sed -n 1p "$OUT" | jq -r '"\(.database.user) \(.database.database) \(.database.tls) \(.database.port)"')" = "main_app main true 25060"
PW=$(sim_get "/v2/databases/$DB/users/main_app" | jq -r .user.password)
check "no secret printed (the app user's password is not in the output)" test -n "$PW" -a -z "$(grep -F "$PW" "$OUT" "$SIM_TMP"/*.out)"

# The links the graph does not give: registry on the cluster, cluster on the database firewall.
curl -s "$SIM_URL/_sim/resources" >"$SIM_TMP/res.json"
check "cluster has the registry integration on" test "$(sim_get "/v2/kubernetes/clusters/$CL" | jq -r .kubernetes_cluster.registry_enabled)" = true
check "database firewall trusts the cluster (k8s rule)" test "$(sim_get "/v2/databases/$DB/firewall" | jq -r '[.rules[] | select(.type=="k8s") | .value] | join(",")')" = "$CL"
check "database and cluster carry the ownership tags" test "$(jq '[.resources[] | select(.type=="database" or .type=="kubernetes_cluster") | .tags | index("hoist:project:shop") != null and index("hoist:env:staging") != null] | all' "$SIM_TMP/res.json")" = true

BEFORE=$(mutating_calls)
drive "$SIM_URL" deploy
check "second deploy converges" test $? -eq 0
AFTER=$(mutating_calls)
check "second deploy made ZERO mutating calls ($BEFORE -> $AFTER)" test "$BEFORE" = "$AFTER"

# A fresh state (as after a lost state file): found by name, nothing created.
mv "$SIM_TMP/state.json" "$SIM_TMP/state.kept"
drive "$SIM_URL" deploy
check "deploy without recorded ids adopts everything" test $? -eq 0
check "...still without a mutating call" test "$(mutating_calls)" = "$AFTER"

drive "$SIM_URL" destroy
check "destroy converges through faults" test $? -eq 0
[ $? -eq 0 ] || diag "$(tail -20 "$OUT")"
check "zero leftovers" test "$(curl -s "$SIM_URL/_sim/resources" | jq '[.resources[] | select(.cloud == "do")] | length')" = 0
curl -s "$SIM_URL/_sim/creations" >"$SIM_TMP/cr.json"
check "every object created exactly once" test "$(jq '[.creations[] | select(.cloud=="do") | .count] | all(. == 1)' "$SIM_TMP/cr.json")" = true
check "six objects created (vpc, cluster, registry, database, db, user)" test "$(jq '[.creations[] | select(.cloud=="do")] | length' "$SIM_TMP/cr.json")" = 6
drive "$SIM_URL" destroy
check "destroy again: already gone is done" test $? -eq 0

# Error mapping, faults off.
curl -s -X POST -H 'Content-Type: application/json' -d '{"error":0,"throttle":0,"lost":0}' "$SIM_URL/_sim/faults" >/dev/null
rm -f "$SIM_TMP/state.json"
DIGITALOCEAN_TOKEN=wrong-token drive "$SIM_URL" deploy
check "a wrong token is E_AUTH with DO's message" grep -q 'ensure network/network: authentication or permission error: .*401.*Unable to authenticate you' "$OUT"
[ $? -eq 0 ] || diag "$(cat "$OUT")"
"$DRIVE" --state "$SIM_TMP/s2.json" --state-dir "$SIM_TMP/sd" \
    --settings "{\"endpoint\":\"$SIM_URL\",\"region\":\"xx9\"}" deploy >"$SIM_TMP/bad.out" 2>&1
check "DO's 422 is E_INVALID with DO's message" grep -q 'ensure network/network: invalid request: .*unprocessable_entity: region xx9 is not available' "$SIM_TMP/bad.out"
[ $? -eq 0 ] || diag "$(cat "$SIM_TMP/bad.out")"
"$DRIVE" --state "$SIM_TMP/s3.json" --state-dir "$SIM_TMP/sd" \
    --settings '{"endpoint":"http://api.example.invalid"}' deploy >"$SIM_TMP/plain.out" 2>&1
check "plain http is refused off loopback" grep -q 'ensure network/network: invalid request' "$SIM_TMP/plain.out"
[ $? -eq 0 ] || diag "$(cat "$SIM_TMP/plain.out")"
check "no VPC was created by the failed runs" test "$(curl -s "$SIM_URL/_sim/resources" | jq '[.resources[] | select(.type == "vpc")] | length')" = 0

# The real pipeline (hoist deploy/status/destroy) on a graph it can run
# today without image and kube executors: network and a managed database.
mkdir -p "$SIM_TMP/proj"
cat >"$SIM_TMP/proj/hoist.yml" <<EOF
project: shop
environments:
  staging: { provider: digitalocean, region: fra1, endpoint: "$SIM_URL", poll_ms: 100 }
databases:
  - { name: main, engine: postgresql, version: "16", mode: managed, size: small }
EOF
(cd "$SIM_TMP/proj" && "$HOIST" deploy -e staging --yes) >"$SIM_TMP/hd.out" 2>&1
check "hoist deploy with the digitalocean driver" test $? -eq 0
[ $? -eq 0 ] || diag "$(tail -15 "$SIM_TMP/hd.out")"
(cd "$SIM_TMP/proj" && "$HOIST" status -e staging) >"$SIM_TMP/hs.out" 2>&1
check "hoist status: both resources ready and in sync" test "$(grep -c 'ready *ready *in sync' "$SIM_TMP/hs.out")" = 2
(cd "$SIM_TMP/proj" && "$HOIST" destroy -e staging --yes) >"$SIM_TMP/hx.out" 2>&1
check "hoist destroy" test $? -eq 0
# (the registry left is the one the xx9 run above created; no app here owns it)
check "hoist destroy left no VPC and no database" test "$(curl -s "$SIM_URL/_sim/resources" | jq '[.resources[] | select(.type == "vpc" or .type == "database")] | length')" = 0

done_testing
