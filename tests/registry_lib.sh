# registry_lib.sh - run Debian's docker-registry for a test.  Source it after
# setting T (a private temp dir), PY (/usr/bin/python3) and, for token auth,
# TOK_PORT; the caller kills $REG_PID in its cleanup.

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
    i=0
    while ! $PY -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1
    done
}

# start_registry MODE: MODE is htpasswd or token; sets PORT, REG, REG_PID.
start_registry() {
    PORT=$(free_port)
    REG=127.0.0.1:$PORT
    mkdir -p "$T/storage-$1"
    {
        echo "version: 0.1"
        echo "log: { level: info, accesslog: { disabled: false } }"
        echo "storage: { filesystem: { rootdirectory: $T/storage-$1 }, delete: { enabled: true } }"
        echo "http: { addr: '$REG', secret: hoist-test }"
        if [ "$1" = htpasswd ]; then
            echo "auth: { htpasswd: { realm: hoist-test, path: $T/htpasswd } }"
        else
            echo "auth: { token: { realm: 'http://127.0.0.1:$TOK_PORT/token', service: hoist-test-registry, issuer: hoist-test-issuer, rootcertbundle: $T/cert.pem } }"
        fi
    } >"$T/config-$1.yml"
    docker-registry serve "$T/config-$1.yml" >"$T/registry-$1.log" 2>&1 &
    REG_PID=$!
    wait_port "$PORT"
}
stop_registry() { kill "$REG_PID"; wait "$REG_PID" 2>/dev/null; REG_PID=; }
