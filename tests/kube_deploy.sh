#!/bin/sh
# kube_deploy.sh - hoist deploy of apps and a container PostgreSQL onto
# hoist-sim's Kubernetes API, with the null driver offering no app ops and
# handing out the sim cluster's credentials.  Every request hoist makes goes
# through Stoplight Prism (proxy) loaded with the official Kubernetes
# documents (merged into one at test time) when HOIST_PRISM and the
# documents are present.  Not --errors: Prism 5.14 does not parse YAML
# request bodies, so it calls every server-side apply body (Content-Type
# application/apply-patch+yaml, which the API requires) "not an object" and
# --errors would refuse to forward it.  Prism's log is checked instead: its
# only findings may be that one and the documented-status warning (the
# Kubernetes documents list no 404/409 answers).  kubectl 1.33 reads the result back.
# Checks: deploy, rollouts, zero mutating calls on redeploy (also with the
# state lost), logs, kubeconfig, pause/resume, a crashing app's reason,
# destroy leaving nothing.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_kube_lib.sh"
[ -x "$PY" ] || skip_all "/usr/bin/python3 is needed to read JSON"
KC=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
export HOIST_PROVIDER_PATH
sim_start --delay rollout=200ms
sim_cluster
[ -n "$KURL" ] || { echo "1..1"; not_ok "hoist-sim gave a cluster endpoint"; exit 1; }

# ---- Prism in front of the cluster's API (one document merged from the official ones)
ENDPOINT=$KURL
SPECS=$HOIST_SPECS_DIR/kubernetes
PRISM_LOG=
if [ -n "$HOIST_PRISM" ] && [ -e "$HOIST_PRISM" ] && [ -f "$SPECS/api__v1_openapi.json" ]; then
  "$PY" - "$SPECS" "$TMP/k8s.json" <<'EOF'
import json, os, sys
d, out = sys.argv[1], sys.argv[2]
merged = None
for f in ("api__v1_openapi.json", "apis__apps__v1_openapi.json",
          "apis__networking.k8s.io__v1_openapi.json", "apis__autoscaling__v2_openapi.json"):
    doc = json.load(open(os.path.join(d, f)))
    if merged is None:
        merged = doc
        continue
    merged["paths"].update(doc["paths"])
    for k, v in doc.get("components", {}).items():
        merged.setdefault("components", {}).setdefault(k, {}).update(v)
json.dump(merged, open(out, "w"))
EOF
  case $HOIST_PRISM in *.js) PRISM="node $HOIST_PRISM" ;; *) PRISM=$HOIST_PRISM ;; esac
  PPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  $PRISM proxy -h 127.0.0.1 -p "$PPORT" "$TMP/k8s.json" "$KURL" >"$TMP/prism.log" 2>&1 &
  stop_later $!
  for _i in $(seq 1 480); do
    curl -s -o /dev/null "http://127.0.0.1:$PPORT/api/v1/namespaces" && break
    sleep 0.25
  done
  ENDPOINT=http://127.0.0.1:$PPORT
  PRISM_LOG=$TMP/prism.log
  diag "Prism on $ENDPOINT in front of $KURL"
else
  diag "Prism or the Kubernetes documents missing (HOIST_PRISM=${HOIST_PRISM:-unset}, $SPECS): requests go to hoist-sim directly, spec checks skipped"
fi

W=$TMP/proj
mkdir -p "$W"
cat >"$W/hoist.yml" <<EOF
project: shop
environments:
  dev:
    provider: "null"
    dir: $TMP/cloud
    offer: [network, cluster, database]
    cluster_credentials: { endpoint: "$ENDPOINT", token: "$KTOKEN" }
    ingress: { class: nginx, tls_secret: shop-tls, annotations: { cert-manager.io/cluster-issuer: letsencrypt } }
databases:
  - { name: main, engine: postgresql, version: "15", mode: container, storage: 5 }
applications:
  - name: api
    image: registry.example/shop/api:1.2
    port: 3000
    instances: { min: 2, max: 2 }
    healthcheck: /health
    public: true
    domains: [shop.example.com]
    env: { NODE_ENV: production }
    databases: [main]
  - name: worker
    image: registry.example/shop/worker:1
    instances: { min: 1, max: 3 }
    databases: [main]
