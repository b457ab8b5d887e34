#!/bin/sh
# secrets_local.sh - no secret leaks, proven on a real deployment.
# Deploys examples/nodejs-postgres on the local provider twice: once with
# HOIST_STATE_KEY unset and `--trace -v -o json`, once with it set and plain
# output (plus status, plan and logs).  Every secret of the environment (the
# generated database password, the DATABASE_URL, a ${VAR} value expanded
# from hoist.yml, HOIST_STATE_KEY) is searched for in every place hoist
# writes or shows: stdout, stderr (the trace and the events), the state file
# (outside its secrets fields; with a key, anywhere in it), the app and
# database logs, and every process's command line while deployed.
#
# Cloud drivers add a function env_<provider> doing the same for their
# environment (deploy, gather_secrets, scan, destroy) and list it in ENVS.
. "$HOIST_SRCDIR/tests/lib.sh"
for tool in node npm curl python3; do
    command -v $tool >/dev/null 2>&1 || skip_all "$tool not installed"
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 ||
    skip_all "PostgreSQL server not installed (apt-get install -y postgresql)"

T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-secrets-XXXXXX")
PROJ=
cleanup() {
    [ -n "$PROJ" ] && (cd "$PROJ" && "$HOIST" destroy -e dev --yes >/dev/null 2>&1)
    rm -rf "$T"
}
trap cleanup EXIT
. "$HOIST_SRCDIR/tests/secrets_lib.sh"

# ---------------------------------------------------------------- local
# new_local_project: a fresh copy of the example with one ${VAR} in the app env.
new_local_project() {
    PROJ=$T/$1/nodejs-postgres
    mkdir -p "$T/$1"
    cp -r "$HOIST_SRCDIR/examples/nodejs-postgres" "$T/$1/"
    rm -rf "$PROJ/api/node_modules" "$PROJ/.hoist"
    chmod -R u+w "$PROJ"
    sed -i 's/^      NODE_ENV: production$/      NODE_ENV: production\n      API_TOKEN: ${HOIST_TEST_API_TOKEN}/' "$PROJ/hoist.yml"
    grep -q 'HOIST_TEST_API_TOKEN' "$PROJ/hoist.yml"
}

# env_local MODE: MODE "trace" (no state key, --trace -v -o json) or
# "sealed" (HOIST_STATE_KEY set, plain output).
env_local() {
    mode=$1
    new_local_project "$mode" || { not_ok "local/$mode: cannot prepare the project"; return; }
    : > "$SECRETS"
    HOIST_TEST_API_TOKEN=tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    export HOIST_TEST_API_TOKEN
    add_secret "$HOIST_TEST_API_TOKEN"
    secret_mode "$mode"
    out=$T/$mode
    (cd "$PROJ" && "$HOIST" deploy -e dev --yes $flags > "$out.deploy.out" 2> "$out.deploy.err")
    rc=$?
    check "local/$mode: deploy succeeds" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || sed 's/^/#   /' "$out.deploy.err" | tail -n 20
    st=$PROJ/.hoist/local/dev
    # As root the server's files live outside the project (local driver:
    # LOCAL_SERVER_ROOT); the state's data_dir says where, either way.
    data_dir=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['resources']['database/main']['outputs']['data_dir'])" \
        "$PROJ/.hoist/state/dev.json" 2>/dev/null)
    pw=$(cat "${data_dir%/data}/password" 2>/dev/null)
    check "local/$mode: the generated database password is known" [ ${#pw} -ge 16 ]
    add_secret "$pw"
    # The DATABASE_URL the app was given, read from its live environment.
    pid=$(local_app_pid "$st" api)
    url=$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | sed -n 's/^DATABASE_URL=//p')
    check "local/$mode: the app's DATABASE_URL is known and carries the password" \
        sh -c "case '$url' in *'$pw'*) exit 0;; *) exit 1;; esac"
    add_secret "$url"
    tokenseen=$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -c "^API_TOKEN=$HOIST_TEST_API_TOKEN\$")
    check "local/$mode: the \${VAR} value reached the app" [ "$tokenseen" = 1 ]

    cmdlines "$out.cmdlines"
    check "local/$mode: the process scan sees the deployed app" grep -q "$PROJ" "$out.cmdlines"
    if [ "$mode" = sealed ]; then
        (cd "$PROJ" && "$HOIST" status -e dev > "$out.status.out" 2>&1
         "$HOIST" plan -e dev > "$out.plan.out" 2>&1
         "$HOIST" logs -e dev api > "$out.logs.out" 2>&1)
        scan "local/$mode: status output" "$out.status.out"
        scan "local/$mode: plan output" "$out.plan.out"
        scan "local/$mode: logs output" "$out.logs.out"
        scan "local/$mode: the whole state file (sealed)" "$PROJ/.hoist/state/dev.json"
        check "local/$mode: the state file holds sealed secrets" \
            grep -q secrets_sealed "$PROJ/.hoist/state/dev.json"
    else
        # With -o json the driver's log lines (debug and trace included) are events.
        check "local/$mode: log lines arrived as JSON events" grep -q '"phase":"log"' "$out.deploy.out"
        # The scan can find what it looks for: an unsealed state keeps the
        # password in its secrets field (that is the documented storage).
        check "local/$mode: the scan finds the password where it is stored unsealed" \
            grep -q -F -e "$pw" "$PROJ/.hoist/state/dev.json"
        check "local/$mode: the events are JSON lines" \
            python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' "$out.deploy.out"
    fi
    scan "local/$mode: deploy stdout" "$out.deploy.out"
    scan "local/$mode: deploy stderr" "$out.deploy.err"
    state_outside_secrets "$PROJ/.hoist/state/dev.json" "$out.state"
    scan "local/$mode: state file outside its secrets fields" "$out.state"
    scan "local/$mode: command lines of every process" "$out.cmdlines"
    srv=${data_dir%/db/main/data}
    for f in "$st"/logs/*.log "$srv"/logs/*.log; do
        [ -f "$f" ] || continue
        scan "local/$mode: log $(basename "$f")" "$f"
    done
    (cd "$PROJ" && "$HOIST" destroy -e dev --yes $flags > "$out.destroy.out" 2> "$out.destroy.err")
    check "local/$mode: destroy succeeds" [ $? -eq 0 ]
    scan "local/$mode: destroy stdout" "$out.destroy.out"
    scan "local/$mode: destroy stderr" "$out.destroy.err"
    diag "local/$mode: $(wc -l < "$SECRETS") secrets searched"
    NSECRETS=$((NSECRETS + $(wc -l < "$SECRETS")))
    PROJ=
}

NSECRETS=0
ENVS="local:trace local:sealed"
for e in $ENVS; do
    "env_${e%%:*}" "${e#*:}"
done
diag "secrets searched: $NSECRETS, places searched: $PLACES, hits: $HITS"
done_testing
