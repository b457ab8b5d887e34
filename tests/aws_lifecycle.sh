#!/bin/sh
# aws_lifecycle.sh - the aws driver through the real CLI against hoist-sim's
# AWS APIs (which verify every SigV4 signature), with faults on:
# deploy -> status -> deploy again (no mutating call) -> destroy, then the
# sim's admin API shows no duplicate creation and no leftover; Debian's AWS
# CLI reads what the driver made.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"

[ -x "$SIM_BIN" ] || skip_all "hoist-sim is not built"
command -v curl >/dev/null || skip_all "curl is not installed"

SEED=${HOIST_AWS_SEED:-7}
sim_start aws --faults error=0.2,throttle=0.1,lost=0.05 --seed "$SEED" \
    --delay cluster=1s,pool=1s,database=1s || exit 1
W=$SIM_TMP/proj
mkdir -p "$W/api"
echo 'FROM scratch' >"$W/api/Dockerfile"
cat >"$W/hoist.yml" <<EOF
project: shop
environments:
  prod:
    provider: aws
    region: eu-west-3
    endpoint: $SIM_URL
    registry: { keep_images: 12 }
    cluster: { version: "1.30", nodes: { type: t3.medium, min: 2, max: 4 } }
databases:
  - { name: main, engine: postgresql, version: "15", mode: managed, size: small, storage: 30 }
applications:
  - { name: api, path: ./api, port: 3000, databases: [main] }
EOF
# Credentials the AWS way; nothing from the user's ~/.aws.
export AWS_ACCESS_KEY_ID=AKIDHOISTSIM AWS_SECRET_ACCESS_KEY=hoist-sim-secret
export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null
unset AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE AWS_ENDPOINT_URL
export HOIST_PROVIDER_PATH="$HOIST_MODDIR/providers/aws"
cd "$W" || exit 1

admin() { curl -sf "$SIM_URL/_sim/$1"; }
py() { /usr/bin/python3 -c "$@"; }
dups() { admin creations | py 'import json,sys; print(sum(1 for c in json.load(sys.stdin)["creations"] if c["count"] > 1))'; }
mutating() { admin calls | py 'import json,sys; print(sum(c["count"] for c in json.load(sys.stdin)["calls"] if c["mutating"] and c["cloud"] == "aws"))'; }
left() { admin resources | py 'import json,sys; print(len(json.load(sys.stdin)["resources"]))'; }

# 0. wrong credentials: refused by the sim's SigV4 check, reported as an
# authentication problem, never retried, the secret never printed.
AWS_SECRET_ACCESS_KEY=not-the-secret-key "$HOIST" deploy -e prod --yes >auth.log 2>&1
rc=$?
sed 's/^/# auth: /' auth.log | grep -i "fail" | head -3
check "a wrong secret key fails the deploy" [ "$rc" -ne 0 ]
check "the failure names AWS's code and hoist's auth status" \
    sh -c "grep -q 'SignatureDoesNotMatch\|AuthFailure' auth.log && grep -qi 'auth' auth.log"
check "the wrong secret is not printed" sh -c "! grep -q not-the-secret-key auth.log"

# 1. deploy: the whole pipeline, the image pushed to the sim's registry
# through ECR's login and the app applied on the EKS cluster's API (which
# takes hoist's k8s-aws-v1 token).
"$HOIST" deploy -e prod --yes >deploy1.log 2>&1
rc=$?
sed 's/^/# /' deploy1.log | tail -25
check "first deploy succeeds through faults" [ "$rc" -eq 0 ]
check "network, cluster, registry, database, image and app are created" \
    grep -q "deploy: 6 created, 0 changed, .* 0 failed, 0 skipped" deploy1.log
check "no step failed" sh -c "! grep -v '^deploy:' deploy1.log | grep -q ' failed'"
check "no duplicate creation after deploy (faults on)" [ "$(dups)" -eq 0 ]

# 2. status: every driver resource observed ready.
"$HOIST" status -e prod >status.log 2>&1
sed 's/^/# /' status.log
for r in network/network cluster/cluster database/main registry/api; do
    check "status: $r is ready and in sync" grep -Eq "^$r +ready +ready +in sync" status.log
done

# 3. deploy again: nothing to do, no mutating call.
before=$(mutating)
admin calls >calls1.json
"$HOIST" deploy -e prod --yes >deploy2.log 2>&1
after=$(mutating)
admin calls >calls2.json
py 'import json
a={c["operation"]:c["count"] for c in json.load(open("calls1.json"))["calls"]}
for c in json.load(open("calls2.json"))["calls"]:
    if c["count"]!=a.get(c["operation"],0): print("# during the repeated deploy: %s x%d" % (c["operation"], c["count"]-a.get(c["operation"],0)))'

sed "s/^/# deploy2: /" deploy2.log
diag "mutating calls before/after the repeated deploy: $before/$after"
check "the repeated deploy makes zero mutating calls" [ "$before" -eq "$after" ]
check "the repeated deploy changes nothing" grep -q "Nothing to do: environment .prod. is up to date" deploy2.log

