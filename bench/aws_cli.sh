#!/bin/sh
# aws_cli.sh - per-call overhead against the AWS CLI: create and describe N
# VPCs on hoist-sim's EC2 API with `/usr/bin/aws --endpoint-url` in a shell
# loop (one process per call, as scripts use it), then with the same
# requests through hoist's transport (bench/aws_calls: libhoist's SigV4 +
# hoist_http + XML parsing, one process, one kept connection).  Prints both
# times and the ratio.  Not part of make check.
# Usage: sh bench/aws_cli.sh [BUILD_DIR] [N]
. "$(dirname "$0")/bench_lib.sh"
N=${2:-50}
AWS=/usr/bin/aws
[ -x "$AWS" ] || { echo "aws_cli: $AWS is missing (apt-get install awscli)"; exit 0; }
export AWS_ACCESS_KEY_ID=AKIDHOISTSIM AWS_SECRET_ACCESS_KEY=hoist-sim-secret
export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null AWS_DEFAULT_REGION=eu-west-3
export AWS_PAGER=""
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_REGION

echo "machine: $(machine)"
echo "$($AWS --version 2>&1)"
sim_up cli
t0=$(now_s)
i=0
while [ $i -lt "$N" ]; do
    "$AWS" --endpoint-url "$SIM_URL" ec2 create-vpc --cidr-block "10.$((i % 256)).0.0/16" \
        --query Vpc.VpcId --output text >>"$T/ids" || exit 1
    i=$((i + 1))
done
t1=$(now_s)
while read -r id; do
    "$AWS" --endpoint-url "$SIM_URL" ec2 describe-vpcs --vpc-ids "$id" \
        --query 'Vpcs[0].VpcId' --output text >"$T/got" || exit 1
    [ "$(cat "$T/got")" = "$id" ] || { echo "aws_cli: describe $id gave $(cat "$T/got")"; exit 1; }
done <"$T/ids"
t2=$(now_s)
sim_down
CC=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
CD=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", b - a }')

# The same calls from botocore (what the CLI is built on) in one process:
# the CLI's per-call cost without its process start-up.
sim_up boto
/usr/bin/python3 - "$SIM_URL" "$N" >"$T/boto" <<'PY' || exit 1
import sys, time, botocore.session
url, n = sys.argv[1], int(sys.argv[2])
ec2 = botocore.session.get_session().create_client("ec2", endpoint_url=url)
t0 = time.monotonic()
ids = [ec2.create_vpc(CidrBlock=f"10.{i % 256}.0.0/16")["Vpc"]["VpcId"] for i in range(n)]
t1 = time.monotonic()
for i in ids:
    assert ec2.describe_vpcs(VpcIds=[i])["Vpcs"][0]["VpcId"] == i
t2 = time.monotonic()
print(f"create {n} {t1 - t0:.4f}\ndescribe {n} {t2 - t1:.4f}")
PY
sim_down
BC=$(awk '$1 == "create" { print $3 }' "$T/boto")
BD=$(awk '$1 == "describe" { print $3 }' "$T/boto")

sim_up hoist
"$B/bench/aws_calls" "$SIM_URL" "$N" >"$T/hoist" || exit 1
sim_down
HC=$(awk '$1 == "create" { print $3 }' "$T/hoist")
HD=$(awk '$1 == "describe" { print $3 }' "$T/hoist")

ms() { awk -v s="$1" -v n="$N" 'BEGIN { printf "%.2f", s * 1000 / n }'; }
echo "$N VPCs on hoist-sim (loopback); seconds for all $N calls (ms per call)"
printf '%-9s %-24s %-24s %-24s %s\n' "" "aws CLI, process/call" "botocore, one process" "hoist transport" "ratios CLI/hoist, botocore/hoist"
for op in create describe; do
    if [ $op = create ]; then c=$CC b=$BC h=$HC; else c=$CD b=$BD h=$HD; fi
    printf '%-9s %9.3f s (%7s ms) %9.3f s (%7s ms) %9.4f s (%7s ms) %7sx %7sx\n' $op "$c" "$(ms "$c")" \
        "$b" "$(ms "$b")" "$h" "$(ms "$h")" "$(ratio "$c" "$h" 0)" "$(ratio "$b" "$h" 1)"
done
