#!/bin/sh
# scw_prism.sh - every request the Scaleway driver makes during a full
# lifecycle (ensure network, cluster, registry, database -> observe ->
# ensure again -> destroy) passes through Stoplight Prism (proxy --errors)
# loaded with Scaleway's official documents, one Prism per API, in front of
# hoist-sim.  A small router sends each request to the Prism of its API
# prefix and logs Prism's verdict: zero request (422) and zero response
# (sl-violations) violations allowed.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"
. "$HOIST_SRCDIR/tests/scw_lib.sh"

SPECS=$HOIST_SPECS_DIR/scaleway
for s in vpc.v2 k8s.v1 registry.v1 rdb.v1; do
    [ -f "$SPECS/scaleway.$s.Api.yml" ] || skip_all "Scaleway's official documents not found in $SPECS"
done
[ -n "$HOIST_PRISM" ] && [ -e "$HOIST_PRISM" ] ||
    skip_all "Prism not installed: set HOIST_PRISM to prism-cli's dist/index.js or a prism executable (.ci/run does)"
command -v jq >/dev/null || skip_all "jq not installed"
[ -x "$SCW_DRIVE" ] || skip_all "scw_drive not built"
case $HOIST_PRISM in
*.js) PRISM="node $HOIST_PRISM" ;;
*) PRISM=$HOIST_PRISM ;;
esac

sim_start main --delay cluster=100ms,pool=100ms,instance=100ms,namespace=0 ||
    { echo "1..1"; not_ok "hoist-sim starts"; exit 1; }

for s in vpc.v2 k8s.v1 registry.v1 rdb.v1; do
    _port=$(free_port)
    echo "$_port" >"$SIM_TMP/$s.port"
    $PRISM proxy --errors -h 127.0.0.1 -p "$_port" "$SPECS/scaleway.$s.Api.yml" "$SIM_URL" \
        >"$SIM_TMP/$s.log" 2>&1 &
    SIM_PIDS="$SIM_PIDS $!"
done
for s in vpc.v2 k8s.v1 registry.v1 rdb.v1; do
    p=$(cat "$SIM_TMP/$s.port")
    for _i in $(seq 1 240); do
        curl -s -o /dev/null "http://127.0.0.1:$p/" && break
        sleep 0.25
    done
    curl -s -o /dev/null "http://127.0.0.1:$p/" ||
        { diag "$(cat "$SIM_TMP/$s.log")"; echo "1..1"; not_ok "Prism for $s starts"; exit 1; }
done

# The router: one URL for the driver, each API prefix to its own Prism.
cat >"$SIM_TMP/router.py" <<'PY'
import http.client, http.server, json, sys
routes = json.loads(sys.argv[2])
log = open(sys.argv[3], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def relay(self):
        if self.path == "/_ready":
            self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
            return
        port = next((p for pre, p in routes.items() if self.path.startswith(pre)), None)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if port is None:
            self.send_response(502); self.send_header("Content-Length", "0"); self.end_headers()
            log.write(json.dumps({"method": self.command, "path": self.path, "status": 502, "unrouted": True}) + "\n")
            return
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
        c.request(self.command, self.path, body=body if body or self.command in ("POST", "PUT", "PATCH") else None, headers=hdrs)
        r = c.getresponse(); data = r.read()
        viol = r.getheader("sl-violations")
        log.write(json.dumps({"method": self.command, "path": self.path, "status": r.status,
                              "violations": json.loads(viol) if viol else [],
                              "body": data.decode("utf-8", "replace")[:300] if r.status == 422 or viol else ""}) + "\n")
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        c.close()
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = relay
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.serve_forever()
PY
RPORT=$(free_port)
ROUTES=$(printf '{"/vpc/v2/":%s,"/k8s/v1/":%s,"/registry/v1/":%s,"/rdb/v1/":%s}' \
    "$(cat "$SIM_TMP/vpc.v2.port")" "$(cat "$SIM_TMP/k8s.v1.port")" \
    "$(cat "$SIM_TMP/registry.v1.port")" "$(cat "$SIM_TMP/rdb.v1.port")")
/usr/bin/python3 "$SIM_TMP/router.py" "$RPORT" "$ROUTES" "$SIM_TMP/exchanges.jsonl" 2>"$SIM_TMP/router.err" &
SIM_PIDS="$SIM_PIDS $!"
ROUTER="http://127.0.0.1:$RPORT"
for _i in $(seq 1 100); do curl -s -o /dev/null "$ROUTER/_ready" && break; sleep 0.05; done

scw_run deploy "$ROUTER"
check_or "deploy through Prism converges" 'diag "$(tail -n 20 "$SIM_TMP/deploy.out" "$SIM_TMP/deploy.err")"' test $? = 0
scw_run status "$ROUTER"
check_or "status through Prism: every resource READY" 'diag "$(cat "$SIM_TMP/status.out")"' test $? = 0
scw_run deploy "$ROUTER"
check "deploy again through Prism converges" test $? = 0
scw_run destroy "$ROUTER"
check_or "destroy through Prism converges" 'diag "$(tail -n 20 "$SIM_TMP/destroy.out" "$SIM_TMP/destroy.err")"' test $? = 0

X="$SIM_TMP/exchanges.jsonl"
N=$(wc -l <"$X")
check "the lifecycle went through Prism ($N exchanges)" test "$N" -ge 40
for api in vpc/v2 k8s/v1 registry/v1 rdb/v1; do
    check "requests reached the $api Prism" test "$(jq -s --arg p "/$api/" '[.[] | select(.path | startswith($p))] | length' "$X")" -gt 0
done
check "every documented operation used: versions, kubeconfig, pools, privileges, acls" sh -c "
    for op in /versions /kubeconfig /pools /privileges /acls; do grep -q \"\\\"path\\\": \\\"[^\\\"]*\$op\" '$X' || exit 1; done"
BADREQ=$(jq -s -c '[.[] | select(.status == 422)]' "$X")
check_or "zero request violations (Prism 422)" 'diag "$BADREQ"' test "$BADREQ" = "[]"
BADRESP=$(jq -s -c '[.[] | select((.violations | length) > 0)]' "$X")
check_or "zero response violations (sl-violations)" 'diag "$BADRESP"' test "$BADRESP" = "[]"
UNROUTED=$(jq -s '[.[] | select(.unrouted)] | length' "$X")
check "every request had an API prefix" test "$UNROUTED" = 0
ERRORS=$(jq -s -c '[.[] | select(.status >= 400) | "\(.method) \(.path) \(.status)"]' "$X")
check_or "no error answer at all in a fault-free lifecycle (not even a 404)" 'diag "$ERRORS"' test "$ERRORS" = "[]"
LEFT=$(sim_get /_sim/resources | jq '[.resources[] | select(.cloud=="scw")] | length')
check "zero leftovers" test "$LEFT" = 0

done_testing
