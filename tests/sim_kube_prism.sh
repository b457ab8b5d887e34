#!/bin/sh
# Stoplight Prism (proxy --errors) loaded with the official Kubernetes OpenAPI
# v3 documents in front of hoist-sim's cluster API: every endpoint, success
# and error cases, must give zero request and zero response violations.
# One Prism per group-version document, started in parallel (core/v1 takes
# ~30 s to load).  Prism joins its upstream's path (/kube/<id>) with the
# request path, so the documents' /api/v1/... paths match as they are.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_kube_lib.sh"
[ -n "${HOIST_PRISM:-}" ] && [ -f "$HOIST_PRISM" ] ||
  skip_all "HOIST_PRISM (path of @stoplight/prism-cli's dist/index.js) is unset or missing; .ci/run sets it"
command -v node >/dev/null || skip_all "node is needed to run Prism"
KS="${HOIST_SPECS_DIR:-}/kubernetes"
for f in api__v1 apis__apps__v1 apis__networking.k8s.io__v1 apis__autoscaling__v2; do
  [ -f "$KS/${f}_openapi.json" ] || skip_all "$KS/${f}_openapi.json is missing (HOIST_SPECS_DIR)"
done
[ -x "$PY" ] || skip_all "/usr/bin/python3 is needed"

sim_start --delay rollout=200ms
sim_cluster
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_prism() { # name spec
  _port=$(free_port)
  node "$HOIST_PRISM" proxy --errors -h 127.0.0.1 -p "$_port" "$KS/$2_openapi.json" "$KURL" \
    >"$TMP/prism-$1.log" 2>&1 &
  stop_later $!
  echo "$_port" >"$TMP/prism-$1.port"
}
start_prism core api__v1
start_prism apps apis__apps__v1
start_prism net apis__networking.k8s.io__v1
start_prism hpa apis__autoscaling__v2
for name in core apps net hpa; do
  for _i in $(seq 1 900); do
    grep -q 'Prism is listening' "$TMP/prism-$name.log" && break
    sleep 0.1
  done
  grep -q 'Prism is listening' "$TMP/prism-$name.log" ||
    { echo "Bail out! Prism ($name) did not start: $(tail -5 "$TMP/prism-$name.log")"; exit 1; }
done
ok "four Prism proxies loaded the official documents"

VIOL=0
# p PRISM WANT METHOD PATH [CURL-ARGS...]: a call through Prism.  Violations
# come back in the sl-violations header; the only one tolerated is Prism's
# warning that an error status (404, 409, 422...) is not listed in the
# document, which lists 200/201/202/401 only.
p() {
  _pp=$(cat "$TMP/prism-$1.port") _w=$2 _m=$3 _path=$4
  shift 4
  got=$(curl -s -D "$TMP/hdr" -o "$TMP/body" -w '%{http_code}' -X "$_m" \
    -H "Authorization: Bearer ${PTOKEN-$KTOKEN}" -H 'Accept: application/json' "$@" \
    "http://127.0.0.1:$_pp$_path")
  v=$("$PY" - "$TMP/hdr" "$got" <<'PYEOF'
import json, sys
hdr, code = sys.argv[1], int(sys.argv[2])
bad = []
for line in open(hdr, encoding="latin-1"):
    if line.lower().startswith("sl-violations:"):
        for v in json.loads(line.split(":", 1)[1]):
            if code >= 400 and v.get("message", "").startswith("Unable to match the returned status code"):
                continue
            bad.append("%s %s: %s" % (v.get("severity"), ".".join(map(str, v.get("location", []))), v.get("message")))
print("; ".join(bad))
PYEOF
)
  if [ "$got" != "$_w" ]; then
    why=$(json "$TMP/body" 'd.get("validation") or d.get("message")' 2>/dev/null || head -c 300 "$TMP/body")
    not_ok "$_m $_path: HTTP $got, want $_w: $why"
  elif [ -n "$v" ]; then
    VIOL=$((VIOL + 1))
    not_ok "$_m $_path ($got): violations: $v"
  else
    ok "$_m $_path -> $got, no violations"
  fi
}
# a server-side apply goes straight to hoist-sim: Prism 5.14 reads
# application/apply-patch+yaml bodies as text and flags "Request body must be
# object" against the documents' Patch schema (a validator limitation, for
# JSON bodies too).  The applied object is then read back through Prism.
APPLIED=0
apply() { # WANT PATH BODY
  got=$(k PATCH "$2" -H "$AP" -d "$3")
  if [ "$got" = "$1" ]; then APPLIED=$((APPLIED + 1)); ok "apply (direct) ${2%%\?*} -> $got";
  else not_ok "apply (direct) $2: HTTP $got, want $1: $(head -c 300 "$TMP/body")"; fi
}
J='Content-Type: application/json'
AP='Content-Type: application/apply-patch+yaml'
MP='Content-Type: application/merge-patch+json'
N=/api/v1/namespaces/p