EOF
H() { (cd "$W" && "$HOIST" "$@"); }
api() { # PATH -> body in $TMP/body, prints the status
  curl -s -o "$TMP/body" -w '%{http_code}' -H "Authorization: Bearer $KTOKEN" "$KURL$1"
}
has() { json "$TMP/body" "$1" | grep -q '^True$'; }
checkj() { if has "$2"; then ok "$1"; else not_ok "$1: $(head -c 400 "$TMP/body")"; fi; }
mutating() { # number of mutating Kubernetes calls so far
  curl -s "$BASE/_sim/calls" -o "$TMP/calls.json"
  json "$TMP/calls.json" 'sum(c["count"] for c in d["calls"] if c["cloud"]=="kube" and c["mutating"])'
}
NS=/api/v1/namespaces/shop-dev
AP=/apis/apps/v1/namespaces/shop-dev

# ---- deploy
if H deploy -e dev --yes >"$TMP/deploy.out" 2>&1; then ok "deploy onto the sim's Kubernetes"; else not_ok "deploy: $(tail -20 "$TMP/deploy.out")"; fi
api "$AP/deployments" >/dev/null
checkj "every Deployment available (api 2/2, worker 1)" 'x={i["metadata"]["name"]:i for i in d["items"]}; sorted(x)==["api","worker"] and all(i["status"].get("availableReplicas")==i["spec"]["replicas"]==i["status"].get("updatedReplicas") and i["status"]["observedGeneration"]>=i["metadata"]["generation"] for i in d["items"]) and x["api"]["spec"]["replicas"]==2'
checkj "api: image, envFrom Secret api-env, httpGet probes on /health, RollingUpdate" 'c=[i for i in d["items"] if i["metadata"]["name"]=="api"][0]["spec"]["template"]["spec"]["containers"][0]; c["image"]=="registry.example/shop/api:1.2" and c["envFrom"]==[{"secretRef":{"name":"api-env"}}] and c["readinessProbe"]["httpGet"]["path"]=="/health" and c["livenessProbe"]["httpGet"]["port"]=="http" and [i for i in d["items"] if i["metadata"]["name"]=="api"][0]["spec"]["strategy"]["type"]=="RollingUpdate"'
checkj "labels app.kubernetes.io/{name,instance,managed-by} and the spec-hash annotation" 'all(i["metadata"]["labels"]["app.kubernetes.io/managed-by"]=="hoist" and i["metadata"]["labels"]["app.kubernetes.io/name"]==i["metadata"]["name"] and i["metadata"]["labels"]["app.kubernetes.io/instance"]=="shop-dev" and len(i["metadata"]["annotations"]["hoist.dev/spec-hash"])==64 for i in d["items"])'
api "$NS/secrets/api-env" >/dev/null
checkj "api-env holds DATABASE_URL, HOIST_DATABASE_MAIN_* and NODE_ENV" 'import base64; v={k:base64.b64decode(x).decode() for k,x in d["data"].items()}; v["NODE_ENV"]=="production" and v["DATABASE_URL"].startswith("postgresql://hoist:") and v["DATABASE_URL"].endswith("@main-db.shop-dev.svc.cluster.local:5432/main") and v["HOIST_DATABASE_MAIN_HOST"]=="main-db.shop-dev.svc.cluster.local" and v["HOIST_DATABASE_MAIN_PORT"]=="5432" and len(v["HOIST_DATABASE_MAIN_PASSWORD"])>=16'
PW=$(json "$TMP/body" 'import base64; base64.b64decode(d["data"]["HOIST_DATABASE_MAIN_PASSWORD"]).decode()')
api "$NS/secrets/main-db" >/dev/null
checkj "the database Secret holds the same password" 'import base64; base64.b64decode(d["data"]["password"]).decode()=="'"$PW"'"'
check "the password is never printed by deploy" sh -c "! grep -q '$PW' '$TMP/deploy.out'"
api "$AP/statefulsets/main-db" >/dev/null
checkj "StatefulSet main-db: postgres:15 with POSTGRES_* from the Secret, ready" 'c=d["spec"]["template"]["spec"]["containers"][0]; e={x["name"]:x for x in c["env"]}; c["image"]=="postgres:15" and e["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]=={"name":"main-db","key":"password"} and e["POSTGRES_USER"]["value"]=="hoist" and e["POSTGRES_DB"]["value"]=="main" and d["status"]["readyReplicas"]==1'
api "$NS/persistentvolumeclaims/main-db-data" >/dev/null
checkj "PVC main-db-data of 5Gi" 'd["spec"]["resources"]["requests"]["storage"]=="5Gi"'
api "/apis/networking.k8s.io/v1/namespaces/shop-dev/ingresses/api" >/dev/null
checkj "Ingress: class nginx, host shop.example.com, TLS shop-tls, annotation" 's=d["spec"]; s["ingressClassName"]=="nginx" and s["rules"][0]["host"]=="shop.example.com" and s["tls"]==[{"hosts":["shop.example.com"],"secretName":"shop-tls"}] and d["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]=="letsencrypt"'
api "/apis/autoscaling/v2/namespaces/shop-dev/horizontalpodautoscalers/worker" >/dev/null
checkj "HPA for worker (1..3), none for api (min == max)" 'd["spec"]["minReplicas"]==1 and d["spec"]["maxReplicas"]==3 and d["spec"]["scaleTargetRef"]["name"]=="worker"'
check "no HPA for api" test "$(api /apis/autoscaling/v2/namespaces/shop-dev/horizontalpodautoscalers/api)" = 404
check "deploy prints the public URL" grep -q 'api: https://shop.example.com' "$TMP/deploy.out"

