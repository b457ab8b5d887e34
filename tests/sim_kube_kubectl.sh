#!/bin/sh
# kubectl 1.33 against hoist-sim's Kubernetes API of a DigitalOcean cluster:
# discovery, server-side apply, get -o json, pods, logs, rollout status,
# rollout failure, delete.  client-go sends bearer tokens only over TLS, so
# a small TLS relay (sim_kube_tls.py) fronts hoist-sim's plain HTTP.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_kube_lib.sh"
KC=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
if [ ! -x "$KC" ]; then
  KC=$(ls /usr/lib/google-cloud-sdk/bin/kubectl.1.* 2>/dev/null | sort -t. -k3 -n | tail -1)
  [ -n "$KC" ] || KC=/usr/bin/kubectl
fi
[ -x "$KC" ] || skip_all "no kubectl (looked for /usr/lib/google-cloud-sdk/bin/kubectl.1.NN and /usr/bin/kubectl)"
[ -x "$PY" ] || skip_all "/usr/bin/python3 is needed"
command -v openssl >/dev/null || skip_all "openssl is needed for the TLS relay's certificate"
diag "kubectl: $KC"

sim_start --delay rollout=500ms
sim_cluster
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 \
  -subj /CN=127.0.0.1 >/dev/null 2>&1
"$PY" "$HOIST_SRCDIR/tests/sim_kube_tls.py" "$TMP/cert.pem" "$TMP/key.pem" "${BASE##*:}" >"$TMP/tls.port" &
stop_later $!
for _i in $(seq 1 50); do [ -s "$TMP/tls.port" ] && break; sleep 0.1; done
path=${KURL#"$BASE"}
kc() { "$KC" --server "https://127.0.0.1:$(cat "$TMP/tls.port")$path" --token "$KTOKEN" \
  --insecure-skip-tls-verify --cache-dir "$TMP/kcache" "$@"; }

kc get namespaces >"$TMP/ns.txt" 2>"$TMP/err"
check "get namespaces lists default and kube-system" grep -q '^kube-system  *Active' "$TMP/ns.txt"
if grep -q '^default ' "$TMP/ns.txt"; then ok "default namespace shown"; else not_ok "get namespaces: $(cat "$TMP/ns.txt" "$TMP/err")"; fi

cat >"$TMP/app.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: x
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: x
stringData:
  url: postgres://app:s3cret@db.internal/app
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: x
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
        ports: [{containerPort: 8080}]
        env:
        - name: DATABASE_URL
          valueFrom:
            secretKeyRef: {name: db, key: url}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: x
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: x
spec:
  rules:
  - host: web.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
YAML
# --validate=false: hoist-sim serves no /openapi/v2 or /v3, which kubectl's
# client-side schema validation would need.
kc apply --server-side --validate=false --field-manager=hoist -f "$TMP/app.yaml" >"$TMP/apply.txt" 2>&1
check "apply --server-side of Namespace, Secret, Deployment, Service, Ingress" \
  [ "$(grep -c 'serverside-applied' "$TMP/apply.txt")" = 5 ]
kc get deployments -n x -o json >"$TMP/deps.json" 2>"$TMP/err"
check "get deployments -o json" [ -s "$TMP/deps.json" ]
if json "$TMP/deps.json" 'c=d["items"][0]["spec"]["template"]["spec"]["containers"][0]; c["image"]=="registry.example/web:1.0" and c["env"][0]["valueFrom"]["secretKeyRef"]=={"name":"db","key":"url"}' | grep -q True; then
  ok "deployment keeps image and env valueFrom secretKeyRef"
else
  not_ok "deployment fields: $(head -c 400 "$TMP/deps.json")"
fi
kc rollout status deployment/web -n x --timeout=20s >"$TMP/rollout.txt" 2>&1
check "rollout status: successfully rolled out" grep -q 'deployment "web" successfully rolled out' "$TMP/rollout.txt"
kc get pods -n x >"$TMP/pods.txt" 2>&1
check "get pods: two Running 1/1" [ "$(grep -c ' 1/1  *Running ' "$TMP/pods.txt")" = 2 ]
pod=$(awk 'NR==2 {print $1}' "$TMP/pods.txt")
kc logs -n x "$pod" >"$TMP/log.txt" 2>&1
check "logs of $pod" grep -q "container web of pod $pod started from image registry.example/web:1.0" "$TMP/log.txt"
if grep -q s3cret "$TMP/log.txt"; then not_ok "log leaks the secret"; else ok "log does not show the secret value"; fi
kc get secret db -n x -o jsonpath='{.data.url}' >"$TMP/sec.txt" 2>&1
check "secret data is base64 of stringData" [ "$(base64 -d <"$TMP/sec.txt")" = postgres://app:s3cret@db.internal/app ]
kc get svc,ingress -n x >"$TMP/svc.txt" 2>&1
diag "$(cat "$TMP/svc.txt")"
check "service and ingress listed" grep -q "^ingress.networking.k8s.io/web" "$TMP/svc.txt"

# rollout failure: a crashing image never becomes available; the deadline fails the rollout
kc set image deployment/web -n x web=registry.example/crashloop:2 >/dev/null 2>&1
kc patch deployment web -n x --type=merge -p '{"spec":{"progressDeadlineSeconds":1}}' >/dev/null 2>&1
if kc rollout status deployment/web -n x --timeout=20s >"$TMP/fail.txt" 2>&1; then
  not_ok "rollout of a crashloop image must fail: $(cat "$TMP/fail.txt")"
else
  check "rollout status reports the exceeded progress deadline" grep -q 'exceeded its progress deadline' "$TMP/fail.txt"
fi
kc get pods -n x >"$TMP/pods2.txt" 2>&1
check "crashing pods show CrashLoopBackOff" grep -q CrashLoopBackOff "$TMP/pods2.txt"

kc delete namespace x >"$TMP/del.txt" 2>&1
check "delete namespace x" grep -q 'namespace "x" deleted' "$TMP/del.txt"
kc get deployments -n x -o json >"$TMP/after.json" 2>&1
if json "$TMP/after.json" 'd["items"]==[]' | grep -q True; then ok "deployments gone with the namespace"; else not_ok "after delete: $(head -c 300 "$TMP/after.json")"; fi
done_testing
