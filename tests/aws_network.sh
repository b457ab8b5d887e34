#!/bin/sh
# aws_network.sh - the aws driver's network.nat setting against hoist-sim:
# a wrong value stops the deploy with a message naming it; per_az gives
# each zone its own NAT gateway (own Elastic IP, in that zone's public
# subnet) and routes each private subnet through the NAT gateway of its
# zone, so hoist-sim's EKS rule (nodes need a way out) lets the node group
# become ACTIVE, and a node group in a subnet without one shows EKS's health
# issue in `hoist status`; destroy waits for the NAT gateways to be deleted before it
# releases the addresses and the internet gateway, leaving nothing.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"
. "$HOIST_SRCDIR/tests/aws_lib.sh"

[ -x "$SIM_BIN" ] || skip_all "hoist-sim is not built"
command -v curl >/dev/null || skip_all "curl is not installed"

sim_start aws --delay cluster=100ms,pool=100ms,nat=150ms || exit 1
W=$SIM_TMP/proj
mkdir -p "$W"
project() {
    cat >"$W/hoist.yml" <<EOF
project: shop
environments:
  prod:
    provider: aws
    region: eu-west-3
    endpoint: $SIM_URL
    poll_ms: 50
    network: { nat: $1 }
applications:
  - { name: web, image: "nginx:1.27", port: 80 }
EOF
}
aws_sim_env
cd "$W" || exit 1
res() { curl -sf "$SIM_URL/_sim/resources" >res.json; }
py() { /usr/bin/python3 -c "$@"; }

# 1. a wrong value: refused before anything is made, the setting named
project everywhere
"$HOIST" deploy -e prod --yes >bad.log 2>&1
rc=$?
sed 's/^/# bad: /' bad.log | grep -i "nat" | head -2
check "network.nat: everywhere fails the deploy" [ "$rc" -ne 0 ]
check "the error names network.nat and its two values" \
    sh -c "grep -q 'network.nat must be single' bad.log && grep -q per_az bad.log"
res
check "nothing was made" py 'import json,sys; sys.exit(len(json.load(open("res.json"))["resources"]) != 0)'

# 2. per_az: a NAT gateway per zone, each private subnet routed to its own
project per_az
"$HOIST" deploy -e prod --yes >deploy.log 2>&1
rc=$?
sed 's/^/# /' deploy.log | tail -12
check "deploy with network.nat: per_az succeeds (the node group is ACTIVE)" [ "$rc" -eq 0 ]
res
check "two NAT gateways, two Elastic IPs" py 'import json,sys
r=json.load(open("res.json"))["resources"]
n=lambda t: sum(1 for x in r if x["type"]==t)
sys.exit(n("ec2_nat_gateway")!=2 or n("ec2_address")!=2)'
# From the state's outputs: the NAT gateways and the private route tables.
check "the state records both NAT gateways and both private route tables" py 'import json,sys
st=json.load(open(".hoist/state/prod.json"))
o=[v for k,v in st["resources"].items() if k.endswith("network")][0]["outputs"]
sys.exit(o["nat"]!="per_az" or len(o["nat_gateways"])!=2 or len(set(o["private_route_tables"]))!=2)'
if [ -x /usr/bin/aws ]; then
    AWS="/usr/bin/aws --endpoint-url $SIM_URL --region eu-west-3 --output json"
    $AWS ec2 describe-nat-gateways --filter Name=tag:hoist:env,Values=prod >nat.json 2>aws.err
    $AWS ec2 describe-subnets --filters Name=tag:hoist:env,Values=prod >subnets.json 2>>aws.err
    $AWS ec2 describe-route-tables --filters Name=tag:hoist:env,Values=prod >rts.json 2>>aws.err
    check "each private subnet goes out through the NAT gateway of its own zone" py 'import json,sys
az={s["SubnetId"]: s["AvailabilityZone"] for s in json.load(open("subnets.json"))["Subnets"]}
priv={s["SubnetId"] for s in json.load(open("subnets.json"))["Subnets"] if any(t["Key"]=="kubernetes.io/role/internal-elb" for t in s["Tags"])}
natz={g["NatGatewayId"]: az[g["SubnetId"]] for g in json.load(open("nat.json"))["NatGateways"] if g["State"]=="available"}
seen=set()
for t in json.load(open("rts.json"))["RouteTables"]:
    for r in t["Routes"]:
        if r.get("DestinationCidrBlock")=="0.0.0.0/0" and r.get("NatGatewayId") in natz:
            for a in t["Associations"]:
                if a.get("SubnetId") in priv and az[a["SubnetId"]]==natz[r["NatGatewayId"]]:
                    seen.add(a["SubnetId"])
sys.exit(len(natz)!=2 or seen!=priv or len(priv)!=2)'
    # A node group in a subnet without a way out: hoist shows EKS's health
    # issue.  (The subnet carries hoist's tags so destroy removes it.)
    vpc=$(py 'import json; print(json.load(open("subnets.json"))["Subnets"][0]["VpcId"])')
    sn=$($AWS ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.128.0/24 --availability-zone eu-west-3a \
        --tag-specifications 'ResourceType=subnet,Tags=[{Key=hoist:project,Value=shop},{Key=hoist:env,Value=prod},{Key=hoist:resource,Value=network}]' \
        --query Subnet.SubnetId --output text 2>>aws.err)
    role=$($AWS iam get-role --role-name shop-prod-eks-node --query Role.Arn --output text 2>>aws.err)
    $AWS eks delete-nodegroup --cluster-name shop-prod --nodegroup-name shop-prod-nodes >/dev/null 2>>aws.err
    ngs() { $AWS eks list-nodegroups --cluster-name shop-prod --query 'length(nodegroups)' --output text 2>>aws.err; }
    for _ in $(seq 50); do [ "$(ngs)" = 0 ] && break; sleep 0.1; done
    $AWS eks create-nodegroup --cluster-name shop-prod --nodegroup-name shop-prod-nodes --node-role "$role" \
        --subnets "$sn" >/dev/null 2>>aws.err
    sleep 0.5
    # hoist status observes the cluster (a deploy trusts the state).
    "$HOIST" status -e prod >closed.log 2>&1
    sed 's/^/# closed: /' closed.log | grep -i "cluster" | head -3
    check "hoist status shows the node group's health issue from EKS" \
        grep -q 'CREATE_FAILED: NodeCreationFailure: Instances failed to join' closed.log
    sed 's/^/# aws: /' aws.err
else
    diag "SKIP: /usr/bin/aws (Debian's awscli) is not installed"
fi

# 3. destroy: NAT gateways deleted (and waited for) before the rest goes
"$HOIST" destroy -e prod --yes >destroy.log 2>&1
rc=$?
sed 's/^/# /' destroy.log | tail -4
check "destroy succeeds" [ "$rc" -eq 0 ]
# hoist-sim refuses ReleaseAddress and DetachInternetGateway until the NAT
# gateways are deleted, so success means destroy waited for them.
check "destroy deleted both NAT gateways once each" py 'import json,subprocess,sys
c=json.loads(subprocess.run(["curl","-sf","'"$SIM_URL"'/_sim/calls"],capture_output=True).stdout)["calls"]
sys.exit(sum(x["count"] for x in c if x["operation"]=="POST ec2:DeleteNatGateway")!=2)'
gone() { res; py 'import json,sys; sys.exit(len(json.load(open("res.json"))["resources"]) != 0)'; }
for _ in $(seq 30); do gone && break; sleep 0.1; done
check "nothing left in the simulator" gone
done_testing