# ---- kubectl reads it back (over a TLS relay: client-go sends tokens only over TLS)
if [ -x "$KC" ] && command -v openssl >/dev/null; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 \
    -subj /CN=127.0.0.1 >/dev/null 2>&1
  "$PY" "$HOIST_SRCDIR/tests/sim_kube_tls.py" "$TMP/cert.pem" "$TMP/key.pem" "${BASE##*:}" >"$TMP/tls.port" &
  stop_later $!
  for _i in $(seq 1 50); do [ -s "$TMP/tls.port" ] && break; sleep 0.1; done
  kc() { "$KC" --server "https://127.0.0.1:$(cat "$TMP/tls.port")${KURL#"$BASE"}" --token "$KTOKEN" \
    --insecure-skip-tls-verify --cache-dir "$TMP/kcache" -n shop-dev "$@"; }
  kc get deployment api -o jsonpath='{.spec.template.spec.containers[0].envFrom[0].secretRef.name} {.status.availableReplicas}' >"$TMP/kc1" 2>&1
  check "kubectl: Deployment api takes env from Secret api-env, 2 available" test "$(cat "$TMP/kc1")" = "api-env 2"
  kc get service api -o jsonpath='{.spec.type} {.spec.ports[0].port}->{.spec.ports[0].targetPort}' >"$TMP/kc2" 2>&1
  check "kubectl: Service api ClusterIP 80->3000" test "$(cat "$TMP/kc2")" = "ClusterIP 80->3000"
  kc get ingress api -o jsonpath='{.spec.rules[0].host} {.spec.rules[0].http.paths[0].backend.service.name}' >"$TMP/kc3" 2>&1
  check "kubectl: Ingress api routes shop.example.com to Service api" test "$(cat "$TMP/kc3")" = "shop.example.com api"
  kc get secret api-env -o jsonpath='{.data.NODE_ENV}' >"$TMP/kc4" 2>&1
  check "kubectl: Secret api-env readable" test "$(base64 -d <"$TMP/kc4")" = production
else
  for t in deployment service ingress secret; do ok "# SKIP kubectl 1.33 or openssl missing ($t)"; done
fi

# ---- redeploy: zero mutating Kubernetes calls, also when hoist's state is lost
m0=$(mutating)
H deploy -e dev --yes >"$TMP/re.out" 2>&1
check "redeploy: nothing to do" grep -q "Nothing to do" "$TMP/re.out"
mv "$W/.hoist/state/dev.json" "$TMP/state.bak"
if H deploy -e dev --yes >"$TMP/re2.out" 2>&1; then ok "deploy with the state lost"; else not_ok "deploy without state: $(tail -5 "$TMP/re2.out")"; fi
m1=$(mutating)
check "zero mutating Kubernetes calls on both redeploys ($m0 -> $m1)" test "$m0" = "$m1"
api "$NS/secrets/api-env" >/dev/null
checkj "the database password survived the lost state (read back from its Secret)" 'import base64; base64.b64decode(d["data"]["HOIST_DATABASE_MAIN_PASSWORD"]).decode()=="'"$PW"'"'

