#!/bin/sh
# check_hostile.sh - drivers that crash, return malformed data or hang
# (tests/hostile/hostile.c) in ensure, in registry and cluster credentials,
# in a database connection and in logs, run through the real CLI (every
# call goes through libhoist/driver.c): each is reported by
# the driver's name, hoist exits 1 (130 for a hung `hoist logs` interrupted
# twice; never dies of the signal, never hangs),
# and the state file stays whole and lists what completed before the failure.
. "$HOIST_SRCDIR/tests/lib.sh"
command -v python3 >/dev/null 2>&1 || skip_all "python3 not installed (reads the state file)"
HOSTILE_DIR=$HOIST_MODDIR/tests/hostile
[ -f "$HOSTILE_DIR/hostile_crash.la" ] || skip_all "hostile modules not built"

T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-hostile-XXXXXX")
trap 'rm -rf "$T"' EXIT
plan_n=0

# newproj DRIVER LINE...: a fresh project $P whose environment dev uses
# DRIVER with the given setting lines; the caller appends the rest.
newproj() {
    P=$T/p$plan_n
    plan_n=$((plan_n + 1))
    mkdir -p "$P/api"
    echo 'console.log("x")' > "$P/api/index.js"
    drv=$1
    shift
    {
        echo "project: hostile"
        echo "environments:"
        echo "  dev:"
        echo "    provider: $drv"
        for l in "$@"; do echo "    $l"; done
    } > "$P/hoist.yml"
}

# project DRIVER SETTING DATABASES: a fresh project using DRIVER, with one
# extra environment setting line and the named managed databases; one app
# uses the first database.
project() {
    newproj "$1" "$2" "timeouts: {database: 1, app: 1}"
    {
        echo "databases:"
        for d in $3; do echo "  - {name: $d, engine: postgresql, mode: managed}"; done
        echo "applications:"
        echo "  - {name: api, path: ./api, port: 3000, databases: [$(echo $3 | cut -d' ' -f1)]}"
    } >> "$P/hoist.yml"
}

# kproject DRIVER SETTING APP: a project whose apps run through the core's
# image and kube executors (runtime: kube), so the registry and cluster
# credentials are asked for.  APP is the application's flow mapping.
kproject() {
    newproj "$1" "runtime: kube" "$2" "timeouts: {image: 1, app: 1}"
    printf 'applications:\n  - %s\n' "$3" >> "$P/hoist.yml"
}

# deploy: run it (bounded, so a hang fails the test instead of the suite).
deploy() {
    start=$(date +%s)
    timeout 60 "$HOIST" deploy -f "$P/hoist.yml" -e dev --yes --provider-dir "$HOSTILE_DIR" \
        > "$P/out" 2> "$P/err"
    rc=$?
    took=$(( $(date +%s) - start ))
}

# state_status KEY: the recorded status of KEY ("-" if absent); fails (and
# prints "corrupt") when the state file does not parse.
state_status() {
    python3 - "$P/.hoist/state/dev.json" "$1" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
except Exception as e:
    print("corrupt: %s" % e)
    sys.exit(1)
r = doc.get("resources", {}).get(sys.argv[2])
print(r.get("status", "?") if r else "-")
PY
}

says() { grep -qF "$1" "$P/err" "$P/out"; }
show() { sed 's/^/#   /' "$P/err" | head -n 20; }

# 1. A segfault in init.
project hostile_crash "crash_in: init" main
deploy
check "crash in init: hoist exits 1, not by the signal (rc=$rc)" [ "$rc" -eq 1 ]
check "crash in init: reported by the driver's name and the step" \
    says "hoist: provider 'hostile_crash' crashed (signal 11, SIGSEGV) during init"
says "crashed" || show

# 2. A segfault in ensure, after the network was created.
project hostile_crash "crash_in: ensure" main
deploy
check "crash in ensure: hoist exits 1 (rc=$rc)" [ "$rc" -eq 1 ]
check "crash in ensure: names driver, operation and resource" \
    says "provider 'hostile_crash' crashed (signal 11, SIGSEGV) during ensure of database/main; state saved up to the last completed step"
says "crashed" || show
check "crash in ensure: state parses and lists the network as ready" \
    [ "$(state_status network/network)" = ready ]
