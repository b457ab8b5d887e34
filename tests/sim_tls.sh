#!/bin/sh
# sim_tls.sh - hoist-sim --tls: HTTPS on the edge with a CA made at start-up.
# curl trusts it only with that CA; the CA handed out by DigitalOcean's
# cluster credentials and kubeconfig, Scaleway's kubeconfig and EKS's
# certificateAuthority is that CA; cluster endpoints are https://; the AWS
# CLI and kubectl work with it.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"

command -v jq >/dev/null 2>&1 || skip_all "jq is not installed"
command -v openssl >/dev/null 2>&1 || skip_all "openssl is not installed"

CA=$SIM_TMP/ca.pem
sim_start main --tls --ca-out "$CA" --no-registry --delay cluster=0,pool=0 ||
    { echo "1..1"; not_ok "hoist-sim --tls starts"; exit 1; }
PORT=${SIM_URL##*:}

check "--tls: the edge is https://127.0.0.1:PORT" test "$SIM_URL" = "https://127.0.0.1:$PORT"
check "--tls: the CA path is printed next to the listening line" \
    grep -qx "hoist-sim: CA certificate in $CA" "$SIM_TMP/main.out"
check "--ca-out holds a CA certificate (CA:TRUE)" \
    sh -c "openssl x509 -in '$CA' -noout -text | grep -q 'CA:TRUE'"

D="Authorization: Bearer hoist-sim-do-token"
S="X-Auth-Token: hoist-sim-scw-secret"
check "curl --cacert CA succeeds" curl -sf -o /dev/null --cacert "$CA" -H "$D" "$SIM_URL/v2/account"
check "curl --cacert CA succeeds for localhost too" \
    curl -sf -o /dev/null --cacert "$CA" -H "$D" "https://localhost:$PORT/v2/account"
curl -s -o /dev/null -H "$D" "$SIM_URL/v2/account" 2>/dev/null
check "curl without the CA fails with a certificate error (60)" test $? -eq 60
check "plain HTTP on the TLS port gets no HTTP answer" \
    sh -c "! curl -sf -o /dev/null -m 5 -H '$D' 'http://127.0.0.1:$PORT/v2/account'"

api() { curl -s --cacert "$CA" -H 'Content-Type: application/json' "$@"; }

# ---- DigitalOcean: credentials and kubeconfig carry the CA
CL=$(api -H "$D" -d '{"name":"tls","region":"fra1","version":"1.33.1-do.0","node_pools":[{"size":"s-1vcpu-2gb","name":"p","count":1}]}' \
    "$SIM_URL/v2/kubernetes/clusters" | jq -r .kubernetes_cluster.id)
CRED=$(api -H "$D" "$SIM_URL/v2/kubernetes/clusters/$CL/credentials")
check "DO credentials: certificate_authority_data decodes to the CA" \
    sh -c "printf '%s' '$CRED' | jq -r .certificate_authority_data | base64 -d | cmp -s - '$CA'"
check "DO credentials: the server is https://" \
    test "$(printf '%s' "$CRED" | jq -r .server)" = "$SIM_URL/kube/$CL"
api -H "$D" "$SIM_URL/v2/kubernetes/clusters/$CL/kubeconfig" >"$SIM_TMP/do.kubeconfig"
check "DO kubeconfig: certificate-authority-data is the CA" \
    sh -c "sed -n 's/^ *certificate-authority-data: //p' '$SIM_TMP/do.kubeconfig' | base64 -d | cmp -s - '$CA'"

# the cluster's Kubernetes API over TLS with that kubeconfig
TOKEN=$(printf '%s' "$CRED" | jq -r .token)
for _ in $(seq 50); do
    [ "$(api -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$SIM_URL/kube/$CL/version")" = 200 ] && break
    sleep 0.1
done
check "DO cluster API answers over TLS with the CA" \
    sh -c "curl -sf --cacert '$CA' -H 'Authorization: Bearer $TOKEN' '$SIM_URL/kube/$CL/version' | jq -e .gitVersion >/dev/null"
KC=$(ls /usr/lib/google-cloud-sdk/bin/kubectl.1.* 2>/dev/null | sort -t. -k3 -n | tail -1)
if [ -n "$KC" ]; then
    check "kubectl with the DO kubeconfig trusts the CA" sh -c \
        "'$KC' --kubeconfig '$SIM_TMP/do.kubeconfig' --cache-dir '$SIM_TMP/kc' get namespaces -o name | grep -qx namespace/default"
else
    ok "# SKIP no kubectl.1.NN"
fi

# ---- Scaleway kubeconfig
SC=$(api -H "$S" -d '{"name":"tls","version":"1.32.3","cni":"cilium","pools":[{"name":"p","node_type":"DEV1-M","size":1}]}' \
    "$SIM_URL/k8s/v1/regions/fr-par/clusters" | jq -r .id)
check "SCW kubeconfig: certificate-authority-data is the CA" sh -c \
    "curl -s --cacert '$CA' -H '$S' '$SIM_URL/k8s/v1/regions/fr-par/clusters/$SC/kubeconfig' | jq -r .content | base64 -d |
     sed -n 's/^ *certificate-authority-data: //p' | base64 -d | cmp -s - '$CA'"

# ---- AWS: the CLI over TLS with --ca-bundle, EKS certificateAuthority
AWSCLI=/usr/bin/aws
if [ -x "$AWSCLI" ]; then
    export AWS_ACCESS_KEY_ID=AKIDHOISTSIM AWS_SECRET_ACCESS_KEY=hoist-sim-secret
    export AWS_DEFAULT_REGION=eu-west-3 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    export AWS_PAGER= AWS_EC2_METADATA_DISABLED=true
    aws() { "$AWSCLI" --endpoint-url "$SIM_URL" --ca-bundle "$CA" --output text "$@" 2>"$SIM_TMP/aws.err"; }
    check "aws --ca-bundle CA sts get-caller-identity" test "$(aws sts get-caller-identity --query Account)" = 123456789012
    check "aws without the CA fails on the certificate" sh -c \
        "! '$AWSCLI' --endpoint-url '$SIM_URL' sts get-caller-identity >/dev/null 2>'$SIM_TMP/aws2.err' && grep -qi 'certificate' '$SIM_TMP/aws2.err'"
    vpc=$(aws ec2 create-vpc --cidr-block 10.0.0.0/16 --query Vpc.VpcId)
    sa=$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.1.0/24 --availability-zone eu-west-3a --query Subnet.SubnetId)
    sb=$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.2.0/24 --availability-zone eu-west-3b --query Subnet.SubnetId)
    aws eks create-cluster --name tls --role-arn arn:aws:iam::123456789012:role/eks \
        --resources-vpc-config "subnetIds=$sa,$sb" >/dev/null
    check "EKS certificateAuthority.data decodes to the CA" sh -c \
        "'$AWSCLI' --endpoint-url '$SIM_URL' --ca-bundle '$CA' eks describe-cluster --name tls --query cluster.certificateAuthority.data --output text | base64 -d | cmp -s - '$CA'"
    check "EKS endpoint is https://" test "$(aws eks describe-cluster --name tls --query cluster.endpoint | cut -c1-8)" = "https://"
else
    ok "# SKIP /usr/bin/aws (Debian awscli) is not installed"
fi

# ---- without --tls nothing changes: plain HTTP and no CA handed out
sim_start plain --no-registry || { not_ok "hoist-sim starts without --tls"; done_testing; exit 1; }
check "without --tls the edge is http:// and no CA is printed" \
    sh -c "case '$SIM_URL' in http://*) ! grep -q 'CA certificate' '$SIM_TMP/plain.out';; *) false;; esac"
check "--ca-out without --tls is refused" sh -c "! '$SIM_BIN' --port 0 --ca-out '$SIM_TMP/x.pem' 2>/dev/null"

done_testing
