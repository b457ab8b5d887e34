#!/bin/sh
# hoist-sim's Kubernetes API with plain HTTP: auth, Status errors, discovery,
# CRUD, apply conflicts, merge-patch scale to zero, rollout and failure
# triggers, ownership, selectors, cascades, accounting.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_kube_lib.sh"
[ -x "$PY" ] || skip_all "/usr/bin/python3 is needed to read JSON"
sim_start --delay rollout=300ms
sim_cluster
J='Content-Type: application/json'
AP='Content-Type: application/apply-patch+yaml'
MP='Content-Type: application/merge-patch+json'
has() { json "$TMP/body" "$1" | grep -q '^True$'; }
checkj() { if has "$2"; then ok "$1"; else not_ok "$1: $(head -c 400 "$TMP/body")"; fi; }

# --- authentication and malformed bodies (Kubernetes Status errors)
got=$(curl -s -o "$TMP/body" -w '%{http_code}' "$KURL/api/v1/namespaces")
check "no token: 401" [ "$got" = 401 ]
checkj "no token: Status Unauthorized body" 'd["kind"]=="Status" and d["reason"]=="Unauthorized" and d["code"]==401'
got=$(curl -s -o "$TMP/body" -w '%{http_code}' -H 'Authorization: Bearer nope' "$KURL/api/v1/namespaces")
check "wrong token: 401" [ "$got" = 401 ]
expect "malformed JSON body: 400 Status" 400 POST /api/v1/namespaces -H "$J" -d '{"metadata":'
checkj "malformed body: reason BadRequest" 'd["reason"]=="BadRequest"'
expect "body of the wrong kind: 400" 400 POST /api/v1/namespaces/default/configmaps -H "$J" -d '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"}}'

# --- discovery
expect "GET /version" 200 GET /version
checkj "/version says 1.33" 'd["major"]=="1" and d["minor"]=="33"'
expect "GET /api" 200 GET /api
checkj "/api lists v1" 'd["kind"]=="APIVersions" and d["versions"]==["v1"]'
expect "GET /apis" 200 GET /apis
checkj "/apis lists apps, networking.k8s.io, autoscaling/v2" 'sorted(g["preferredVersion"]["groupVersion"] for g in d["groups"])==["apps/v1","autoscaling/v2","networking.k8s.io/v1"]'
expect "GET /api/v1" 200 GET /api/v1
checkj "/api/v1: pods (po, all) and pods/log" '[(r["shortNames"],r["categories"],r["namespaced"]) for r in d["resources"] if r["name"]=="pods"]==[(["po"],["all"],True)] and any(r["name"]=="pods/log" and r["verbs"]==["get"] for r in d["resources"])'
checkj "/api/v1: namespaces cluster-scoped without deletecollection" '[(r["namespaced"],r["verbs"]) for r in d["resources"] if r["name"]=="namespaces"]==[(False,["create","delete","get","list","patch","update","watch"])]'
expect "GET /apis/apps/v1" 200 GET /apis/apps/v1
checkj "apps/v1: deployments (deploy) and statefulsets (sts)" '{r["name"]:r.get("shortNames") for r in d["resources"]}=={"deployments":["deploy"],"statefulsets":["sts"],"replicasets":["rs"]}'
expect "GET /apis/networking.k8s.io/v1" 200 GET /apis/networking.k8s.io/v1
checkj "ingresses (ing), kind Ingress" '[(r["shortNames"],r["kind"]) for r in d["resources"]]==[(["ing"],"Ingress")]'
expect "GET /apis/autoscaling/v2" 200 GET /apis/autoscaling/v2
checkj "horizontalpodautoscalers (hpa)" '[r["shortNames"] for r in d["resources"]]==[["hpa"]]'

