#!/bin/sh
# sim_aws.sh - the official AWS CLI against hoist-sim's AWS services (EC2,
# IAM, STS, RDS, EKS, ECR): every answer parsed, errors by their AWS code,
# signatures verified, idempotency tokens honoured.
. "$HOIST_SRCDIR/tests/lib.sh"
AWSCLI=/usr/bin/aws
[ -x "$AWSCLI" ] || skip_all "/usr/bin/aws (Debian awscli) is not installed"
SIM="$HOIST_BUILDDIR/tools/hoist-sim/hoist-sim"
tmp=$(mktemp -d)
"$SIM" --port 0 --delay database=300ms,cluster=300ms,pool=100ms,nat=3s >"$tmp/out" 2>"$tmp/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do grep -q listening "$tmp/out" && break; sleep 0.1; done
base=$(sed -n 's/^hoist-sim: listening on //p' "$tmp/out")
[ -n "$base" ] || { echo "Bail out! hoist-sim did not start: $(cat "$tmp/err")"; exit 1; }

export AWS_ACCESS_KEY_ID=AKIDHOISTSIM AWS_SECRET_ACCESS_KEY=hoist-sim-secret
export AWS_DEFAULT_REGION=eu-west-3 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_PAGER= AWS_EC2_METADATA_DISABLED=true
aws() { "$AWSCLI" --endpoint-url "$base" --output text "$@" 2>"$tmp/stderr"; }
# is DESC EXPECTED COMMAND...: the command succeeds and prints EXPECTED
is() { _d=$1 _e=$2; shift 2; _o=$("$@"); _rc=$?
    if [ $_rc -eq 0 ] && [ "$_o" = "$_e" ]; then ok "$_d"
    else not_ok "$_d"; diag "rc=$_rc got '$_o' expected '$_e'"; diag "$(cat "$tmp/stderr")"; fi; }
# fails DESC CODE COMMAND...: the command fails and the CLI prints the AWS error code
fails() { _d=$1 _c=$2; shift 2
    if "$@" >/dev/null 2>"$tmp/stderr"; then not_ok "$_d (succeeded)"
    elif grep -q "($_c)" "$tmp/stderr"; then ok "$_d"
    else not_ok "$_d"; diag "$(cat "$tmp/stderr")"; fi; }
# count TYPE: live resources of that type in /_sim/resources
count() { curl -s "$base/_sim/resources" | /usr/bin/python3 -c "
import json,sys; print(sum(1 for r in json.load(sys.stdin)['resources'] if r['cloud']=='aws' and r['type']=='$1' and not r['deleting']))"; }
until_is() { _want=$1; shift; for _ in $(seq 50); do [ "$("$@")" = "$_want" ] && return 0; sleep 0.1; done; return 1; }

# ---- STS and signatures
is "sts get-caller-identity" "123456789012" aws sts get-caller-identity --query Account
fails "wrong secret: SignatureDoesNotMatch" SignatureDoesNotMatch \
    env AWS_SECRET_ACCESS_KEY=not-the-secret "$AWSCLI" --endpoint-url "$base" sts get-caller-identity
fails "unknown key on IAM: InvalidClientTokenId" InvalidClientTokenId \
    env AWS_ACCESS_KEY_ID=AKIDUNKNOWN "$AWSCLI" --endpoint-url "$base" iam get-role --role-name x
fails "unknown key on EC2: AuthFailure" AuthFailure \
    env AWS_ACCESS_KEY_ID=AKIDUNKNOWN "$AWSCLI" --endpoint-url "$base" ec2 describe-vpcs
fails "wrong secret on ECR: InvalidSignatureException" InvalidSignatureException \
    env AWS_SECRET_ACCESS_KEY=nope "$AWSCLI" --endpoint-url "$base" ecr describe-repositories

# ---- EC2
vpc=$(aws ec2 create-vpc --cidr-block 10.0.0.0/16 --query Vpc.VpcId \
    --tag-specifications 'ResourceType=vpc,Tags=[{Key=hoist:project,Value=demo}]')
check "create-vpc gives an id" test "${vpc#vpc-}" != "$vpc"
is "describe-vpcs by tag:hoist:project" "$vpc" aws ec2 describe-vpcs \
    --filters Name=tag:hoist:project,Values=demo --query 'Vpcs[].VpcId'
is "describe-vpcs filter misses" "" aws ec2 describe-vpcs \
    --filters Name=tag:hoist:project,Values=other --query 'Vpcs[].VpcId'
is "modify-vpc-attribute" "" aws ec2 modify-vpc-attribute --vpc-id "$vpc" --enable-dns-hostnames '{"Value":true}'
fails "malformed CIDR: InvalidParameterValue" InvalidParameterValue aws ec2 create-vpc --cidr-block 10.0.0/99
fails "unknown VPC: InvalidVpcID.NotFound" InvalidVpcID.NotFound aws ec2 describe-vpcs --vpc-ids vpc-0123456789abcdef0
sa=$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.1.0/24 --availability-zone eu-west-3a --query Subnet.SubnetId \
    --tag-specifications 'ResourceType=subnet,Tags=[{Key=hoist:project,Value=demo}]')
