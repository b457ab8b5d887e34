#!/bin/sh
# aws_names.sh - AWS names at their limits (issue 24): with a 40-character
# project and the environment production-eu-west-2a, aws_name made IAM role
# names (64), an EKS node group name (63) and an RDS identifier (63) longer
# than AWS accepts, and the deploy failed.  hoist-sim enforces those limits
# as AWS does; now every name fits (a long one ends with a hash of the
# whole), the deploy converges and destroy leaves nothing.
. "$HOIST_SRCDIR/tests/lib.sh"
. "$HOIST_SRCDIR/tests/sim_lib.sh"
. "$HOIST_SRCDIR/tests/aws_lib.sh"

[ -x "$SIM_BIN" ] || skip_all "hoist-sim is not built"
command -v curl >/dev/null || skip_all "curl is not installed"

sim_start aws || exit 1
W=$SIM_TMP/proj
mkdir -p "$W/api"
echo 'FROM scratch' >"$W/api/Dockerfile"
cat >"$W/hoist.yml" <<EOF
project: northwind-traders-inventory-platform-v2x
environments:
  production-eu-west-2a:
    provider: aws
    region: eu-west-3
    endpoint: $SIM_URL
    cluster: { version: "1.30", nodes: { type: t3.medium, min: 1, max: 2 } }
databases:
  - { name: orders, engine: postgresql, version: "15", mode: managed, size: small, storage: 20 }
  - { name: billing, engine: postgresql, version: "15", mode: managed, size: small, storage: 20 }
applications:
  - { name: api, path: ./api, port: 3000, databases: [orders] }
EOF
aws_sim_env
cd "$W" || exit 1

"$HOIST" deploy -e production-eu-west-2a --yes >deploy.log 2>&1
rc=$?
sed 's/^/# /' deploy.log | tail -15
check "deploy with long names converges" [ "$rc" -eq 0 ]
curl -sf "$SIM_URL/_sim/resources" | /usr/bin/python3 -c "
import json, sys
for r in json.load(sys.stdin)['resources']: print(r['type'], r['name'])" | sort >res.txt
sed 's/^/# /' res.txt
check "two RDS instances, one per database" [ "$(grep -c '^rds_db_instance ' res.txt)" -eq 2 ]
check "the EKS cluster, its node group and both IAM roles exist" \
    [ "$(grep -cE '^(eks_cluster|eks_nodegroup|iam_role) ' res.txt)" -eq 4 ]
long=$(awk '($1 ~ /role/ && length($2) > 64) || ($1 ~ /nodegroup|db-instance|rds/ && length($2) > 63)' res.txt)
check "no name over its AWS limit" [ -z "$long" ]

"$HOIST" destroy -e production-eu-west-2a --yes >destroy.log 2>&1
rc=$?
sed 's/^/# /' destroy.log | tail -5
check "destroy converges" [ "$rc" -eq 0 ]
check "nothing left in the simulated AWS" \
    [ "$(curl -sf "$SIM_URL/_sim/resources" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["resources"]))')" = 0 ]

done_testing