# --- namespaces, CRUD, errors
expect "create namespace app" 201 POST /api/v1/namespaces -H "$J" -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"app"}}'
checkj "namespace has uid, resourceVersion, creationTimestamp, phase Active" 'd["metadata"]["uid"] and int(d["metadata"]["resourceVersion"])>0 and d["metadata"]["creationTimestamp"].endswith("Z") and d["status"]["phase"]=="Active"'
expect "create again: 409 AlreadyExists" 409 POST /api/v1/namespaces -H "$J" -d '{"metadata":{"name":"app"}}'
checkj "AlreadyExists reason and details" 'd["reason"]=="AlreadyExists" and d["details"]["name"]=="app" and d["details"]["kind"]=="namespaces"'
expect "get missing configmap: 404 NotFound" 404 GET /api/v1/namespaces/app/configmaps/nope
checkj "NotFound message as the API words it" 'd["reason"]=="NotFound" and d["message"]=="configmaps \"nope\" not found"'
expect "create in a missing namespace: 404" 404 POST /api/v1/namespaces/ghost/configmaps -H "$J" -d '{"metadata":{"name":"c"}}'
expect "invalid name: 422 Invalid" 422 POST /api/v1/namespaces/app/configmaps -H "$J" -d '{"metadata":{"name":"Bad_Name"}}'
expect "deployment without containers: 422" 422 POST /apis/apps/v1/namespaces/app/deployments -H "$J" -d '{"metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[]}}}}'
checkj "422 names the field in causes" 'd["reason"]=="Invalid" and d["details"]["causes"][0]["field"]=="spec.template.spec.containers"'
expect "secret with stringData" 201 POST /api/v1/namespaces/app/secrets -H "$J" -d '{"metadata":{"name":"db"},"stringData":{"url":"postgres://x"}}'
checkj "stringData folded into base64 data" 'd["data"]["url"]=="cG9zdGdyZXM6Ly94" and "stringData" not in d and d["type"]=="Opaque"'
expect "configmap create" 201 POST /api/v1/namespaces/app/configmaps -H "$J" -d '{"metadata":{"name":"cfg","labels":{"t":"1"}},"data":{"a":"1"}}'
rv=$(json "$TMP/body" 'd["metadata"]["resourceVersion"]')
expect "replace configmap (PUT)" 200 PUT /api/v1/namespaces/app/configmaps/cfg -H "$J" -d '{"metadata":{"name":"cfg","resourceVersion":"'"$rv"'"},"data":{"a":"2"}}'
checkj "PUT bumped resourceVersion" 'int(d["metadata"]["resourceVersion"])>'"$rv"' and d["data"]=={"a":"2"}'
expect "PUT with a stale resourceVersion: 409 Conflict" 409 PUT /api/v1/namespaces/app/configmaps/cfg -H "$J" -d '{"metadata":{"name":"cfg","resourceVersion":"'"$rv"'"},"data":{"a":"3"}}'
checkj "Conflict reason" 'd["reason"]=="Conflict"'
expect "PUT name mismatch: 400" 400 PUT /api/v1/namespaces/app/configmaps/cfg -H "$J" -d '{"metadata":{"name":"other"}}'
expect "JSON patch is refused: 415" 415 PATCH /api/v1/namespaces/app/configmaps/cfg -H 'Content-Type: application/json-patch+json' -d '[]'