sb=$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.2.0/24 --availability-zone eu-west-3b --query Subnet.SubnetId)
is "describe-subnets by vpc-id" "2" aws ec2 describe-subnets --filters "Name=vpc-id,Values=$vpc" --query 'length(Subnets)'
is "subnet free addresses" "251" aws ec2 describe-subnets --subnet-ids "$sa" --query 'Subnets[0].AvailableIpAddressCount'
fails "subnet outside the VPC: InvalidSubnet.Range" InvalidSubnet.Range aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 192.168.0.0/24
igw=$(aws ec2 create-internet-gateway --query InternetGateway.InternetGatewayId)
is "attach-internet-gateway" "" aws ec2 attach-internet-gateway --internet-gateway-id "$igw" --vpc-id "$vpc"
is "describe-internet-gateways attachment.vpc-id" "$igw" aws ec2 describe-internet-gateways \
    --filters "Name=attachment.vpc-id,Values=$vpc" --query 'InternetGateways[].InternetGatewayId'
is "main route table exists" "True" aws ec2 describe-route-tables \
    --filters "Name=vpc-id,Values=$vpc" Name=association.main,Values=true --query 'RouteTables[0].Associations[0].Main'
# CLI 2.9.19's model predates CreateRouteTable's ClientToken: sign with botocore itself
rawec2() { /usr/bin/python3 - "$base" "$@" <<'PY'
import sys, urllib.request, urllib.parse
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
body = urllib.parse.urlencode(dict(a.split("=", 1) for a in sys.argv[2:]) | {"Version": "2016-11-15"})
req = AWSRequest("POST", sys.argv[1] + "/", data=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(Credentials("AKIDHOISTSIM", "hoist-sim-secret"), "ec2", "eu-west-3").add_auth(req)
r = urllib.request.urlopen(urllib.request.Request(req.url, data=body.encode(), headers=dict(req.headers)))
x = r.read().decode()
print(x.split("<routeTableId>")[1].split("<")[0])
PY
}
rtb=$(rawec2 Action=CreateRouteTable VpcId="$vpc" ClientToken=tok-1)
rtb2=$(rawec2 Action=CreateRouteTable VpcId="$vpc" ClientToken=tok-1)
check "create-route-table ClientToken: same table" test -n "$rtb" -a "$rtb" = "$rtb2"
is "ClientToken: one route table plus the main one" "2" count ec2_route_table
is "create-route" "True" aws ec2 create-route --route-table-id "$rtb" --destination-cidr-block 0.0.0.0/0 --gateway-id "$igw"
assoc=$(aws ec2 associate-route-table --route-table-id "$rtb" --subnet-id "$sa" --query AssociationId)
is "route table routes" "local $igw" aws ec2 describe-route-tables --route-table-ids "$rtb" --query 'join(`" "`, RouteTables[0].Routes[].GatewayId)'
is "association.subnet-id filter" "$rtb" aws ec2 describe-route-tables --filters "Name=association.subnet-id,Values=$sa" --query 'RouteTables[].RouteTableId'
# NAT gateways: an Elastic IP, ClientToken, pending -> available, routes
# through them, and what they keep busy.
sc=$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.3.0/24 --availability-zone eu-west-3c --query Subnet.SubnetId)
eip=$(aws ec2 allocate-address --domain vpc --tag-specifications 'ResourceType=elastic-ip,Tags=[{Key=Name,Value=nat-ip}]' --query AllocationId)
is "allocate-address, describe-addresses by tag" "$eip" aws ec2 describe-addresses --filters Name=tag:Name,Values=nat-ip --query 'Addresses[].AllocationId'
is "create-nat-gateway: pending" "pending" aws ec2 create-nat-gateway --subnet-id "$sa" --allocation-id "$eip" \
    --client-token nat-tok-1 --tag-specifications 'ResourceType=natgateway,Tags=[{Key=Name,Value=nat-a}]' --query NatGateway.State
