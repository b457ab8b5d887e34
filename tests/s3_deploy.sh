#!/bin/sh
# s3_deploy.sh - two `hoist deploy` runs on one environment sharing S3 state
# in hoist-sim: one proceeds, the other names the holder; a SIGKILLed
# holder's lease goes stale and `hoist force-unlock` lets a new run proceed;
# the AWS CLI reads the state hoist wrote; history, rollback and migrate.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"
AWS=/usr/bin/aws
[ -x "$AWS" ] || skip_all "the AWS CLI (/usr/bin/aws) is not installed"
sim_start s3 || skip_all "hoist-sim did not start"
export AWS_ACCESS_KEY_ID=AKIDHOISTSIM AWS_SECRET_ACCESS_KEY=hoist-sim-secret
export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER= AWS_CONFIG_FILE=/dev/null
export HOIST_STATE_LEASE=2
unset HOIST_STATE_KEY HOIST_STATE_KEY_FILE
aws() { "$AWS" --endpoint-url "$SIM_URL" "$@"; }
aws s3api create-bucket --bucket team-state >/dev/null 2>&1 || skip_all "aws s3api create-bucket failed"

for d in a b c; do
    mkdir -p "$SIM_TMP/$d"
    cat > "$SIM_TMP/$d/hoist.yml" <<YML
project: shop
state: { backend: s3, bucket: team-state, prefix: hoist/shop, region: us-east-1, endpoint: "$SIM_URL" }
environments:
  dev: { provider: "null", latency_ms: 300, polls: 1 }
databases:
  - { name: main, engine: postgresql }
applications:
  - { name: worker, image: "w:1", databases: [main] }
YML
done
deploy() { (cd "$SIM_TMP/$1" && exec "$HOIST" deploy -e dev --yes); }
# started LOG: wait until the run writing LOG has started its first step, so
# it holds the lock (polling S3 with the AWS CLI, which takes seconds to
# start on a busy machine, saw short runs finish first).
started() { for _i in $(seq 1 200); do grep -q " started" "$1" && break; sleep 0.05; done; }
# kill_destroy LOG: SIGKILL a destroy from a/ once it holds the lock; $pk is its pid.
kill_destroy() {
    (cd "$SIM_TMP/a" && exec "$HOIST" destroy -e dev --yes) >"$1" 2>&1 &
    pk=$!
    started "$1"
    kill -KILL $pk
    wait $pk 2>/dev/null
}

# 1. two overlapping runs: exactly one proceeds
(cd "$SIM_TMP/a" && exec "$HOIST" deploy -e dev --yes) >"$SIM_TMP/a.log" 2>&1 &
pa=$!
started "$SIM_TMP/a.log"
deploy b >"$SIM_TMP/b.log" 2>&1
rb=$?
wait $pa
ra=$?
check "the first run proceeds" [ $ra -eq 0 ]
check "the unsealed warning names the bucket and claims no file mode" \
    sh -c 'grep -q "secrets are stored unsealed in s3://" "$1" && ! grep -q "mode 0600" "$1"' - "$SIM_TMP/a.log"
check "the second run fails" [ $rb -eq 1 ]
grep -q "environment 'dev' is locked by .*pid $pa (operation deploy, lock id [0-9a-f-]*) since " "$SIM_TMP/b.log" &&
    ok "the second run names the holder (pid $pa) and since when" || { not_ok "holder named"; cat "$SIM_TMP/b.log" >&2; }
check "the lock was released at the end" sh -c "! $AWS --endpoint-url $SIM_URL s3api head-object --bucket team-state --key hoist/shop/dev.lock >/dev/null 2>&1"

# 2. the AWS CLI reads the state hoist wrote
aws s3 cp s3://team-state/hoist/shop/dev.json - > "$SIM_TMP/dev.json" 2>"$SIM_TMP/cp.err"
check "aws s3 cp reads the state" python3 -c "
import json,sys; d=json.load(open('$SIM_TMP/dev.json'))
assert d['project']=='shop' and d['env']=='dev', d
assert sorted(d['resources'])==['app/worker','database/main','network/network'], d['resources']"

# 3. a SIGKILLed holder: its lease goes stale; force-unlock, then a run proceeds
kill_destroy "$SIM_TMP/k.log"
deploy c >"$SIM_TMP/c1.log" 2>&1
check "right after the kill the lock is live" grep -q "is locked by .*pid $pk" "$SIM_TMP/c1.log"
# the lease (2 s) plus the 1 s slack, measured in whole seconds on both
# ends: 4.5 s is past it however the seconds fall.
sleep 4.5
deploy c >"$SIM_TMP/c2.log" 2>&1
check "after the lease the lock is reported stale" grep -q "its lease is stale since .*break it with: hoist force-unlock -e dev " "$SIM_TMP/c2.log"
id=$(sed -n 's/.*hoist force-unlock -e dev \([0-9a-f-]*\).*/\1/p' "$SIM_TMP/c2.log")
(cd "$SIM_TMP/c" && "$HOIST" force-unlock -e dev not-the-id) >"$SIM_TMP/fu0.log" 2>&1
check "force-unlock refuses a wrong lock id" grep -q "has id $id, not not-the-id" "$SIM_TMP/fu0.log"
(cd "$SIM_TMP/c" && "$HOIST" force-unlock -e dev "$id") >"$SIM_TMP/fu.log" 2>&1
check "force-unlock breaks the stale lock without --force" grep -q "Broke lock $id" "$SIM_TMP/fu.log"
deploy c >"$SIM_TMP/c3.log" 2>&1
check "then a new run proceeds" [ $? -eq 0 ]