# ---- logs, kubeconfig
H logs -e dev api >"$TMP/logs" 2>&1
check "hoist logs reads the pods' logs through the API" grep -q "started from image registry.example/shop/api:1.2" "$TMP/logs"
H kubeconfig -e dev -o "$TMP/kubeconfig" >/dev/null 2>"$TMP/kcerr"
check "kubeconfig written with mode 0600" test "$(stat -c %a "$TMP/kubeconfig")" = 600
check "kubeconfig warns that it holds a token" grep -q "contains the cluster's bearer token" "$TMP/kcerr"
if json "$TMP/kubeconfig" 'd["clusters"][0]["cluster"]["server"]=="'"$ENDPOINT"'" and d["users"][0]["user"]["token"]=="'"$KTOKEN"'" and d["contexts"][0]["context"]["namespace"]=="shop-dev"' | grep -q True; then
  ok "kubeconfig: server, token, namespace"
else not_ok "kubeconfig content"; fi

# ---- pause and resume
H pause -e dev --yes >"$TMP/pause.out" 2>&1
api "$AP/deployments" >/dev/null
checkj "pause scales every Deployment to 0" 'all(i["spec"]["replicas"]==0 for i in d["items"])'
H deploy -e dev --yes >"$TMP/resume.out" 2>&1
api "$AP/deployments" >/dev/null
checkj "deploy resumes: api 2 and worker 1 available again" 'x={i["metadata"]["name"]:(i["spec"]["replicas"],i["status"].get("availableReplicas")) for i in d["items"]}; x=={"api":(2,2),"worker":(1,1)}'

# ---- a crashing app: the pods' reason is reported
W2=$TMP/bad
mkdir -p "$W2"
cat >"$W2/hoist.yml" <<EOF
project: shop
environments:
  bad:
    provider: "null"
    dir: $TMP/cloud-bad
    offer: [network, cluster]
    rollout_timeout: 1
    cluster_credentials: { endpoint: "$ENDPOINT", token: "$KTOKEN" }
applications:
  - { name: crasher, image: registry.example/shop/crashloop:1, port: 8080 }
EOF
if (cd "$W2" && "$HOIST" deploy -e bad --yes) >"$TMP/bad.out" 2>&1; then not_ok "a crashing app fails the deploy"; else ok "a crashing app fails the deploy"; fi
check "the failure names CrashLoopBackOff from the pod" grep -q "CrashLoopBackOff" "$TMP/bad.out"
(cd "$W2" && "$HOIST" destroy -e bad --yes) >/dev/null 2>&1

# ---- destroy
if H destroy -e dev --yes >"$TMP/destroy.out" 2>&1; then ok "destroy"; else not_ok "destroy: $(tail -5 "$TMP/destroy.out")"; fi
curl -s "$BASE/_sim/resources" -o "$TMP/res.json"
left=$(json "$TMP/res.json" '[r["type"]+"/"+r["name"] for r in d["resources"] if r["cloud"]=="kube" and r["type"]!="cluster" and not (r["type"]=="namespaces" and r["name"] in ("default","kube-system","kube-public","kube-node-lease"))]')
check "destroy leaves nothing on the cluster (left: $left)" test "$left" = "[]"

# ---- Prism saw every request and found nothing wrong
if [ -n "$PRISM_LOG" ]; then
  grep 'VALIDATOR' "$PRISM_LOG" | sed 's/^.*VALIDATOR\] *//' >"$TMP/findings"
  # Allowed: the YAML-body limitation above; the status-code warning; and
  # hoist-sim's Pod conditions with "lastProbeTime": null (real clusters send
  # null too, the document says string): a sim finding, reported, not hoist's.
  grep -v -e 'Request body must be object' -e 'Unable to match the returned status code' \
    -e 'status\.conditions\.[0-9]*\.lastProbeTime must be string' "$TMP/findings" >"$TMP/bad-findings"
  grep -q lastProbeTime "$TMP/findings" && diag "hoist-sim finding: Pod conditions carry lastProbeTime null ($(grep -c lastProbeTime "$TMP/findings") times)"
  check "Prism: zero violations besides the YAML-body limitation ($(wc -l <"$TMP/findings") findings)" test ! -s "$TMP/bad-findings"
  [ -s "$TMP/bad-findings" ] && diag "$(head -5 "$TMP/bad-findings")"
  n=$(grep -c 'Forwarding' "$PRISM_LOG")
  check "Prism proxied every request ($n)" test "$n" -gt 50
else
  ok "# SKIP Prism not available"
  ok "# SKIP Prism not available"
fi
done_testing