nat=$(aws ec2 create-nat-gateway --subnet-id "$sa" --allocation-id "$eip" --client-token nat-tok-1 --query NatGateway.NatGatewayId)
is "create-nat-gateway same ClientToken: one gateway" "1" count ec2_nat_gateway
is "describe-nat-gateways by tag" "$nat" aws ec2 describe-nat-gateways --filter Name=tag:Name,Values=nat-a --query 'NatGateways[].NatGatewayId'

natstate() { aws ec2 describe-nat-gateways --nat-gateway-ids "$nat" --query 'NatGateways[0].State'; }
check "NAT gateway becomes available" until_is available natstate
is "NAT gateway holds the Elastic IP" "$eip" aws ec2 describe-nat-gateways --filter "Name=subnet-id,Values=$sa" --query 'NatGateways[0].NatGatewayAddresses[0].AllocationId'
fails "one Elastic IP, two gateways: Resource.AlreadyAssociated" Resource.AlreadyAssociated \
    aws ec2 create-nat-gateway --subnet-id "$sa" --allocation-id "$eip"
fails "release-address in use: InvalidIPAddress.InUse" InvalidIPAddress.InUse aws ec2 release-address --allocation-id "$eip"
prt=$(aws ec2 create-route-table --vpc-id "$vpc" --query RouteTable.RouteTableId)
is "create-route-table without a ClientToken: a new table" "3" count ec2_route_table
is "create-route to the NAT gateway" "True" aws ec2 create-route --route-table-id "$prt" --destination-cidr-block 0.0.0.0/0 --nat-gateway-id "$nat"
passoc=$(aws ec2 associate-route-table --route-table-id "$prt" --subnet-id "$sb" --query AssociationId)
natroute() { aws ec2 describe-route-tables --filters "Name=route.nat-gateway-id,Values=$nat" --query 'RouteTables[0].Routes[?NatGatewayId].State | [0]'; }
is "route.nat-gateway-id filter: the route is active" "active" natroute
is "replace-route to the internet gateway" "" aws ec2 replace-route --route-table-id "$prt" --destination-cidr-block 0.0.0.0/0 --gateway-id "$igw"
is "replace-route back to the NAT gateway" "" aws ec2 replace-route --route-table-id "$prt" --destination-cidr-block 0.0.0.0/0 --nat-gateway-id "$nat"
fails "replace-route without that route: InvalidParameterValue" InvalidParameterValue \
    aws ec2 replace-route --route-table-id "$prt" --destination-cidr-block 10.9.0.0/16 --nat-gateway-id "$nat"
fails "detach-internet-gateway under a NAT gateway: DependencyViolation" DependencyViolation \
    aws ec2 detach-internet-gateway --internet-gateway-id "$igw" --vpc-id "$vpc"
fails "delete-subnet holding a NAT gateway: DependencyViolation" DependencyViolation aws ec2 delete-subnet --subnet-id "$sa"
sg=$(aws ec2 create-security-group --group-name web --description "web tier" --vpc-id "$vpc" --query GroupId \
    --tag-specifications 'ResourceType=security-group,Tags=[{Key=hoist:project,Value=demo}]')
is "authorize-security-group-ingress" "True" aws ec2 authorize-security-group-ingress --group-id "$sg" \
    --protocol tcp --port 443 --cidr 0.0.0.0/0 --query Return
fails "duplicate rule: InvalidPermission.Duplicate" InvalidPermission.Duplicate aws ec2 authorize-security-group-ingress \
    --group-id "$sg" --protocol tcp --port 443 --cidr 0.0.0.0/0
is "describe-security-groups" "443" aws ec2 describe-security-groups --filters "Name=vpc-id,Values=$vpc" \
    Name=group-name,Values=web --query 'SecurityGroups[0].IpPermissions[0].FromPort'
is "revoke-security-group-ingress" "True" aws ec2 revoke-security-group-ingress --group-id "$sg" \
    --protocol tcp --port 443 --cidr 0.0.0.0/0 --query Return
is "create-tags" "" aws ec2 create-tags --resources "$igw" --tags Key=hoist:project,Value=demo Key=Name,Value=gw
is "describe-tags by key" "$vpc $sa $igw $sg" aws ec2 describe-tags --filters Name=key,Values=hoist:project \
    --query 'join(`" "`, Tags[].ResourceId)'