check "crash in ensure: the crashed database is not recorded as ready" \
    [ "$(state_status database/main)" = create-requested ]
# The next run gets past the crash site only by crashing again: same report.
deploy
check "crash in ensure: a second run reports it again, state still whole" \
    sh -c "[ $rc -eq 1 ] && grep -q 'during ensure of database/main' '$P/err' && [ \"\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"resources\"][\"network/network\"][\"status\"])' '$P/.hoist/state/dev.json')\" = ready ]"

# 3. Malformed results: rejected with the driver's name and the field.
malformed() { # MODE EXPECTED-FIELD-MESSAGE
    project hostile_malformed "malformed: $1" main
    deploy
    check "malformed $1: exits 1 (rc=$rc)" [ "$rc" -eq 1 ]
    check "malformed $1: reported as '$2'" \
        says "provider 'hostile_malformed' returned malformed data from ensure of network/network: $2"
    says "$2" || show
    st=$(state_status network/network)
    check "malformed $1: state parses; the network is not ready ($st)" [ "$st" = create-requested ]
    check "malformed $1: the dependents were skipped, not run" says "needs network/network, which failed"
}
malformed outputs-array "outputs: not a JSON object"
malformed huge "outputs.id: longer than 1 MiB"
check "huge: nothing of it reached the state file" \
    [ "$(wc -c < "$P/.hoist/state/dev.json")" -lt 100000 ]
malformed bad-utf8 "outputs.name: not valid UTF-8"
malformed secrets-number "secrets.token: not a string"

project hostile_malformed "malformed: null-host" main
deploy
check "null host in a connection: exits 1 (rc=$rc)" [ "$rc" -eq 1 ]
check "null host in a connection: names driver, database and field" \
    says "database 'main': cannot get its connection: provider 'hostile_malformed' returned malformed data from connection of database/main: host: missing (NULL)"
says "malformed data" || show
check "null host: network and database completed and are recorded ready" \
    sh -c "[ \"\$(P='$P' ; python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))[\"resources\"]; print(d[\"network/network\"][\"status\"], d[\"database/main\"][\"status\"])' '$P/.hoist/state/dev.json')\" = 'ready ready' ]"

# 4. A driver that never returns from ensure and ignores cancellation.
project hostile_hang "hang: yes" "slow fast"
deploy
check "hang: the run ends (rc=$rc after ${took}s; deadline 1 s + 1 s grace)" \
    sh -c "[ $rc -eq 1 ] && [ $took -lt 30 ]"
check "hang: the call is reported as abandoned at the deadline" \
    says "provider 'hostile_hang' did not return within the deadline"
says "did not return" || show
check "hang: hoist says it leaves without waiting" says "did not return within the deadline; state is saved"
check "hang: independent work finished: the other database is ready" \
    [ "$(state_status database/fast)" = ready ]
check "hang: the hung database is not recorded as ready" \
    [ "$(state_status database/slow)" = create-requested ]
