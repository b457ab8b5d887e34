# aws_lib.sh - for the aws driver's tests against hoist-sim (source after
# lib.sh and sim_lib.sh).

# aws_sim_env: the simulator's credentials the AWS way, nothing from the
# user's ~/.aws, and the aws driver from this build.
aws_sim_env() {
    export AWS_ACCESS_KEY_ID=AKIDHOISTSIM AWS_SECRET_ACCESS_KEY=hoist-sim-secret
    export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null
    unset AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE AWS_ENDPOINT_URL
    export HOIST_PROVIDER_PATH="$HOIST_MODDIR/providers/aws"
}