is "describe-availability-zones" "eu-west-3a eu-west-3b eu-west-3c" aws ec2 describe-availability-zones \
    --query 'join(`" "`, AvailabilityZones[].ZoneName)'
fails "delete-vpc with dependents: DependencyViolation" DependencyViolation aws ec2 delete-vpc --vpc-id "$vpc"

# ---- IAM
doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
is "iam create-role" "arn:aws:iam::123456789012:role/hoist-eks" aws iam create-role --role-name hoist-eks \
    --assume-role-policy-document "$doc" --tags Key=hoist:project,Value=demo --query Role.Arn
fails "iam create-role twice: EntityAlreadyExists" EntityAlreadyExists aws iam create-role --role-name hoist-eks --assume-role-policy-document "$doc"
is "iam tag-role" "" aws iam tag-role --role-name hoist-eks --tags Key=team,Value=core
is "iam get-role" "hoist-eks" aws iam get-role --role-name hoist-eks --query Role.RoleName
is "iam attach-role-policy" "" aws iam attach-role-policy --role-name hoist-eks --policy-arn arn:aws:iam::aws:policy/AmazonEKSClusterPolicy
is "iam list-attached-role-policies" "AmazonEKSClusterPolicy" aws iam list-attached-role-policies --role-name hoist-eks --query 'AttachedPolicies[].PolicyName'
fails "iam delete-role with policies: DeleteConflict" DeleteConflict aws iam delete-role --role-name hoist-eks
fails "iam get-role unknown: NoSuchEntity" NoSuchEntity aws iam get-role --role-name nobody

# ---- RDS
is "rds create-db-subnet-group" "Complete" aws rds create-db-subnet-group --db-subnet-group-name hoist-db \
    --db-subnet-group-description "hoist db" --subnet-ids "$sa" "$sb" --tags Key=hoist:project,Value=demo \
    --query DBSubnetGroup.SubnetGroupStatus
is "rds describe-db-subnet-groups" "$vpc" aws rds describe-db-subnet-groups --db-subnet-group-name hoist-db --query 'DBSubnetGroups[0].VpcId'
is "rds create-db-instance: creating" "creating" aws rds create-db-instance --db-instance-identifier hoist-pg \
    --db-instance-class db.t3.micro --engine postgres --master-username hoist --master-user-password s3cretpass \
    --allocated-storage 20 --db-subnet-group-name hoist-db --vpc-security-group-ids "$sg" \
    --tags Key=hoist:project,Value=demo --query DBInstance.DBInstanceStatus
dbstatus() { aws rds describe-db-instances --db-instance-identifier hoist-pg --query 'DBInstances[0].DBInstanceStatus'; }
check "rds instance becomes available" until_is available dbstatus
is "rds endpoint and master user" "5432 hoist" aws rds describe-db-instances --db-instance-identifier hoist-pg \
    --query 'join(`" "`, [to_string(DBInstances[0].Endpoint.Port), DBInstances[0].MasterUsername])'
is "rds modify-db-instance" "db.t3.small" aws rds modify-db-instance --db-instance-identifier hoist-pg \
    --db-instance-class db.t3.small --apply-immediately --query DBInstance.DBInstanceClass
is "rds stop-db-instance: stopping" "stopping" aws rds stop-db-instance --db-instance-identifier hoist-pg --query DBInstance.DBInstanceStatus
check "rds instance becomes stopped" until_is stopped dbstatus
is "rds start-db-instance: starting" "starting" aws rds start-db-instance --db-instance-identifier hoist-pg --query DBInstance.DBInstanceStatus
check "rds instance available again" until_is available dbstatus
fails "rds delete-db-subnet-group in use" InvalidDBSubnetGroupStateFault aws rds delete-db-subnet-group --db-subnet-group-name hoist-db
is "rds delete-db-instance: deleting" "deleting" aws rds delete-db-instance --db-instance-identifier hoist-pg \
    --skip-final-snapshot --query DBInstance.DBInstanceStatus
gone() { aws rds describe-db-instances --db-instance-identifier hoist-pg >/dev/null && echo present || sed -n 's/.*(\(DBInstanceNotFound\)).*/\1/p' "$tmp/stderr"; }
check "rds instance disappears (DBInstanceNotFound)" until_is DBInstanceNotFound gone
is "rds delete-db-subnet-group" "" aws rds delete-db-subnet-group --db-subnet-group-name hoist-db