# core/v1
p core 200 GET /api/v1/
PTOKEN=wrong p core 401 GET /api/v1/namespaces
p core 200 GET /api/v1/namespaces
p core 201 POST /api/v1/namespaces -H "$J" -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"p"}}'
p core 409 POST /api/v1/namespaces -H "$J" -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"p"}}'
p core 200 GET /api/v1/namespaces/p
p core 404 GET /api/v1/namespaces/nope
p core 201 POST $N/secrets -H "$J" -d '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","labels":{"t":"a"}},"stringData":{"url":"postgres://x"}}'
p core 200 GET $N/secrets/db
p core 200 GET "$N/secrets?labelSelector=t%3Da"
p core 200 GET /api/v1/secrets
p core 200 PUT $N/secrets/db -H "$J" -d '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"data":{"url":"eA=="}}'
p core 200 PATCH $N/secrets/db -H "$MP" -d '{"metadata":{"labels":{"t":"b"}}}'
apply 201 "$N/configmaps/cfg?fieldManager=hoist" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"1"}}'
apply 200 "$N/configmaps/cfg?fieldManager=hoist" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"2"}}'
apply 409 "$N/configmaps/cfg?fieldManager=other" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"3"}}'
apply 200 "$N/configmaps/cfg?fieldManager=other&force=true" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"3"}}'
p core 200 GET $N/configmaps/cfg
p core 409 PUT $N/configmaps/cfg -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","resourceVersion":"1"},"data":{}}'
p core 422 POST $N/configmaps -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}'
p core 200 GET $N/configmaps
p core 404 GET $N/configmaps/nope
p core 201 POST $N/services -H "$J" -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"type":"LoadBalancer","selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080}]}}'
p core 200 GET $N/services/web
apply 200 "$N/services/web?fieldManager=hoist" '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080}]}}'
p core 200 GET $N/services/web
p core 422 POST $N/services -H "$J" -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"bad"},"spec":{"ports":[{"port":0}]}}'
p core 201 POST $N/persistentvolumeclaims -H "$J" -d '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}'
p core 200 GET $N/persistentvolumeclaims/data

# apps/v1
D=/apis/apps/v1/namespaces/p/deployments
DEP='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"reg/web:1","env":[{"name":"DB","valueFrom":{"secretKeyRef":{"name":"db","key":"url"}}}]}]}}}}'
p apps 200 GET /apis/apps/v1/
apply 201 "$D/web?fieldManager=hoist" "$DEP"
apply 200 "$D/web?fieldManager=hoist&force=true" "$DEP"
sleep 0.3
p apps 200 GET $D/web
p apps 200 GET "$D?labelSelector=app%3Dweb"
p apps 200 GET /apis/apps/v1/deployments
p apps 200 GET /apis/apps/v1/namespaces/p/replicasets
p apps 201 POST /apis/apps/v1/namespaces/p/statefulsets -H "$J" -d '{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db"},"spec":{"replicas":1,"serviceName":"db","selector":{"matchLabels":{"app":"db"}},"template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"pg","image":"postgres:15"}]}}}}'
sleep 0.3
p apps 200 GET /apis/apps/v1/namespaces/p/statefulsets/db
p apps 200 GET /apis/apps/v1/statefulsets
p apps 422 POST $D -H "$J" -d '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"bad"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"c"}},"spec":{"containers":[]}}}}'
p apps 404 GET $D/nope

# pods and logs (core/v1 again, now that pods exist)
p core 200 GET "$N/pods?labelSelector=app%3Dweb"
p core 200 GET /api/v1/pods
pod=$(json "$TMP/body" '[i["metadata"]["name"] for i in d["items"] if i["metadata"]["labels"].get("app")=="web"][0]')
p core 200 GET "$N/pods/$pod"
p core 200 GET "$N/pods/$pod/log"
p core 200 GET "$N/pods/$pod/log?container=web&tailLines=1"
p core 400 GET "$N/pods/$pod/log?container=nope"
p core 200 DELETE "$N/pods/$pod"

# merge-patch scale to zero, replace, delete with propagation
p apps 200 PATCH "$D/web?fieldManager=scaler" -H "$MP" -d '{"spec":{"replicas":0}}'
p apps 200 GET $D/web
body=$(cat "$TMP/body")
p apps 200 PUT $D/web -H "$J" -d "$body"
p apps 200 DELETE "$D/web?propagationPolicy=Foreground"
p apps 200 DELETE "/apis/apps/v1/namespaces/p/statefulsets/db?propagationPolicy=Background"

# networking.k8s.io/v1
I=/apis/networking.k8s.io/v1/namespaces/p/ingresses
ING='{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web"},"spec":{"rules":[{"host":"web.example","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}}'
p net 200 GET /apis/networking.k8s.io/v1/
p net 201 POST $I -H "$J" -d "$ING"
p net 200 GET $I/web
p net 200 GET $I
p net 200 GET /apis/networking.k8s.io/v1/ingresses
apply 200 "$I/web?fieldManager=hoist&force=true" "$ING"
p net 200 GET $I/web
p net 422 POST $I -H "$J" -d '{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"bad"},"spec":{"rules":[{"http":{"paths":[{"path":"/","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}}'
p net 200 DELETE $I/web

# autoscaling/v2
H=/apis/autoscaling/v2/namespaces/p/horizontalpodautoscalers
p hpa 200 GET /apis/autoscaling/v2/
p hpa 201 POST $H -H "$J" -d '{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"web"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":1,"maxReplicas":3}}'
p hpa 200 GET $H/web
p hpa 200 GET /apis/autoscaling/v2/horizontalpodautoscalers
p hpa 200 PATCH $H/web -H "$MP" -d '{"spec":{"maxReplicas":5}}'
p hpa 422 POST $H -H "$J" -d '{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"bad"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},"maxReplicas":0}}'
p hpa 200 DELETE $H/web

# remaining core deletes, namespace cascade
p core 200 DELETE $N/services/web
p core 200 DELETE $N/persistentvolumeclaims/data
p core 200 DELETE "$N/configmaps?labelSelector=none%3Dnone"
p core 200 DELETE $N/configmaps/cfg
p core 200 DELETE /api/v1/namespaces/p
p core 404 GET $N/secrets/db

check "zero request and response violations in total" [ "$VIOL" -eq 0 ]
done_testing