# --- server-side apply, generation, merge patch to zero, conflicts
dep() { # name image replicas [extra spec json]
  printf '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"%s","labels":{"app":"%s"}},"spec":{"replicas":%s%s,"selector":{"matchLabels":{"app":"%s"}},"template":{"metadata":{"labels":{"app":"%s"}},"spec":{"containers":[{"name":"main","image":"%s","env":[{"name":"DATABASE_URL","valueFrom":{"secretKeyRef":{"name":"db","key":"url"}}}]}]}}}}' \
    "$1" "$1" "$3" "${4:-}" "$1" "$1" "$2"
}
D=/apis/apps/v1/namespaces/app/deployments
expect "apply without fieldManager: 400" 400 PATCH "$D/web" -H "$AP" -d "$(dep web reg/web:1 2)"
expect "server-side apply creates (201)" 201 PATCH "$D/web?fieldManager=hoist" -H "$AP" -d "$(dep web reg/web:1 2)"
checkj "generation 1, managedFields by hoist (Apply)" 'd["metadata"]["generation"]==1 and [(m["manager"],m["operation"]) for m in d["metadata"]["managedFields"]]==[("hoist","Apply")]'
expect "re-apply with a new image" 200 PATCH "$D/web?fieldManager=hoist" -H "$AP" -d "$(dep web reg/web:2 2)"
checkj "spec change bumps generation to 2" 'd["metadata"]["generation"]==2 and d["spec"]["template"]["spec"]["containers"][0]["image"]=="reg/web:2"'
sleep 0.5
expect "get deployment after the rollout delay" 200 GET "$D/web"
checkj "available: replicas, ready, updated, observedGeneration" 's=d["status"]; s["observedGeneration"]==2 and s["replicas"]==2 and s["readyReplicas"]==2 and s["updatedReplicas"]==2 and s["availableReplicas"]==2'
checkj "conditions Available True and Progressing NewReplicaSetAvailable" '{c["type"]:(c["status"],c["reason"]) for c in d["status"]["conditions"]}=={"Available":("True","MinimumReplicasAvailable"),"Progressing":("True","NewReplicaSetAvailable")}'
expect "pods by labelSelector" 200 GET "/api/v1/namespaces/app/pods?labelSelector=app%3Dweb"
checkj "2 Running pods, ready, owned by a ReplicaSet" 'len(d["items"])==2 and all(p["status"]["phase"]=="Running" and p["status"]["containerStatuses"][0]["ready"] and p["metadata"]["ownerReferences"][0]["kind"]=="ReplicaSet" for p in d["items"])'
pod=$(json "$TMP/body" 'd["items"][0]["metadata"]["name"]')
rs=$(json "$TMP/body" 'd["items"][0]["metadata"]["ownerReferences"][0]["name"]')
expect "the ReplicaSet exists" 200 GET "/apis/apps/v1/namespaces/app/replicasets/$rs"
checkj "ReplicaSet owned by Deployment web" 'd["metadata"]["ownerReferences"][0]["kind"]=="Deployment" and d["metadata"]["ownerReferences"][0]["name"]=="web"'
expect "labelSelector with no match" 200 GET "/api/v1/namespaces/app/pods?labelSelector=app%3Dnope"
checkj "empty list" 'd["items"]==[] and d["kind"]=="PodList"'
expect "set-based selector app in (web,x)" 200 GET "/api/v1/pods?labelSelector=app%20in%20(web,x)"
checkj "all-namespaces pod list finds 2" 'len(d["items"])==2'
expect "all-namespaces deployments" 200 GET /apis/apps/v1/deployments
checkj "DeploymentList with web" '[i["metadata"]["name"] for i in d["items"]]==["web"]'
expect "pod log" 200 GET "/api/v1/namespaces/app/pods/$pod/log"
if grep -q "container main of pod $pod started from image reg/web:2" "$TMP/body" && ! grep -q postgres "$TMP/body"; then ok "log names the container and image, no secret value"; else not_ok "log: $(cat "$TMP/body")"; fi
expect "merge patch scales to zero (other manager)" 200 PATCH "$D/web?fieldManager=scaler" -H "$MP" -d '{"spec":{"replicas":0}}'
checkj "replicas 0" 'd["spec"]["replicas"]==0'
expect "pods are gone" 200 GET "/api/v1/namespaces/app/pods?labelSelector=app%3Dweb"
checkj "no pods after scale to zero" 'd["items"]==[]'
expect "apply replicas 2 conflicts with scaler: 409" 409 PATCH "$D/web?fieldManager=hoist" -H "$AP" -d "$(dep web reg/web:2 2)"
checkj "conflict names manager and field" 'd["reason"]=="Conflict" and d["details"]["causes"][0]["field"]==".spec.replicas" and "scaler" in d["message"]'
expect "apply with force=true takes the field" 200 PATCH "$D/web?fieldManager=hoist&force=true" -H "$AP" -d "$(dep web reg/web:2 2)"
checkj "replicas back to 2" 'd["spec"]["replicas"]==2'

# --- failure triggers
expect "crashloop image" 201 PATCH "$D/crash?fieldManager=hoist" -H "$AP" -d "$(dep crash reg/crashloop:1 1 ',"progressDeadlineSeconds":1')"
expect "notfound image" 201 PATCH "$D/pull?fieldManager=hoist" -H "$AP" -d "$(dep pull reg/notfound:1 1)"
sleep 1.3
expect "crashloop pods" 200 GET "/api/v1/namespaces/app/pods?labelSelector=app%3Dcrash"
checkj "CrashLoopBackOff, not ready, restarts" 'c=d["items"][0]["status"]["containerStatuses"][0]; c["state"]["waiting"]["reason"]=="CrashLoopBackOff" and not c["ready"] and c["restartCount"]>=1'
expect "crashloop deployment" 200 GET "$D/crash"
checkj "never available; ProgressDeadlineExceeded" 'c={c["type"]:(c["status"],c["reason"]) for c in d["status"]["conditions"]}; c["Progressing"]==("False","ProgressDeadlineExceeded") and c["Available"][0]=="False" and "availableReplicas" not in d["status"]'
expect "image-not-found pods" 200 GET "/api/v1/namespaces/app/pods?labelSelector=app%3Dpull"
checkj "Pending with ImagePullBackOff" 'p=d["items"][0]["status"]; p["phase"]=="Pending" and p["containerStatuses"][0]["state"]["waiting"]["reason"]=="ImagePullBackOff"'
ppod=$(json "$TMP/body" 'd["items"][0]["metadata"]["name"]')
expect "log of a pod that cannot pull: 400" 400 GET "/api/v1/namespaces/app/pods/$ppod/log"

