#!/bin/sh
# do_names.sh - DigitalOcean names at the length limit (issue 24): with a
# 40-character project and the environment production-eu-west-2a, the
# databases `orders` and `billing` used to be cut to the same 63-character
# name, and the second adopted the first.  Now each gets its own database
# cluster (the name keeps a prefix and ends with a hash of the whole), a
# second deploy changes nothing, and destroy leaves nothing behind.  A
# cluster an older hoist named with the plain cut is still adopted, by the
# database its ownership tags name and by no other.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"
. "$HOIST_SRCDIR/tests/do_lib.sh"

PROJECT=northwind-traders-inventory-platform-v2x
ENV=production-eu-west-2a
sim_start main || { echo "1..1"; not_ok "hoist-sim starts"; exit 1; }

drive "$SIM_URL" deploy --project "$PROJECT" --env "$ENV" --databases orders,billing
check "deploy with two long-named databases converges" test $? -eq 0
[ $? -eq 0 ] || diag "$(tail -20 "$OUT")"

curl -s "$SIM_URL/_sim/resources" >"$SIM_TMP/res.json"
jq -r '[.resources[] | select(.cloud == "do" and .type == "database") | .name] | sort | .[]' \
    "$SIM_TMP/res.json" >"$SIM_TMP/dbs.txt"
diag "database clusters: $(tr '\n' ' ' <"$SIM_TMP/dbs.txt")"
check "two database clusters exist (the second did not adopt the first)" \
    test "$(sort -u "$SIM_TMP/dbs.txt" | wc -l)" -eq 2
check "both names within DigitalOcean's 63 characters" \
    test "$(awk 'length($0) > 63' "$SIM_TMP/dbs.txt" | wc -l)" -eq 0
check "both keep the readable prefix and end with an 8-hex hash" \
    test "$(grep -cE "^${PROJECT}-production-eu-[0-9a-f]{8}\$" "$SIM_TMP/dbs.txt")" -eq 2
ORD=$(jq -r '."database/orders".outputs.id' "$SIM_TMP/state.json")
BIL=$(jq -r '."database/billing".outputs.id' "$SIM_TMP/state.json")
check "the two databases have different ids" test -n "$ORD" -a "$ORD" != null -a "$ORD" != "$BIL"
check "the cluster's long name was shortened the same way" \
    test "$(jq '[.resources[] | select(.cloud == "do" and .type == "kubernetes_cluster") | .name | length <= 63] | all' "$SIM_TMP/res.json")" = true

drive "$SIM_URL" status --project "$PROJECT" --env "$ENV" --databases orders,billing
check "status: all six resources READY" test $? -eq 0 -a "$(grep -c ': ok' "$OUT")" -eq 6

BEFORE=$(mutating_calls)
mv "$SIM_TMP/state.json" "$SIM_TMP/state.kept"
drive "$SIM_URL" deploy --project "$PROJECT" --env "$ENV" --databases orders,billing
check "deploy without recorded ids finds both databases by name" test $? -eq 0
check "...without a single mutating call" test "$(mutating_calls)" = "$BEFORE"

drive "$SIM_URL" destroy --project "$PROJECT" --env "$ENV" --databases orders,billing
check "destroy converges" test $? -eq 0
[ $? -eq 0 ] || diag "$(tail -20 "$OUT")"
check "zero leftovers" test "$(curl -s "$SIM_URL/_sim/resources" | jq '[.resources[] | select(.cloud == "do")] | length')" = 0
check "every object created exactly once" \
    test "$(curl -s "$SIM_URL/_sim/creations" | jq '[.creations[] | select(.cloud=="do") | .count] | all(. == 1)')" = true

# An older hoist cut the name to 63 characters: that cluster is adopted by the
# database its tags name (orders), never by another one (billing).
LEGACY=$(printf '%s-%s' "$PROJECT" "$ENV" | cut -c1-63 | sed 's/-*$//')
LID=$(curl -s -H "$SIM_DO_AUTH" -H 'Content-Type: application/json' -X POST "$SIM_URL/v2/databases" \
    -d "{\"name\":\"$LEGACY\",\"engine\":\"pg\",\"version\":\"16\",\"size\":\"db-s-1vcpu-1gb\",\"region\":\"fra1\",\"num_nodes\":1,\"tags\":[\"hoist:project:$PROJECT\",\"hoist:env:$ENV\",\"hoist:resource:database-orders\"]}" |
    jq -r .database.id)
check "an old-style database cluster exists ($LEGACY)" test -n "$LID" -a "$LID" != null
rm -f "$SIM_TMP/state.json"
drive "$SIM_URL" deploy --project "$PROJECT" --env "$ENV" --databases orders,billing
check "deploy next to the old-style cluster converges" test $? -eq 0
[ $? -eq 0 ] || diag "$(tail -20 "$OUT")"
check "orders adopted the cluster an older hoist made for it" \
    test "$(jq -r '."database/orders".outputs.id' "$SIM_TMP/state.json")" = "$LID"
BIL=$(jq -r '."database/billing".outputs.id' "$SIM_TMP/state.json")
check "billing did not: it has its own" test -n "$BIL" -a "$BIL" != null -a "$BIL" != "$LID"
check "two database clusters in all" \
    test "$(curl -s "$SIM_URL/_sim/resources" | jq '[.resources[] | select(.cloud == "do" and .type == "database")] | length')" = 2
drive "$SIM_URL" destroy --project "$PROJECT" --env "$ENV" --databases orders,billing
check "destroy removes both, the old-style one included" test $? -eq 0 -a \
    "$(curl -s "$SIM_URL/_sim/resources" | jq '[.resources[] | select(.cloud == "do")] | length')" = 0

done_testing