# 3b. the same on one host, seen at once: the holder's pid no longer exists,
# so the lock is reported dead before its lease runs out and force-unlock
# breaks it without --force.
kill_destroy "$SIM_TMP/k2.log"
deploy c >"$SIM_TMP/d1.log" 2>&1
check "a dead holder on this host is said so at once" \
    grep -q "pid $pk (operation destroy.*no longer running.*break its lock now with: hoist force-unlock -e dev [0-9a-f-]" "$SIM_TMP/d1.log"
id=$(sed -n 's/.*hoist force-unlock -e dev \([0-9a-f-]*\).*/\1/p' "$SIM_TMP/d1.log")
(cd "$SIM_TMP/c" && "$HOIST" force-unlock -e dev "$id") >"$SIM_TMP/fu2.log" 2>&1
check "force-unlock breaks a dead holder's live lease without --force" grep -q "Broke lock $id" "$SIM_TMP/fu2.log"
deploy c >"$SIM_TMP/d2.log" 2>&1
check "then a new run proceeds at once" [ $? -eq 0 ]

# 4. history, rollback, migrate
# a version a killed run kept but never pruned (its window moved on): put
# one back by hand; history lists only the window and finishes the prune.
aws s3 cp "$SIM_TMP/dev.json" s3://team-state/hoist/shop/dev.json.v1 >/dev/null 2>&1
(cd "$SIM_TMP/c" && "$HOIST" state history -e dev -o json) >"$SIM_TMP/h.json" 2>&1
check "history lists serials with time and who" python3 -c "
import json; v=json.load(open('$SIM_TMP/h.json')); s=[e['serial'] for e in v]
assert len(v)==10 and s==sorted(s, reverse=True), v
assert all(e['time'] and '(deploy)' in e['who'] or '(destroy)' in e['who'] for e in v), v"
check "history removed the version left behind" sh -c "! $AWS --endpoint-url $SIM_URL s3api head-object --bucket team-state --key hoist/shop/dev.json.v1 >/dev/null 2>&1"
cur=$(python3 -c "import json; print(json.load(open('$SIM_TMP/h.json'))[0]['serial'])")
old=$(python3 -c "import json; print(json.load(open('$SIM_TMP/h.json'))[-1]['serial'])")
aws s3api get-object --bucket team-state --key "hoist/shop/dev.json.v$old" "$SIM_TMP/old.json" >/dev/null
(cd "$SIM_TMP/c" && "$HOIST" state rollback -e dev "$old") >"$SIM_TMP/rb.log" 2>&1
check "rollback writes the old version as a new serial" grep -q "serial $old is now current, written as serial $((cur + 1))" "$SIM_TMP/rb.log"
aws s3 cp s3://team-state/hoist/shop/dev.json "$SIM_TMP/now.json" >/dev/null 2>&1
check "the rolled-back resources are the old version's" python3 -c "
import json; a=json.load(open('$SIM_TMP/old.json')); b=json.load(open('$SIM_TMP/now.json'))
assert a['resources']==b['resources'] and b['serial']==$((cur + 1)), (a['serial'], b['serial'])"
(cd "$SIM_TMP/c" && "$HOIST" state migrate -e dev --to file) >"$SIM_TMP/mg.log" 2>&1
check "migrate --to file says where the state went" grep -q "copied from s3://team-state/hoist/shop/dev.json .* to $SIM_TMP/c/.hoist/state/dev.json" "$SIM_TMP/mg.log"
check "the file copy holds the same resources" python3 -c "
import json; a=json.load(open('$SIM_TMP/now.json')); b=json.load(open('$SIM_TMP/c/.hoist/state/dev.json'))
assert a['resources']==b['resources'] and a['lineage']==b['lineage']"
python3 -c "
import json; p='$SIM_TMP/c/.hoist/state/dev.json'; d=json.load(open(p)); d['lineage']='other-lineage'
json.dump(d, open(p, 'w'))"
(cd "$SIM_TMP/c" && "$HOIST" state migrate -e dev --to s3) >"$SIM_TMP/mg2.log" 2>&1
check "migrate refuses to replace a different state without --force" grep -q "already holds a different state" "$SIM_TMP/mg2.log"
(cd "$SIM_TMP/c" && "$HOIST" state migrate -e dev --to s3 --force) >"$SIM_TMP/mg3.log" 2>&1
aws s3 cp s3://team-state/hoist/shop/dev.json "$SIM_TMP/now2.json" >/dev/null 2>&1
check "migrate --to s3 --force replaces it" grep -q '"lineage": "other-lineage"' "$SIM_TMP/now2.json"
done_testing
