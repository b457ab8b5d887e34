# sim_lib.sh - start/stop hoist-sim for the shell tests (source after lib.sh).
SIM_BIN="$HOIST_BUILDDIR/tools/hoist-sim/hoist-sim"
SIM_DO_AUTH="Authorization: Bearer hoist-sim-do-token"
SIM_SCW_AUTH="X-Auth-Token: hoist-sim-scw-secret"
SIM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hoist-sim-test.XXXXXX")
SIM_PIDS=""

sim_cleanup() {
    for p in $SIM_PIDS; do kill "$p" 2>/dev/null; done
    for p in $SIM_PIDS; do wait "$p" 2>/dev/null; done
    rm -rf "$SIM_TMP"
}
trap sim_cleanup EXIT INT TERM

# sim_start NAME [ARGS...]: start hoist-sim on a free port; sets SIM_URL.
sim_start() {
    _n=$1; shift
    : >"$SIM_TMP/$_n.out"
    "$SIM_BIN" --port 0 "$@" >>"$SIM_TMP/$_n.out" 2>"$SIM_TMP/$_n.err" &
    SIM_PID=$!
    SIM_PIDS="$SIM_PIDS $SIM_PID"
    SIM_URL=""
    for _i in $(seq 1 100); do
        SIM_URL=$(sed -n 's/^hoist-sim: listening on //p' "$SIM_TMP/$_n.out")
        [ -n "$SIM_URL" ] && return 0
        sleep 0.05
    done
    diag "hoist-sim did not start: $(cat "$SIM_TMP/$_n.err")"
    return 1
}

# sim_stop PID: stop one server started here.
sim_stop() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# A free TCP port on 127.0.0.1 (bind to 0, read it back, release).
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sim_registry_url NAME: the "registry at" URL the hoist-sim started as NAME printed.
sim_registry_url() {
    sed -n 's/^hoist-sim: registry at //p' "$SIM_TMP/$1.out"
}

# sim_tiny_image DIR: an OCI layout DIR with image tag "1" (one small layer),
# made with umoci; for pushing with skopeo (oci:DIR:1).
sim_tiny_image() {
    umoci init --layout "$1" >/dev/null &&
        umoci new --image "$1:1" >/dev/null &&
        umoci unpack --rootless --image "$1:1" "$1.bundle" >/dev/null 2>&1 &&
        mkdir -p "$1.bundle/rootfs/etc" &&
        echo "hoist-sim registry test $$" >"$1.bundle/rootfs/etc/release" &&
        umoci repack --image "$1:1" "$1.bundle" >/dev/null 2>&1
}
