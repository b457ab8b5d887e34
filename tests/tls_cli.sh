#!/bin/sh
# tls_cli.sh - the transport policy seen from the command line: a registry
# whose certificate nobody vouches for (self-signed, served by openssl
# s_server on 127.0.0.1) is refused with an error naming the host, and plain
# http to a non-loopback host (192.0.2.1, TEST-NET-1) is refused before any
# connection is tried.  (tests/check_http.c proves the same in the library.)
. "$HOIST_SRCDIR/tests/lib.sh"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 not installed (picks a free port)"

T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-tls-XXXXXX")
srv=
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1

mkdir api
echo 'console.log("api")' > api/server.js
cat > hoist.yml <<'EOF2'
project: shop
environments:
  dev: { provider: "null" }
applications:
  - name: api
    path: ./api
    port: 8080
    command: [node, server.js]
    build: { builder: native, base: scratch }
EOF2

openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 ||
    skip_all "openssl cannot make a self-signed certificate"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl s_server -accept "127.0.0.1:$port" -cert cert.pem -key key.pem -www -quiet \
    > server.log 2>&1 &
srv=$!
i=0
while ! python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 50 ] || { not_ok "the TLS server did not start"; done_testing; exit 1; }
    sleep 0.1
done

HOME=$T "$HOIST" build -f hoist.yml --push --registry "https://127.0.0.1:$port/team" > out1 2> err1
rc=$?
check "self-signed registry: the push fails (rc=$rc)" [ $rc -ne 0 ]
check "self-signed registry: the error names the host and the certificate problem" \
    sh -c "grep -q '127.0.0.1:$port' err1 && grep -qi 'certificate' err1"
grep -qi certificate err1 || sed 's/^/#   /' err1 | head -n 10

# Plain http to a non-loopback address: refused before connecting, so at
# once (a connection attempt to TEST-NET-1 would hang until a timeout).
start=$(date +%s)
HOME=$T timeout 60 "$HOIST" build -f hoist.yml --push --registry "http://192.0.2.1:5000/team" \
    > out2 2> err2
rc=$?
took=$(( $(date +%s) - start ))
check "plain http to 192.0.2.1: refused (rc=$rc)" [ $rc -ne 0 ] && [ $rc -ne 124 ]
check "plain http to 192.0.2.1: the error names the host and says why" \
    sh -c "grep -q '192.0.2.1' err2 && grep -qi 'http' err2"
check "plain http to 192.0.2.1: refused before any connection (${took}s)" [ "$took" -le 2 ]
grep -q 192.0.2.1 err2 || sed 's/^/#   /' err2 | head -n 10
done_testing