# 4. the official AWS CLI reads what the driver made (faults off for it).
curl -sf -X POST -d '{"error":0,"throttle":0,"lost":0}' \
    "$SIM_URL/_sim/faults" >/dev/null
AWS="/usr/bin/aws --endpoint-url $SIM_URL --region eu-west-3 --output json"
if [ -x /usr/bin/aws ]; then
    $AWS ec2 describe-vpcs --filters Name=tag:hoist:project,Values=shop Name=tag:hoist:env,Values=prod \
        Name=tag:hoist:resource,Values=network >vpcs.json 2>aws.err
    check "aws ec2 describe-vpcs finds one VPC by the hoist tags" \
        py 'import json,sys; v=json.load(open("vpcs.json"))["Vpcs"]; sys.exit(len(v)!=1 or v[0]["CidrBlock"]!="10.0.0.0/16")'
    $AWS ec2 describe-subnets --filters Name=tag:hoist:env,Values=prod >subnets.json 2>>aws.err
    check "four subnets in two availability zones" \
        py 'import json,sys; s=json.load(open("subnets.json"))["Subnets"]; sys.exit(len(s)!=4 or len({x["AvailabilityZone"] for x in s})!=2)'
    $AWS ec2 describe-route-tables --filters Name=tag:Name,Values=shop-prod-public-rt >rt.json 2>>aws.err
    check "the public route table sends 0.0.0.0/0 to the internet gateway" \
        py 'import json,sys; r=json.load(open("rt.json"))["RouteTables"][0]["Routes"]; sys.exit(not any(x.get("DestinationCidrBlock")=="0.0.0.0/0" and x.get("GatewayId","").startswith("igw-") for x in r))'
    $AWS eks describe-cluster --name shop-prod >eks.json 2>>aws.err
    check "aws eks describe-cluster: ACTIVE, version 1.30, hoist tags" \
        py 'import json,sys; c=json.load(open("eks.json"))["cluster"]; sys.exit(c["status"]!="ACTIVE" or c["version"]!="1.30" or c["tags"].get("hoist:env")!="prod")'
    $AWS eks describe-nodegroup --cluster-name shop-prod --nodegroup-name shop-prod-nodes >ng.json 2>>aws.err
    check "aws eks describe-nodegroup: ACTIVE, t3.medium, 2..4" \
        py 'import json,sys; n=json.load(open("ng.json"))["nodegroup"]; s=n["scalingConfig"]; sys.exit(n["status"]!="ACTIVE" or n["instanceTypes"]!=["t3.medium"] or (s["minSize"],s["maxSize"])!=(2,4))'
    $AWS rds describe-db-instances --db-instance-identifier shop-prod-main >rds.json 2>>aws.err
    check "aws rds describe-db-instances: available postgres 15, db.t3.micro, 30 GB, private" \
        py 'import json,sys; d=json.load(open("rds.json"))["DBInstances"][0]; sys.exit(d["DBInstanceStatus"]!="available" or d["Engine"]!="postgres" or d["EngineVersion"]!="15" or d["DBInstanceClass"]!="db.t3.micro" or d["AllocatedStorage"]!=30 or d["PubliclyAccessible"])'
    $AWS ecr describe-repositories --repository-names shop/prod/api >ecr.json 2>>aws.err
    check "aws ecr describe-repositories: shop/prod/api scans on push" \
        py 'import json,sys; r=json.load(open("ecr.json"))["repositories"][0]; sys.exit(not r["imageScanningConfiguration"]["scanOnPush"])'
    $AWS ecr get-lifecycle-policy --repository-name shop/prod/api >lc.json 2>>aws.err
    check "the lifecycle policy keeps the last 12 images (registry.keep_images)" \
        py 'import json,sys; p=json.loads(json.load(open("lc.json"))["lifecyclePolicyText"]); sys.exit(p["rules"][0]["selection"]["countNumber"]!=12)'
    $AWS iam list-attached-role-policies --role-name shop-prod-eks-node >iam.json 2>>aws.err
    check "the node role has the three EKS worker policies" \
        py 'import json,sys; a={p["PolicyName"] for p in json.load(open("iam.json"))["AttachedPolicies"]}; sys.exit(a!={"AmazonEKSWorkerNodePolicy","AmazonEKS_CNI_Policy","AmazonEC2ContainerRegistryReadOnly"})'
    sed 's/^/# aws: /' aws.err
else
    diag "SKIP: /usr/bin/aws (Debian's awscli) is not installed"
fi

# 5. destroy, with faults back on.
curl -sf -X POST -d '{"error":0.2,"throttle":0.1,"lost":0.05}' "$SIM_URL/_sim/faults" >/dev/null
"$HOIST" destroy -e prod --yes >destroy.log 2>&1
rc=$?
sed 's/^/# /' destroy.log | tail -8
check "destroy succeeds under faults" [ "$rc" -eq 0 ]
check "no leftover in the simulator after destroy" [ "$(left)" -eq 0 ]
check "no duplicate creation over the whole run" [ "$(dups)" -eq 0 ]
check "no secret in the logs" sh -c "! grep -q hoist-sim-secret deploy1.log deploy2.log status.log destroy.log"
done_testing
