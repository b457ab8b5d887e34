#!/bin/sh
# local_e2e.sh - the example every user tries first, deployed for real on this
# machine: hoist deploy of examples/nodejs-postgres (env dev, provider local),
# rows written to and read from PostgreSQL through the app, crash restart,
# no-op redeploy, app-only change, destroy leaving nothing behind.
. "$HOIST_SRCDIR/tests/lib.sh"

for tool in node npm curl psql; do
    command -v $tool >/dev/null 2>&1 || skip_all "$tool not installed"
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 ||
    skip_all "PostgreSQL server not installed (apt-get install -y postgresql)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-e2e-XXXXXX")
proj=$tmp/nodejs-postgres
state=$proj/.hoist/local/dev
cleanup() {
    (cd "$proj" 2>/dev/null && "$HOIST" destroy -e dev --yes >/dev/null 2>&1)
    rm -rf "$tmp"
}
trap cleanup EXIT

cp -r "$HOIST_SRCDIR/examples/nodejs-postgres" "$tmp/"
rm -rf "$proj/api/node_modules" "$proj/.hoist"
chmod -R u+w "$proj"

cd "$proj" || exit 1
# The modes of every directory above the project (as root, hoist once made
# each of them o+x for the database server's user and never undid it).
parent_modes() {
    d=$proj
    while [ "$d" != / ]; do stat -c '%n %a' "$d"; d=$(dirname "$d"); done
}
modes_before=$(parent_modes)
app_pid() { local_app_pid "$state" api; }
# Processes that mention this project in their command line or environment.
leftovers() {
    for d in /proc/[0-9]*; do
        [ "${d#/proc/}" = "$$" ] && continue
        if { tr '\0' '\n' < "$d/cmdline" | grep -qF "$proj"; } 2>/dev/null ||
            { tr '\0' '\n' < "$d/environ" | grep -qF "$proj"; } 2>/dev/null; then
            echo "${d#/proc/}"
        fi
    done
}

"$HOIST" deploy -f hoist.yml -e dev --yes > deploy1.out 2>&1
rc=$?
check "first deploy succeeds" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' deploy1.out
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' deploy1.out | tail -n 1)
check "deploy prints the app's URL" [ -n "$url" ]

r1=$(curl -sf --max-time 10 "$url")
r2=$(curl -sf --max-time 10 "${url}visits")
diag "GET / -> $r1"
check "a visit is written to PostgreSQL and read back" \
    sh -c "echo '$r2' | grep -q '\"total\":2' && echo '$r2' | grep -q '\"path\":\"/visits\"'"

data_dir=$(python3 -c "import json; print(json.load(open('.hoist/state/dev.json'))['resources']['database/main']['outputs']['data_dir'])")
srv_root=${data_dir%/db/main/data}
db_pid() { head -n 1 "$data_dir/postmaster.pid" 2>/dev/null; }
pid1=$(app_pid)
dbpid1=$(db_pid)
check "app and database pids are recorded" [ -n "$pid1" ] && [ -n "$dbpid1" ]
kill -9 "$pid1"
pid2=
for i in $(seq 1 100); do
    p=$(app_pid)
    if [ -n "$p" ] && [ "$p" != "$pid1" ] && curl -sf --max-time 2 "${url}health" >/dev/null; then
        pid2=$p
        break
    fi
    sleep 0.2
done
check "the killed app is restarted by its supervisor" [ -n "$pid2" ]
port=${url#http://127.0.0.1:}
port=${port%/}
"$HOIST" status -f hoist.yml -e dev > status0.out 2>&1
check "status shows the app's URL, port and live PID" \
    grep -q "url $url port $port pid $pid2\$" status0.out
[ $? -eq 0 ] || sed 's/^/# /' status0.out
"$HOIST" status -f hoist.yml -e dev -o json > status0.json 2>&1
check "status -o json has the live PID" \
    python3 -c "import json,sys; r={x['resource']: x for x in json.load(open('status0.json'))['resources']}; sys.exit(r['app/api'].get('pid') != $pid2 or r['app/api'].get('port') != $port)"
check "the app listens on 127.0.0.1 only (HOST)" \
    sh -c "! ss -Hltn 2>/dev/null | grep -E '(\*|0\.0\.0\.0|\[::\]):$port\\b' | grep -q ."

"$HOIST" deploy -f hoist.yml -e dev --yes > deploy2.out 2>&1
check "a redeploy without change succeeds" [ $? -eq 0 ]
check "a redeploy without change restarts nothing" \
    [ "$(app_pid)" = "$pid2" ] && [ "$(db_pid)" = "$dbpid1" ]
check "the redeploy records the restarted app's PID, not the dead one" \
    python3 -c "import json,sys; sys.exit(json.load(open('.hoist/state/dev.json'))['resources']['app/api']['outputs']['pid'] != $pid2)"
check "the modes of the project's parent directories are unchanged after deploy" \
    [ "$(parent_modes)" = "$modes_before" ]

echo "// changed by local_e2e.sh" >> api/server.js
"$HOIST" deploy -f hoist.yml -e dev --yes > deploy3.out 2>&1
check "deploy after an app change succeeds" [ $? -eq 0 ]
pid3=$(app_pid)
check "the changed app was restarted" [ -n "$pid3" ] && [ "$pid3" != "$pid2" ]
check "the database was not restarted" [ "$(db_pid)" = "$dbpid1" ]
r3=$(curl -sf --max-time 10 "$url")
check "the data survived the app's restart" sh -c "echo '$r3' | grep -q '\"total\":3'"

"$HOIST" status -f hoist.yml -e dev > status.out 2>&1
check "status reports the environment in sync" [ $? -eq 0 ]
"$HOIST" logs -f hoist.yml -e dev api > logs.out 2>&1
check "logs show the app's output" grep -q "api listening on port" logs.out

# The scan below must see the running environment, or its "nothing left" means nothing.
check "the process scan finds the running environment" [ -n "$(leftovers)" ]
"$HOIST" destroy -f hoist.yml -e dev --yes > destroy.out 2>&1
check "destroy succeeds" [ $? -eq 0 ]
left=$(leftovers)
check "no process of the environment is left" [ -z "$left" ]
[ -z "$left" ] || diag "left: $left"
check "the app's port is free" sh -c "! curl -s --max-time 2 '$url' >/dev/null"
check "the database data directory is gone" [ ! -e "$data_dir" ]
check "the app's copy is gone" [ ! -e "$state/apps/api" ]
check "nothing the environment made is left in .hoist/ (state, locks, logs)" [ ! -e "$proj/.hoist" ]
[ -e "$proj/.hoist" ] && diag "left: $(find "$proj/.hoist" | head -n 20 | tr '\n' ' ')"
check "the modes of the project's parent directories are unchanged after destroy" \
    [ "$(parent_modes)" = "$modes_before" ]
if [ "$(id -u)" = 0 ]; then
    check "as root, the database's data was outside the project" \
        sh -c "case '$data_dir' in '$proj'/*|'') exit 1;; esac"
    check "as root, the environment's directory for its servers is gone" [ ! -e "$srv_root" ]
fi
diag "port $port released"
done_testing