check "hang: the app that needs it was skipped" says "needs database/slow, which failed"
# 5. Credentials and connections: a crash, a malformed answer and a hang in
# each is reported by the driver's name; what completed before stays ready.
BUILT='{name: api, path: ./api, port: 3000}'
PREBUILT='{name: api, image: "nginx:1.27", port: 3000}'
# entry NAME OP-OF-WHAT DONE-KEY FAILED-KEY MALFORMED-SETTING EXPECTED-REASON PROJECT-CMD...
# PROJECT-CMD is called as "PROJECT-CMD DRIVER SETTING" and writes the project.
entry() {
    name=$1 opof=$2 done_key=$3 failed_key=$4 bad=$5 reason=$6
    shift 6
    "$@" hostile_crash "crash_in: $name"
    deploy
    check "crash in $name: exits 1 (rc=$rc)" [ "$rc" -eq 1 ]
    check "crash in $name: names driver, operation and resource" \
        says "provider 'hostile_crash' crashed (signal 11, SIGSEGV) during $opof; state saved up to the last completed step"
    says "during $opof" || show
    check "crash in $name: state parses; $done_key is ready" [ "$(state_status "$done_key")" = ready ]
    st=$(state_status "$failed_key")
    check "crash in $name: $failed_key is not recorded as ready ($st)" [ "$st" != ready ]

    "$@" hostile_malformed "malformed: $bad"
    deploy
    check "malformed $name ($bad): exits 1 (rc=$rc)" [ "$rc" -eq 1 ]
    check "malformed $name ($bad): reported as '$reason'" \
        says "provider 'hostile_malformed' returned malformed data from $opof: $reason"
    says "$reason" || show
    st=$(state_status "$failed_key")
    check "malformed $name: state parses; $failed_key is not ready ($st)" \
        sh -c "[ '$st' != ready ] && [ '$(state_status "$done_key")' = ready ]"

    "$@" hostile_hang "hang_in: $name"
    deploy
    check "hang in $name: the run ends (rc=$rc after ${took}s)" sh -c "[ $rc -eq 1 ] && [ $took -lt 30 ]"
    check "hang in $name: the call is reported as abandoned at the deadline" \
        says "provider 'hostile_hang' did not return within the deadline"
    says "did not return" || show
    st=$(state_status "$failed_key")
    check "hang in $name: state parses; $failed_key is not ready ($st)" \
        sh -c "[ '$st' != ready ] && [ '$(state_status "$done_key")' = ready ]"
}
kbuilt() { kproject "$1" "$2" "$BUILT"; }
kprebuilt() { kproject "$1" "$2" "$PREBUILT"; }
dbproject() { project "$1" "$2" main; }
entry registry-credentials "credentials of registry/api" registry/api image/api \
    empty-repository "repository: empty" kbuilt
entry cluster-credentials "credentials of cluster/cluster" cluster/cluster app/api \
    endpoint-bad-utf8 "endpoint: not valid UTF-8" kprebuilt
entry connection "connection of database/main" database/main app/api \
    port-zero "port: not in 1..65535" dbproject

# 6. Logs: the deploy succeeds, then `hoist logs` meets the misbehaviour.
logs() {
    timeout 30 "$HOIST" logs -f "$P/hoist.yml" -e dev api --provider-dir "$HOSTILE_DIR" \
        > "$P/out" 2> "$P/err"
    rc=$?
}
project hostile_crash "crash_in: logs" main
deploy
check "logs: the deploy is unaffected (rc=$rc)" [ "$rc" -eq 0 ]
logs
check "crash in logs: exits 1 (rc=$rc)" [ "$rc" -eq 1 ]
check "crash in logs: names driver, operation and app" \
    says "provider 'hostile_crash' crashed (signal 11, SIGSEGV) during logs of app/api"
says "crashed" || show
check "crash in logs: state still parses and lists the app as ready" [ "$(state_status app/api)" = ready ]

project hostile_malformed "malformed: logs-status" main
deploy
logs
check "malformed logs: exits 1 (rc=$rc)" [ "$rc" -eq 1 ]
check "malformed logs: an unknown status is reported with the driver's name" \
    says "provider 'hostile_malformed' returned malformed data from logs of app/api: status 42 is not a hoist_status"
says "status 42" || show

project hostile_hang "hang_in: logs" main
deploy
# A hung logs call ignores the first interrupt; the second leaves, naming it.
"$HOIST" logs -f "$P/hoist.yml" -e dev api --provider-dir "$HOSTILE_DIR" > "$P/out" 2> "$P/err" &
pid=$!
n=0 # the driver prints a line on entry: from then on hoist handles signals
while ! grep -q "hostile log line" "$P/out" 2>/dev/null && [ $n -lt 60 ]; do
    sleep 0.5
    n=$((n + 1))
done
kill -TERM "$pid" 2>/dev/null
sleep 1
kill -TERM "$pid" 2>/dev/null
n=0
while kill -0 "$pid" 2>/dev/null && [ $n -lt 20 ]; do sleep 0.5; n=$((n + 1)); done
kill -KILL "$pid" 2>/dev/null
wait "$pid"
rc=$?
check "hang in logs: the second interrupt leaves (rc=$rc, 130 expected)" [ "$rc" -eq 130 ]
check "hang in logs: the driver and the call are named" \
    says "provider 'hostile_hang' had not returned from logs of app/api and ignored the interrupt"
says "had not returned" || show
check "hang in logs: state still parses and lists the app as ready" [ "$(state_status app/api)" = ready ]
done_testing