# --- StatefulSet, HPA, PVC
expect "statefulset" 201 POST /apis/apps/v1/namespaces/app/statefulsets -H "$J" -d '{"metadata":{"name":"db"},"spec":{"replicas":2,"serviceName":"db","selector":{"matchLabels":{"app":"db"}},"template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"pg","image":"postgres:15"}]}}}}'
sleep 0.4
expect "statefulset pods" 200 GET "/api/v1/namespaces/app/pods?labelSelector=app%3Ddb"
checkj "db-0 and db-1 owned by the StatefulSet" 'sorted(p["metadata"]["name"] for p in d["items"])==["db-0","db-1"] and all(p["metadata"]["ownerReferences"][0]["kind"]=="StatefulSet" for p in d["items"])'
expect "statefulset status" 200 GET /apis/apps/v1/namespaces/app/statefulsets/db
checkj "readyReplicas 2, revisions equal" 's=d["status"]; s["readyReplicas"]==2 and s["currentRevision"]==s["updateRevision"]'
expect "hpa" 201 POST /apis/autoscaling/v2/namespaces/app/horizontalpodautoscalers -H "$J" -d '{"metadata":{"name":"web"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":1,"maxReplicas":3}}'
expect "hpa with maxReplicas 0: 422" 422 POST /apis/autoscaling/v2/namespaces/app/horizontalpodautoscalers -H "$J" -d '{"metadata":{"name":"bad"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},"maxReplicas":0}}'
expect "pvc" 201 POST /api/v1/namespaces/app/persistentvolumeclaims -H "$J" -d '{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}'
checkj "pvc Bound with capacity" 'd["status"]["phase"]=="Bound" and d["status"]["capacity"]["storage"]=="1Gi"'

# --- deletion
expect "delete deployment pull with Orphan" 200 DELETE "$D/pull?propagationPolicy=Orphan"
checkj "Status Success" 'd["kind"]=="Status" and d["status"]=="Success"'
expect "orphaned pods stay" 200 GET "/api/v1/namespaces/app/pods?labelSelector=app%3Dpull"
checkj "one pod left" 'len(d["items"])==1'
expect "delete deployment web (Background)" 200 DELETE "$D/web?propagationPolicy=Background"
expect "its ReplicaSets are gone" 200 GET "/apis/apps/v1/namespaces/app/replicasets?labelSelector=app%3Dweb"
checkj "no ReplicaSet of web" 'd["items"]==[]'
expect "delete missing: 404" 404 DELETE "$D/web"
curl -s "$BASE/_sim/resources" -o "$TMP/res.json"
if json "$TMP/res.json" 'any(r["cloud"]=="kube" and r["type"]=="deployments" and r["name"]=="app/crash" for r in d["resources"])' | grep -q True; then ok "/_sim/resources lists kube objects"; else not_ok "/_sim/resources"; fi
expect "delete namespace app" 200 DELETE /api/v1/namespaces/app
expect "its objects are gone (cascade)" 200 GET /api/v1/pods
checkj "no pods anywhere" 'd["items"]==[]'
expect "namespace gone" 404 GET /api/v1/namespaces/app
curl -s "$BASE/_sim/calls" -o "$TMP/calls.json"
if json "$TMP/calls.json" '[c["count"] for c in d["calls"] if c["cloud"]=="kube" and c["operation"]=="PATCH /kube/{cluster}/apis/apps/v1/namespaces/{namespace}/deployments/{name}"][0]>=8' | grep -q True; then ok "/_sim/calls counts kube operations"; else not_ok "/_sim/calls: $(head -c 300 "$TMP/calls.json")"; fi

# --- cluster life cycle
first=$KURL
curl -s -H "Authorization: Bearer hoist-sim-do-token" -X POST "$BASE/v2/kubernetes/clusters" -o "$TMP/c2.json" \
  -d '{"name":"k2","region":"nyc1","version":"latest","node_pools":[{"name":"p","size":"s-1vcpu-2gb","count":1}]}'
KURL=$(json "$TMP/c2.json" 'd["kubernetes_cluster"]["endpoint"]')
expect "a provisioning cluster answers 503" 503 GET /api/v1/namespaces
KURL=$first
curl -s -o /dev/null -H "Authorization: Bearer hoist-sim-do-token" -X DELETE "$BASE/v2/kubernetes/clusters/$CLUSTER_ID"
expect "a deleted cluster's API is gone: 404" 404 GET /api/v1/namespaces
done_testing
