#!/bin/sh
# sim_faults.sh - hoist-sim's own behaviour: deterministic faults from a
# seed, lost/reset semantics, per-cloud scoping, latency, the admin API,
# delays and --state-dir persistence.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"
command -v jq >/dev/null || skip_all "jq not installed"

D=$SIM_DO_AUTH
S=$SIM_SCW_AUTH

# statuses N: N GETs of /v2/account, their status codes on one line.
statuses() {
    _out=""
    for _i in $(seq 1 "$1"); do
        _out="$_out $(curl -s -o /dev/null -w '%{http_code}' -H "$D" "$SIM_URL/v2/account")"
    done
    echo "$_out"
}

sim_start a --faults error=0.3,throttle=0.15 --seed 42 || exit 1
A_PID=$SIM_PID
SEQ1=$(statuses 40)
curl -s -X POST "$SIM_URL/_sim/reset" >/dev/null
SEQ2=$(statuses 40)
check "same seed, same requests: same faults after /_sim/reset" test "$SEQ1" = "$SEQ2"
case $SEQ1 in *200*) ok "some requests succeed" ;; *) not_ok "some requests succeed: $SEQ1" ;; esac
case $SEQ1 in *429*) ok "throttle gives 429" ;; *) not_ok "throttle gives 429: $SEQ1" ;; esac
case $SEQ1 in *50[03]*) ok "error gives 500/503" ;; *) not_ok "error gives 500/503: $SEQ1" ;; esac
curl -s -X POST "$SIM_URL/_sim/reset" >/dev/null
for _i in $(seq 1 40); do
    curl -s -D "$SIM_TMP/h" -o "$SIM_TMP/b" -H "$D" "$SIM_URL/v2/account"
    grep -q '^HTTP/1.1 429' "$SIM_TMP/h" && break
done
check "429 carries Retry-After" grep -qi '^Retry-After: 1' "$SIM_TMP/h"
check "429 carries DO rate-limit headers" grep -qi '^ratelimit-remaining:' "$SIM_TMP/h"
check "429 body is DO's too_many_requests" test "$(jq -r .id "$SIM_TMP/b")" = too_many_requests
sim_stop "$A_PID"

sim_start b --faults error=0.3,throttle=0.15 --seed 42 || exit 1
check "same seed after a restart: same faults" test "$(statuses 40)" = "$SEQ1"
sim_stop "$SIM_PID"
sim_start c --faults error=0.3,throttle=0.15 --seed 43 || exit 1
check "another seed: other faults" test "$(statuses 40)" != "$SEQ1"
sim_stop "$SIM_PID"

# lost: the action happens, the answer never comes
sim_start d --faults do.lost=1 || exit 1
curl -s -H "$D" -X POST -d '{"name":"lost-vpc","region":"fra1"}' "$SIM_URL/v2/vpcs" >"$SIM_TMP/b"
RC=$?
check "lost: the client gets no answer (curl exit 52)" test "$RC" = 52
check "lost: the VPC exists anyway" test "$(curl -s "$SIM_URL/_sim/resources" | jq -r '[.resources[]|select(.name=="lost-vpc")]|length')" = 1
check "lost: /_sim/creations counts it once" test "$(curl -s "$SIM_URL/_sim/creations" | jq -r '.creations[]|select(.name=="lost-vpc")|.count')" = 1
check "lost: /_sim/calls counts a mutating POST /v2/vpcs" test "$(curl -s "$SIM_URL/_sim/calls" | jq -r '.calls[]|select(.operation=="POST /v2/vpcs")|"\(.mutating) \(.count)"')" = "true 1"
check "Scaleway is not affected by do.lost" test "$(curl -s -o /dev/null -w '%{http_code}' -H "$S" "$SIM_URL/vpc/v2/regions/fr-par/vpcs")" = 200

