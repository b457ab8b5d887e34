# sim_kube_lib.sh - shared by the sim_kube_*.sh tests: start hoist-sim on a
# free port, make a DigitalOcean cluster, and talk to its Kubernetes API.
# Source after lib.sh.  Sets TMP, BASE, KURL (cluster endpoint), KTOKEN.
PY=/usr/bin/python3
SIM="$HOIST_BUILDDIR/tools/hoist-sim/hoist-sim"
TMP=$(mktemp -d)
SIM_PID=
_cleanup_pids=
sim_kube_cleanup() {
  for p in $SIM_PID $_cleanup_pids; do kill "$p" 2>/dev/null; done
  for p in $SIM_PID $_cleanup_pids; do wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap sim_kube_cleanup EXIT

# stop_later PID: also stop this process on exit.
stop_later() { _cleanup_pids="$_cleanup_pids $1"; }

# sim_start [OPTION]...: start hoist-sim, set BASE.
sim_start() {
  "$SIM" --port 0 "$@" >"$TMP/sim.out" 2>"$TMP/sim.err" &
  SIM_PID=$!
  for _i in $(seq 1 50); do
    BASE=$(sed -n 's/^hoist-sim: listening on //p' "$TMP/sim.out")
    [ -n "$BASE" ] && return 0
    sleep 0.1
  done
  echo "Bail out! hoist-sim did not start: $(cat "$TMP/sim.err")"
  exit 1
}

# json FILE 'STATEMENTS; EXPR': print EXPR about the document d (statements optional).
json() {
  "$PY" -c 'import json,sys
g={"d":json.load(open(sys.argv[1]))}
pre,_,expr=sys.argv[2].rpartition(";")
exec(pre,g)
print(eval(expr,g))' "$1" "$2"
}

# sim_cluster: create a DigitalOcean cluster, wait until running, set KURL and KTOKEN.
sim_cluster() {
  curl -s -H "Authorization: Bearer hoist-sim-do-token" -H 'Content-Type: application/json' \
    -X POST "$BASE/v2/kubernetes/clusters" -o "$TMP/cluster.json" \
    -d '{"name":"k1","region":"nyc1","version":"latest","node_pools":[{"name":"p1","size":"s-1vcpu-2gb","count":1}]}'
  CLUSTER_ID=$(json "$TMP/cluster.json" 'd["kubernetes_cluster"]["id"]')
  for _i in $(seq 1 50); do
    curl -s -H "Authorization: Bearer hoist-sim-do-token" \
      "$BASE/v2/kubernetes/clusters/$CLUSTER_ID/credentials" -o "$TMP/cred.json"
    st=$(curl -s -H "Authorization: Bearer hoist-sim-do-token" "$BASE/v2/kubernetes/clusters/$CLUSTER_ID" |
      "$PY" -c 'import json,sys; print(json.load(sys.stdin)["kubernetes_cluster"]["status"]["state"])')
    [ "$st" = running ] && break
    sleep 0.1
  done
  KURL=$(json "$TMP/cred.json" 'd["server"]')
  KTOKEN=$(json "$TMP/cred.json" 'd["token"]')
}

# k METHOD PATH [CURL-ARGS...]: call the cluster API with the token; the
# body lands in $TMP/body, the status code is printed.
k() {
  _m=$1 _p=$2
  shift 2
  curl -s -o "$TMP/body" -w '%{http_code}' -X "$_m" -H "Authorization: Bearer $KTOKEN" \
    -H 'Accept: application/json' "$@" "$KURL$_p"
}

# expect DESC CODE METHOD PATH [CURL-ARGS...]: ok when the status is CODE and,
# for errors, the body is a Kubernetes Status with that code.
expect() {
  _d=$1 _c=$2
  shift 2
  got=$(k "$@")
  if [ "$got" != "$_c" ]; then
    not_ok "$_d (HTTP $got, want $_c: $(head -c 300 "$TMP/body"))"
  elif [ "$_c" -ge 400 ] && ! json "$TMP/body" 'd["kind"]=="Status" and d["code"]=='"$_c"' and d["status"]=="Failure"' | grep -q True; then
    not_ok "$_d (not a Kubernetes Status: $(head -c 300 "$TMP/body"))"
  else
    ok "$_d"
  fi
}
