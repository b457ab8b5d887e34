#!/bin/sh
# check_hostile.sh - drivers that crash, return malformed data or hang
# (tests/hostile/hostile.c), run through the real CLI: each is reported by
# the driver's name, hoist exits 1 (never dies of the signal, never hangs),
# and the state file stays whole and lists what completed before the failure.
. "$HOIST_SRCDIR/tests/lib.sh"
command -v python3 >/dev/null 2>&1 || skip_all "python3 not installed (reads the state file)"
HOSTILE_DIR=$HOIST_MODDIR/tests/hostile
[ -f "$HOSTILE_DIR/hostile_crash.la" ] || skip_all "hostile modules not built"

T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-hostile-XXXXXX")
trap 'rm -rf "$T"' EXIT
plan_n=0

# project DRIVER SETTING DATABASES: a fresh project using DRIVER, with one
# extra environment setting line and the named managed databases; one app
# uses the first database.
project() {
    P=$T/p$plan_n
    plan_n=$((plan_n + 1))
    mkdir -p "$P/api"
    echo 'console.log("x")' > "$P/api/index.js"
    {
        echo "project: hostile"
        echo "environments:"
        echo "  dev:"
        echo "    provider: $1"
        echo "    $2"
        echo "    timeouts: {database: 1}"
        echo "databases:"
        for d in $3; do echo "  - {name: $d, engine: postgresql, mode: managed}"; done
        echo "applications:"
        echo "  - {name: api, path: ./api, port: 3000, databases: [$(echo $3 | cut -d' ' -f1)]}"
    } > "$P/hoist.yml"
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
    says "provider 'hostile_malformed' returned a malformed connection for database 'main': host: missing (NULL)"
says "malformed connection" || show
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
done_testing
