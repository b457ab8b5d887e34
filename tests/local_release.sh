#!/bin/sh
# local_release.sh - releases on the local provider, with a client polling
# the app's stable URL every 20 ms: no failed request during a code change
# nor during scale 1->3->1; a broken release (SyntaxError) leaves the old one
# answering and fails the deploy saying why; a crash-looping app recovers
# with one deploy; a wrong healthcheck path fails at once with the 404;
# Ctrl-C during a health wait stops the deploy at once.
# Only Node.js is needed (no database): its own project in its own temp dir,
# ports from the range the provider picks free, so it runs next to others.
. "$HOIST_SRCDIR/tests/lib.sh"

command -v node >/dev/null 2>&1 || skip_all "node not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-rel-XXXXXX")
proj=$tmp/proj
state=$proj/.hoist/local/dev
poller=
cleanup() {
    [ -n "$poller" ] && kill "$poller" 2>/dev/null
    (cd "$proj" 2>/dev/null && "$HOIST" destroy -e dev --yes >/dev/null 2>&1)
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$proj/web" "$tmp/bin"
cd "$proj" || exit 1

# hoist.yml with VERSION, instance count and healthcheck path as given.
write_yml() {
    cat > hoist.yml <<EOF
project: rel
environments:
  dev: { provider: local }
applications:
  - name: web
    path: ./web
    command: [node, server.js]
    port: 3000
    instances: { min: $2 }
    healthcheck: $3
    public: true
    env: { VERSION: "$1"$4 }
EOF
}
# The app: / answers its version, /slow too after 1.5 s, /health 200 (503
# for a minute with SLOW set), anything else 404.
cat > web/server.js <<'EOF'
const http = require('http');
const t0 = Date.now();
http.createServer((req, res) => {
  if (req.url === '/health') {
    const warming = process.env.SLOW && Date.now() - t0 < 60000;
    res.statusCode = warming ? 503 : 200;
    res.end(warming ? 'warming' : 'ok');
  } else if (req.url === '/slow') {
    setTimeout(() => res.end('slow v' + process.env.VERSION + '\n'), 1500);
  } else if (req.url === '/') {
    res.end('v' + process.env.VERSION + ' ' + process.pid + '\n');
  } else {
    res.statusCode = 404;
    res.end('not found');
  }
}).listen(process.env.PORT, '127.0.0.1', () => console.log('web listening on ' + process.env.PORT));
EOF
cp web/server.js "$tmp/good.js"
# The client: GET every 20 ms on a new connection; on SIGTERM writes
# "ok N failed M seen VERSIONS errors ...".
cat > "$tmp/poll.js" <<'EOF'
const http = require('http');
const fs = require('fs');
const [url, out] = process.argv.slice(2);
let ok = 0, failed = 0;
const errors = [], seen = new Set();
function once() {
  const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
    let body = '';
    res.on('data', (d) => { body += d; });
    res.on('end', () => {
      if (res.statusCode === 200) { ok++; seen.add(body.split(' ')[0]); }
      else { failed++; errors.push('HTTP ' + res.statusCode); }
      setTimeout(once, 20);
    });
    res.on('error', (e) => { failed++; errors.push(e.code || e.message); setTimeout(once, 20); });
  });
  req.on('error', (e) => { failed++; errors.push(e.code || e.message); setTimeout(once, 20); });
  req.on('timeout', () => req.destroy(new Error('timeout')));
}
once();
process.on('SIGTERM', () => {
  fs.writeFileSync(out, `ok ${ok} failed ${failed} seen ${[...seen].sort().join(',')} ` +
                        `errors ${errors.slice(0, 5).join(',')}\n`);
  process.exit(0);
});
EOF
poll_start() {
    node "$tmp/poll.js" "$url" "$tmp/$1.poll" &
    poller=$!
    sleep 0.5
}
# poll_stop NAME: stop the client; sets ok, failed, seen.
poll_stop() {
    kill "$poller"
    wait "$poller"
    poller=
    read -r _ ok _ failed _ seen _ < "$tmp/$1.poll"
    diag "$1: $(cat "$tmp/$1.poll")"
}
deploy() { "$HOIST" deploy -e dev --yes "$@" > "$tmp/out" 2>&1; }
serving_count() { tr -d ' \n' < "$state/apps/web/serving.json" | sed -n 's/.*"instances":\[\([0-9,]*\)\].*/\1/p' | tr ',' '\n' | grep -c .; }

# The first deploy has only node on its PATH (the app's PATH comes from
# hoist's), so that node can vanish later (crash loop).
ln -s "$(command -v node)" "$tmp/bin/node"
write_yml 1 1 /health
PATH="$tmp/bin" deploy
rc=$?
check "first deploy succeeds" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/out"
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$tmp/out" | tail -n 1)
check "deploy prints the app's stable URL" [ -n "$url" ]
if [ -z "$url" ]; then
    done_testing
    exit 1
fi
check "the app answers through it" sh -c "curl -sf --max-time 5 '$url' | grep -q '^v1 '"

# Crash loop: node vanishes from the supervisor's PATH and the app dies; the
# runner keeps failing with backoff.  One deploy with a good PATH fixes it.
rm "$tmp/bin/node"
kill -9 "$(local_app_pid "$state" web)"
for i in $(seq 1 50); do
    [ "$(cat "$state"/logs/web*.log | grep -c 'cannot run node')" -ge 2 ] && break
    sleep 0.2