# reset via the admin API: nothing happens, no answer
curl -s -X POST -d '{"do.lost":0,"do.reset":1}' "$SIM_URL/_sim/faults" >/dev/null
curl -s -H "$D" -X POST -d '{"name":"reset-vpc","region":"fra1"}' "$SIM_URL/v2/vpcs" >/dev/null
check "reset: the client gets no answer" test $? = 52
check "reset: nothing was created" test "$(curl -s "$SIM_URL/_sim/resources" | jq -r '[.resources[]|select(.name=="reset-vpc")]|length')" = 0
curl -s -X POST -d '{"do.reset":0,"scw.error":1}' "$SIM_URL/_sim/faults" >/dev/null
curl -s -o "$SIM_TMP/b" -w '%{http_code}' -H "$S" "$SIM_URL/vpc/v2/regions/fr-par/vpcs" >"$SIM_TMP/s"
check "scw.error: Scaleway answers 5xx in its shape" sh -c "grep -q '^50[03]\$' '$SIM_TMP/s' && jq -e '.type and .message' '$SIM_TMP/b' >/dev/null"
check "scw.error: DigitalOcean unaffected" test "$(curl -s -o /dev/null -w '%{http_code}' -H "$D" "$SIM_URL/v2/account")" = 200
curl -s -X POST -d '{"scw.error":0,"latency":"300ms"}' "$SIM_URL/_sim/faults" >/dev/null
T=$(curl -s -o /dev/null -w '%{time_total}' -H "$D" "$SIM_URL/v2/account")
check "latency=300ms delays an answer ($T s)" awk "BEGIN{exit !($T >= 0.3)}"
T=$(curl -s -o /dev/null -w '%{time_total}' "$SIM_URL/_sim/faults")
check "the admin API is never faulted ($T s)" awk "BEGIN{exit !($T < 0.3)}"
curl -s -X POST -d '{"latency":0}' "$SIM_URL/_sim/faults" >/dev/null
check "bad fault key is refused" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"bogus":1}' "$SIM_URL/_sim/faults")" = 400

# delays: a slow cluster stays provisioning, then runs
curl -s -X POST -d '{"cluster":"600ms"}' "$SIM_URL/_sim/delays" >/dev/null
CL=$(curl -s -H "$D" -X POST -d '{"name":"slow","region":"fra1","version":"latest","node_pools":[{"name":"p","size":"s-1vcpu-2gb","count":1}]}' "$SIM_URL/v2/kubernetes/clusters" | jq -r .kubernetes_cluster.id)
check "cluster is provisioning before its delay" test "$(curl -s -H "$D" "$SIM_URL/v2/kubernetes/clusters/$CL" | jq -r .kubernetes_cluster.status.state)" = provisioning
sleep 0.7
check "cluster is running after its delay" test "$(curl -s -H "$D" "$SIM_URL/v2/kubernetes/clusters/$CL" | jq -r .kubernetes_cluster.status.state)" = running
curl -s -H "$D" -X DELETE "$SIM_URL/v2/kubernetes/clusters/$CL" >/dev/null
check "deleted cluster shows deleting" test "$(curl -s "$SIM_URL/_sim/resources" | jq -r '.resources[]|select(.id=="'"$CL"'")|"\(.deleting) \(.status)"')" = "true deleting"
sleep 0.7
check "deleted cluster is gone after its delay" test "$(curl -s -o /dev/null -w '%{http_code}' -H "$D" "$SIM_URL/v2/kubernetes/clusters/$CL")" = 404
curl -s -X POST "$SIM_URL/_sim/reset" >/dev/null
check "/_sim/reset forgets resources" test "$(curl -s "$SIM_URL/_sim/resources" | jq '.resources|length')" = 0
sim_stop "$SIM_PID"

# persistence
sim_start e --state-dir "$SIM_TMP/state" || exit 1
curl -s -H "$D" -X POST -d '{"name":"kept","region":"ams3"}' "$SIM_URL/v2/vpcs" >/dev/null
sim_stop "$SIM_PID"
sim_start f --state-dir "$SIM_TMP/state" || exit 1
check "--state-dir keeps resources across a restart" test "$(curl -s -H "$D" "$SIM_URL/v2/vpcs" | jq -r '.vpcs[0].name')" = kept
sim_stop "$SIM_PID"
check "--faults rejects an unknown kind" sh -c "! '$SIM_BIN' --faults nope=1 2>/dev/null"
done_testing
