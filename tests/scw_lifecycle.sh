#!/bin/sh
# scw_lifecycle.sh - the Scaleway driver, through the real loader, against
# hoist-sim with faults on: deploy -> status -> deploy again (no mutating
# call at all) -> destroy; nothing created twice, nothing left behind.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"
. "$HOIST_SRCDIR/tests/scw_lib.sh"
command -v jq >/dev/null || skip_all "jq not installed"
[ -x "$SCW_DRIVE" ] || skip_all "scw_drive not built"

SEED=${SCW_SEED:-11}
# --no-registry: the namespace endpoint stays Scaleway's own host (rg.fr-par.scw.cloud),
# which this test checks; sim_registry.sh covers hoist-sim's real registry.
sim_start main --faults error=0.2,throttle=0.1,lost=0.05 --seed "$SEED" --no-registry \
    --delay cluster=300ms,pool=200ms,instance=300ms,namespace=50ms ||
    { echo "1..1"; not_ok "hoist-sim starts"; exit 1; }
diag "faults error=0.2,throttle=0.1,lost=0.05 seed $SEED"

# dump the driver's output when something fails
show() { diag "$(sed 's/^/  /' "$SIM_TMP/$1.out" "$SIM_TMP/$1.err" | tail -n 30)"; }

scw_run deploy
rc=$?
check_or "deploy converges (every resource READY) under faults" 'show deploy' test $rc = 0
for k in network/network cluster/cluster registry/api database/main; do
    check "deploy: $k READY" grep -q "^RESULT $k ok$" "$SIM_TMP/deploy.out"
done
check "cluster credentials: the sim's /kube endpoint and a token" \
    grep -q "^CLUSTER ok endpoint=$SIM_URL/kube/[0-9a-f-]* ca=none token=set$" "$SIM_TMP/deploy.out"
check "registry login: nologin + secret key, repository <namespace>/api" \
    grep -Eq '^REGISTRY ok endpoint=rg.fr-par.scw.cloud repository=hoist-shop-staging-api-[0-9a-f]{8}/api username=nologin password=set$' "$SIM_TMP/deploy.out"
check "database connection on the private network (172.16.x.5:5432, TLS)" \
    grep -Eq '^DATABASE ok host=172\.16\.[0-9]+\.5 port=5432 user=main_app database=main tls=1 password=set$' "$SIM_TMP/deploy.out"
FAULTS=$(grep -c 'transient' "$SIM_TMP/deploy.err")
diag "deploy: $FAULTS transient failures reached the driver and were retried"
check "faults really happened (the driver saw transient failures)" test "$FAULTS" -gt 0
check "no secret in the driver's output" sh -c "! grep -q hoist-sim-scw-secret '$SIM_TMP/deploy.out' '$SIM_TMP/deploy.err'"
check "the database password is recorded (secrets.password)" \
    test "$(jq -r '."database/main".secrets.password | length' "$SCW_STATE")" -ge 20

RES=$(sim_get /_sim/resources)
check "cluster on the environment's private network" test \
    "$(printf '%s' "$RES" | jq -r '[.resources[] | select(.type=="k8s_cluster")] | length')" = 1
check "ownership tags on the cluster" sh -c "printf '%s' '$RES' | jq -e '.resources[] | select(.type==\"k8s_cluster\") | .tags | index(\"hoist:project=shop\") and index(\"hoist:env=staging\") and index(\"hoist:resource=cluster/cluster\")' >/dev/null"

# What ensure built on the sim matches hoist.yml (read straight from the API).
CL=$(jq -r '."cluster/cluster".id' "$SCW_STATE")
scw_api_get "/k8s/v1/regions/fr-par/clusters/$CL/pools" >"$SIM_TMP/pools.json"
check "pool: PRO2-XXS, autoscaling 1..3, autohealing" test \
    "$(jq -r '.pools[0] | "\(.node_type) \(.autoscaling) \(.min_size) \(.max_size) \(.autohealing)"' "$SIM_TMP/pools.json")" = "PRO2-XXS true 1 3 true"
check "cluster: newest 1.31 patch, cilium" test \
    "$(scw_api_get "/k8s/v1/regions/fr-par/clusters/$CL" | jq -r '"\(.version) \(.cni)"')" = "1.31.7 cilium"
DB=$(jq -r '."database/main".id' "$SCW_STATE")
SUBNET=$(jq -r '."network/network".subnet' "$SCW_STATE")
check "database ACL is exactly the private network's subnet ($SUBNET)" test \
    "$(scw_api_get "/rdb/v1/regions/fr-par/instances/$DB/acls" | jq -r '[.rules[].ip] | join(",")')" = "$SUBNET"
check "app user has all privileges on its database" test \
    "$(scw_api_get "/rdb/v1/regions/fr-par/instances/$DB/privileges" | jq -r '.privileges[] | "\(.user_name) \(.database_name) \(.permission)"')" = "main_app main all"

scw_run status
check_or "status: every resource observed READY" 'show status' test $? = 0

before=$(scw_mutations)
scw_run deploy
check_or "deploy again converges" 'show deploy' test $? = 0
after=$(scw_mutations)
check "deploy again made ZERO mutating calls ($before -> $after)" test "$before" = "$after"

scw_run destroy
check_or "destroy converges under faults" 'show destroy' test $? = 0
check "state is empty after destroy" test "$(jq 'length' "$SCW_STATE")" = 0
scw_run destroy
check "destroy again is a no-op (all gone)" test $? = 0

sleep 0.4 # let the last 'deleting' objects finish leaving
LEFT=$(sim_get /_sim/resources | jq '[.resources[] | select(.cloud=="scw")] | length')
check_or "zero leftovers on the sim" 'diag "$(sim_get /_sim/resources)"' test "$LEFT" = 0
DUPS=$(sim_get /_sim/creations | jq -c '[.creations[] | select(.cloud=="scw" and .count > 1)]')
check_or "zero duplicate creations" 'diag "$DUPS"' test "$DUPS" = "[]"
N=$(sim_get /_sim/creations | jq '[.creations[] | select(.cloud=="scw")] | length')
check "every kind was created once (vpc, pn, cluster, pool, namespace, instance, db, user: $N)" test "$N" -ge 8
diag "destroy: $(grep -c 'transient' "$SIM_TMP/destroy.err") transient failures retried"

done_testing