done
check "the app is crash-looping (node not found, twice)" \
    [ "$(cat "$state"/logs/web*.log | grep -c 'cannot run node')" -ge 2 ]
deploy
rc=$?
check "one deploy recovers the crash-looping app" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/out"
check "it says it restarts the instance that was not ready" grep -q 'is not ready.*current environment' "$tmp/out"
check "the recovered app answers" sh -c "curl -sf --max-time 5 '$url' | grep -q '^v1 '"

# A code change with the client polling: no failed request.
poll_start change
curl -s --max-time 20 "${url}slow" > "$tmp/slow.out" 2>&1 &
slow=$!
sleep 0.2
echo "// change 2" >> web/server.js
write_yml 2 1 /health
deploy
rc=$?
poll_stop change
wait "$slow"
check "a request in flight to the old release completes (drained)" grep -q '^slow v1' "$tmp/slow.out"
check "a code change deploys" [ $rc -eq 0 ]
check "no request failed during the code change ($failed failed, $ok ok)" [ "$failed" = 0 ] && [ "$ok" -gt 10 ]
check "the client saw the new version" sh -c "echo '$seen' | grep -q v2"
check "the URL stayed the same" grep -qF "$url" "$tmp/out"

# Scale 1 -> 3 -> 1: no failed request, and the first instance is untouched.
pid_before=$(local_app_pid "$state" web)
poll_start scale
write_yml 2 3 /health
deploy
rc1=$?
n3=$(serving_count)
pid_mid=$(local_app_pid "$state" web)
write_yml 2 1 /health
deploy
rc2=$?
n1=$(serving_count)
poll_stop scale
check "scale 1->3->1 deploys" [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ]
check "3 instances served, then 1 ($n3, $n1)" [ "$n3" = 3 ] && [ "$n1" = 1 ]
check "scaling left the first instance running" \
    [ -n "$pid_before" ] && [ "$pid_before" = "$pid_mid" ] && [ "$pid_before" = "$(local_app_pid "$state" web)" ]
check "no request failed while scaling ($failed failed, $ok ok)" [ "$failed" = 0 ] && [ "$ok" -gt 10 ]

# A broken release: the old one keeps answering, the deploy fails saying so.
poll_start broken
printf 'const broken = ;\n' >> web/server.js
write_yml 3 1 /health
deploy
rc=$?
poll_stop broken
sed 's/^/#   /' "$tmp/out" | head -n 40
check "the broken release fails the deploy (exit 1)" [ $rc -eq 1 ]
check "it says the release failed and the old one still serves" \
    grep -Eq 'app/web .*release r[0-9]+ failed its healthcheck; r[0-9]+ still serving' "$tmp/out"
check "the SyntaxError line is shown" grep -q 'SyntaxError' "$tmp/out"
check "file:line points at the user's source" grep -qF "$proj/web/server.js:" "$tmp/out"
check "not at the release copy" sh -c "! grep -q 'rel-[0-9a-f]*/server.js' '$tmp/out'"
check "not labelled 'invalid request:'" sh -c "! grep -q 'invalid request' '$tmp/out'"
check "the summary does not print the URL as if all was well" sh -c "! grep -qF '  web: $url' '$tmp/out'"
check "no request failed during the broken release ($failed failed)" [ "$failed" = 0 ] && [ "$ok" -gt 5 ]
check "the old version still answers" sh -c "curl -sf --max-time 5 '$url' | grep -q '^v2 '"
cp "$tmp/good.js" web/server.js

# A wrong healthcheck path: fails at once with the 404, each probe an event (-v).
write_yml 2 1 /healthz
deploy -v
rc=$?
check "a wrong healthcheck path fails the deploy" [ $rc -eq 1 ]
check "the 404 is shown" grep -q 'GET /healthz -> 404' "$tmp/out"
check "each failed probe is an event with -v (3 attempts)" \
    [ "$(grep -c 'GET /healthz -> 404 (attempt [0-9]*)' "$tmp/out")" -ge 3 ]
check "the app still answers" sh -c "curl -sf --max-time 5 '$url' | grep -q '^v2 '"

# Ctrl-C during a health wait stops at once (not after the 30 s grace, nor
# after the app's minute of warming up).
write_yml 4 1 /health ', SLOW: "1"'
"$HOIST" deploy -e dev --yes > "$tmp/int.out" 2>&1 &
hp=$!
for i in $(seq 1 100); do
    grep -q 'GET /health -> 503' "$tmp/int.out" && break
    sleep 0.1
done
kill -INT "$hp"
for i in $(seq 1 50); do
    kill -0 "$hp" 2>/dev/null || break
    sleep 0.1
done
stopped=0
kill -0 "$hp" 2>/dev/null || stopped=1
[ $stopped = 1 ] || kill -9 "$hp"
wait "$hp"
rc=$?
check "Ctrl-C during the health wait stops within 5 s" [ $stopped = 1 ]
check "... with exit status 130" [ $rc -eq 130 ]
check "the old version still answers after the interruption" sh -c "curl -sf --max-time 5 '$url' | grep -q '^v2 '"

write_yml 2 1 /health
port=${url#http://127.0.0.1:}
port=${port%/}
"$HOIST" destroy -e dev --yes > "$tmp/out" 2>&1
check "destroy succeeds" [ $? -eq 0 ]
check "the stable port is free again" sh -c "! curl -s --max-time 2 '$url' >/dev/null"
check "nothing of the app is left" [ ! -e "$state/apps/web" ]
diag "port $port released"
done_testing
