#!/bin/sh
# s3_s3rver.sh - the S3 state backend against s3rver (an S3 implementation we
# did not write) behind a proxy that verifies every request's SigV4 signature
# with botocore: plain reads and writes work.  s3rver ignores If-None-Match
# and If-Match, so locking and conflict detection are NOT exercised here
# (they need a store that honours conditional writes: AWS S3, hoist-sim).
#   HOIST_S3RVER  path of s3rver's bin/s3rver.js (npm s3rver@3.7.1)
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"
[ -n "$HOIST_S3RVER" ] && [ -f "$HOIST_S3RVER" ] ||
    skip_all "set HOIST_S3RVER to s3rver's bin/s3rver.js (npm install s3rver@3.7.1)"
command -v node >/dev/null || skip_all "node is not installed"
/usr/bin/python3 -c 'import botocore' 2>/dev/null || skip_all "python3-botocore is not installed"
export AWS_ACCESS_KEY_ID=AKIDS3RVERTEST AWS_SECRET_ACCESS_KEY=s3rver-test-secret
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null
unset HOIST_STATE_KEY HOIST_STATE_KEY_FILE HOIST_STATE_LEASE

port=$(free_port)
mkdir -p "$SIM_TMP/s3rver"
node "$HOIST_S3RVER" --directory "$SIM_TMP/s3rver" --port "$port" --address 127.0.0.1 \
    --silent --configure-bucket team-state >"$SIM_TMP/s3rver.log" 2>&1 &
SIM_PIDS="$SIM_PIDS $!"
for _i in $(seq 1 100); do
    grep -q "listening" "$SIM_TMP/s3rver.log" && break
    sleep 0.1
done
grep -q "listening" "$SIM_TMP/s3rver.log" || skip_all "s3rver did not start: $(cat "$SIM_TMP/s3rver.log")"
/usr/bin/python3 "$HOIST_SRCDIR/tests/s3_sigv4_proxy.py" "http://127.0.0.1:$port" \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$SIM_TMP/proxy.log" 2>&1 &
SIM_PIDS="$SIM_PIDS $!"
PX=""
for _i in $(seq 1 100); do
    PX=$(sed -n 's/^listening on //p' "$SIM_TMP/proxy.log")
    [ -n "$PX" ] && break
    sleep 0.05
done
[ -n "$PX" ] || skip_all "the SigV4 proxy did not start: $(cat "$SIM_TMP/proxy.log")"
stats() { /usr/bin/python3 -c "import json,urllib.request; print(json.load(urllib.request.urlopen('$PX/_proxy/stats'))['$1'])"; }

P=$SIM_TMP/p
mkdir -p "$P"
cat > "$P/hoist.yml" <<YML
project: shop
state: { backend: s3, bucket: team-state, prefix: ci, endpoint: "$PX" }
environments:
  dev: { provider: "null", latency_ms: 5, polls: 1 }
databases:
  - { name: main, engine: postgresql }
applications:
  - { name: worker, image: "w:1", databases: [main] }
YML
(cd "$P" && "$HOIST" deploy -e dev --yes) >"$SIM_TMP/d1.log" 2>&1
check "deploy writes its state to s3rver" [ $? -eq 0 ]
check "s3rver holds the document" python3 -c "
import glob, json, os
f = [p for p in glob.glob('$SIM_TMP/s3rver/team-state/ci/dev.json*') if os.path.basename(p).startswith('dev.json._S3rver_object')]
d = json.load(open(f[0])); assert sorted(d['resources']) == ['app/worker', 'database/main', 'network/network'], d"
(cd "$P" && "$HOIST" deploy -e dev --yes) >"$SIM_TMP/d2.log" 2>&1
check "a second deploy reads it back: nothing to do" grep -q "Nothing to do" "$SIM_TMP/d2.log"
(cd "$P" && "$HOIST" state history -e dev -o json) >"$SIM_TMP/h.json" 2>&1
check "history lists the versions kept in s3rver" python3 -c "
import json; v = json.load(open('$SIM_TMP/h.json')); assert len(v) >= 3 and v[0]['serial'] > v[-1]['serial'], v"
check "every request passed botocore's SigV4 check" [ "$(stats rejected)" -eq 0 ] && [ "$(stats verified)" -gt 5 ]
AWS_SECRET_ACCESS_KEY=wrong sh -c "cd '$P' && '$HOIST' deploy -e dev --yes" >"$SIM_TMP/d3.log" 2>&1
check "a wrong secret is refused by the proxy, and hoist says so" grep -q "HTTP 403 SignatureDoesNotMatch.*check the credentials" "$SIM_TMP/d3.log"
done_testing