# ---- EKS
role=arn:aws:iam::123456789012:role/hoist-eks
is "eks create-cluster: CREATING" "CREATING" aws eks create-cluster --name hoist-k --role-arn $role \
    --resources-vpc-config "subnetIds=$sa,$sb,securityGroupIds=$sg" --tags hoist:project=demo \
    --client-request-token ctok-1 --query cluster.status
is "eks create-cluster same token: same cluster" "hoist-k" aws eks create-cluster --name hoist-k --role-arn $role \
    --resources-vpc-config "subnetIds=$sa,$sb" --client-request-token ctok-1 --query cluster.name
is "clientRequestToken: one cluster" "1" count eks_cluster
fails "eks create-cluster duplicate name: ResourceInUseException" ResourceInUseException aws eks create-cluster \
    --name hoist-k --role-arn $role --resources-vpc-config "subnetIds=$sa,$sb"
cstatus() { aws eks describe-cluster --name hoist-k --query cluster.status; }
check "eks cluster becomes ACTIVE" until_is ACTIVE cstatus
ep=$(aws eks describe-cluster --name hoist-k --query cluster.endpoint)
case "$ep" in "$base"/kube/*) ok "eks endpoint is the simulated Kubernetes API";; *) not_ok "eks endpoint: $ep";; esac
is "eks certificateAuthority present" "" aws eks describe-cluster --name hoist-k --query cluster.certificateAuthority.data
is "eks list-clusters" "hoist-k" aws eks list-clusters --query 'clusters[]'
# EKS's rule: nodes need a way out (a NAT gateway, or a public subnet that
# gives public IPs).  $sc has no route at all, $sa routes to the internet
# gateway without auto-assigning public IPs, $sb goes through the NAT gateway.
is "eks create-nodegroup in a subnet without a route out: CREATING" "CREATING" aws eks create-nodegroup \
    --cluster-name hoist-k --nodegroup-name ng-closed --node-role $role --subnets "$sc" --query nodegroup.status
bstatus() { aws eks describe-nodegroup --cluster-name hoist-k --nodegroup-name "$1" --query nodegroup.status; }
check "... then CREATE_FAILED" until_is CREATE_FAILED bstatus ng-closed
is "... with EKS's health issue NodeCreationFailure" "NodeCreationFailure Instances failed to join the kubernetes cluster" \
    aws eks describe-nodegroup --cluster-name hoist-k --nodegroup-name ng-closed \
    --query 'join(`" "`, [nodegroup.health.issues[0].code, nodegroup.health.issues[0].message])'
is "eks create-nodegroup in a public subnet without public IPs" "CREATING" aws eks create-nodegroup \
    --cluster-name hoist-k --nodegroup-name ng-pub --node-role $role --subnets "$sa" --query nodegroup.status
check "... CREATE_FAILED" until_is CREATE_FAILED bstatus ng-pub
is "... with Ec2SubnetInvalidConfiguration naming the subnet" "Ec2SubnetInvalidConfiguration $sa" \
    aws eks describe-nodegroup --cluster-name hoist-k --nodegroup-name ng-pub \
    --query 'join(`" "`, [nodegroup.health.issues[0].code, nodegroup.health.issues[0].resourceIds[0]])'
for g in ng-closed ng-pub; do
    is "eks delete-nodegroup $g" "DELETING" aws eks delete-nodegroup --cluster-name hoist-k --nodegroup-name $g --query nodegroup.status
done
is "eks create-nodegroup" "CREATING" aws eks create-nodegroup --cluster-name hoist-k --nodegroup-name ng1 \
    --node-role $role --subnets "$sb" --scaling-config minSize=1,maxSize=3,desiredSize=2 \
    --client-request-token ntok-1 --query nodegroup.status
is "eks create-nodegroup same token" "ng1" aws eks create-nodegroup --cluster-name hoist-k --nodegroup-name ng1 \
    --node-role $role --subnets "$sa" --client-request-token ntok-1 --query nodegroup.nodegroupName
is "clientRequestToken: one node group" "1" count eks_nodegroup
is "eks list-nodegroups" "ng1" aws eks list-nodegroups --cluster-name hoist-k --query 'nodegroups[]'
nstatus() { aws eks describe-nodegroup --cluster-name hoist-k --nodegroup-name ng1 --query nodegroup.status; }
check "eks node group becomes ACTIVE" until_is ACTIVE nstatus
is "eks describe-nodegroup scaling" "2" aws eks describe-nodegroup --cluster-name hoist-k --nodegroup-name ng1 --query nodegroup.scalingConfig.desiredSize
fails "eks describe-cluster unknown: ResourceNotFoundException" ResourceNotFoundException aws eks describe-cluster --name nope
is "eks delete-nodegroup: DELETING" "DELETING" aws eks delete-nodegroup --cluster-name hoist-k --nodegroup-name ng1 --query nodegroup.status
ngone() { aws eks list-nodegroups --cluster-name hoist-k --query 'length(nodegroups)'; }
check "eks node group gone" until_is 0 ngone
is "eks delete-cluster: DELETING" "DELETING" aws eks delete-cluster --name hoist-k --query cluster.status

# ---- NAT gateway deletion: asynchronous, then what it held is free
# (deleting and deleted last 10 s each here: slow CLI runs still see both)
curl -s -X POST -d '{"nat": "10s"}' "$base/_sim/delays" >/dev/null
is "delete-nat-gateway" "$nat" aws ec2 delete-nat-gateway --nat-gateway-id "$nat" --query NatGatewayId
is "the gateway shows deleting" "deleting" natstate
is "a route through it is a blackhole" "blackhole" natroute
check "the gateway becomes deleted" until_is deleted natstate
is "release-address once the gateway is deleted" "" aws ec2 release-address --allocation-id "$eip"
is "detach-internet-gateway once the gateway is deleted" "" aws ec2 detach-internet-gateway --internet-gateway-id "$igw" --vpc-id "$vpc"
ngw() { aws ec2 describe-nat-gateways --filter Name=tag:Name,Values=nat-a --query 'length(NatGateways)'; }
check "a deleted gateway is dropped a delay later" until_is 0 ngw

# ---- ECR
uri=$(aws ecr create-repository --repository-name hoist/app --tags Key=hoist:project,Value=demo --query repository.repositoryUri)
reghost=$(sed -n 's,^hoist-sim: registry at http://,,p' "$tmp/out")
is "ecr create-repository uri: <hoist-sim's registry>/<repo>" "${reghost:-${base#http://}}/hoist/app" echo "$uri"
fails "ecr create-repository twice" RepositoryAlreadyExistsException aws ecr create-repository --repository-name hoist/app
is "ecr describe-repositories" "hoist/app" aws ecr describe-repositories --repository-names hoist/app --query 'repositories[].repositoryName'
pol='{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}'
is "ecr put-lifecycle-policy" "hoist/app" aws ecr put-lifecycle-policy --repository-name hoist/app --lifecycle-policy-text "$pol" --query repositoryName
is "ecr get-lifecycle-policy" "$pol" aws ecr get-lifecycle-policy --repository-name hoist/app --query lifecyclePolicyText
is "ecr put-image-scanning-configuration" "True" aws ecr put-image-scanning-configuration --repository-name hoist/app \
    --image-scanning-configuration scanOnPush=true --query imageScanningConfiguration.scanOnPush
tok=$(aws ecr get-authorization-token --query 'authorizationData[0].authorizationToken')
case "$(echo "$tok" | base64 -d)" in AWS:?*) ok "ecr token decodes to AWS:password";; *) not_ok "ecr token: $tok";; esac
lp=$(aws ecr get-login-password)
is "ecr get-login-password is the token's password" "$(echo "$tok" | base64 -d | cut -d: -f2-)" echo "$lp"
fails "ecr unknown repository: RepositoryNotFoundException" RepositoryNotFoundException aws ecr delete-repository --repository-name nope
is "ecr delete-repository" "hoist/app" aws ecr delete-repository --repository-name hoist/app --query repository.repositoryName

# ---- accounting and faults
calls=$(curl -s "$base/_sim/calls")
case "$calls" in *'"cloud":"aws","operation":"POST ec2:CreateVpc"'*) ok "/_sim/calls counts AWS operations";;
    *) not_ok "/_sim/calls: $calls";; esac
curl -s -X POST -d '{"aws.throttle": 1}' "$base/_sim/faults" >/dev/null
fails "throttle fault on EC2: RequestLimitExceeded" RequestLimitExceeded \
    "$AWSCLI" --endpoint-url "$base" --cli-read-timeout 5 ec2 describe-vpcs --no-paginate
curl -s -X POST -d '{"aws.throttle": 0}' "$base/_sim/faults" >/dev/null
done_testing
