#!/bin/sh
# pipeline_cli.sh - hoist plan/deploy/destroy/status/graph on the null driver:
# exit codes, confirmation, lock contention, refusal of bad state, SIGINT.
. "$HOIST_SRCDIR/tests/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-cli-XXXXXX")
trap 'rm -rf "$T"' EXIT

mkproj() { # DIR EXTRA-ENV-SETTINGS
    mkdir -p "$1/api"
    echo 'v1' > "$1/api/main.js"
    cat > "$1/hoist.yml" <<YML
project: shop
environments:
  dev: { provider: "null" $2 }
  prod: { provider: "null", protected: true }
databases:
  - { name: main, engine: postgresql }
  - { name: cache, engine: redis }
applications:
  - { name: api, path: ./api, port: 3000, public: true, databases: [main, cache] }
  - { name: worker, image: "w:1", databases: [cache] }
YML
}

P=$T/p1; mkproj "$P" ""
out=$("$HOIST" plan -f "$P/hoist.yml" -e dev 2>&1); rc=$?
check "plan exits 0" [ $rc -eq 0 ]
case $out in *"Plan: 5 to create, 0 to update, 0 to destroy"*) ok "plan summary line";; *) not_ok "plan summary line: $out";; esac
check "plan wrote no state" [ ! -e "$P/.hoist/state/dev.json" ]
"$HOIST" plan -f "$P/hoist.yml" -e dev -o json > "$T/plan.json"
check "plan -o json is JSON" python3 -c "import json,sys; d=json.load(open('$T/plan.json')); assert d['summary']['create']==5"

out=$("$HOIST" deploy -f "$P/hoist.yml" -e dev </dev/null 2>&1); rc=$?
check "deploy without a TTY needs --yes (exit 2)" [ $rc -eq 2 ]
case $out in *"--yes"*) ok "message names --yes";; *) not_ok "message: $out";; esac

out=$("$HOIST" deploy -f "$P/hoist.yml" -e dev --yes -v 2>&1); rc=$?
check "deploy exits 0" [ $rc -eq 0 ]
case $out in *"api: http://127.0.0.1/api"*) ok "public URL printed";; *) not_ok "no URL: $out";; esac
case $out in *null-password-not-secret*) not_ok "a secret was printed";; *) ok "no secret printed";; esac
check "state file is mode 0600" [ "$(stat -c %a "$P/.hoist/state/dev.json")" = 600 ]
out=$("$HOIST" deploy -f "$P/hoist.yml" -e dev --yes 2>&1); rc=$?
case "$rc:$out" in 0:*"Nothing to do"*) ok "second deploy is a no-op";; *) not_ok "second deploy: $rc $out";; esac

# Change the app source: only the app changes.
echo 'v2' > "$P/api/main.js"
out=$("$HOIST" plan -f "$P/hoist.yml" -e dev 2>&1)
case $out in *"Plan: 0 to create, 1 to update, 0 to destroy, 4 unchanged"*"app/api"*|*"app/api"*"Plan: 0 to create, 1 to update, 0 to destroy, 4 unchanged"*) ok "source change updates only the app";; *) not_ok "plan after change: $out";; esac

# Drift: delete an object in the cloud.
rm "$P/.hoist/null/dev/database-cache.json"
out=$("$HOIST" status -f "$P/hoist.yml" -e dev 2>&1); rc=$?
case "$rc:$out" in 1:*"database/cache"*missing*) ok "status reports a missing resource (exit 1)";; *) not_ok "status: $rc $out";; esac
case $out in *"app/api"*"changed: source files"*) ok "status names what changed in words";; *) not_ok "status changed: $out";; esac
case $out in *'["'*|*_sha256*|*_digest*) not_ok "status prints raw JSON or internal names: $out";; *) ok "status prints no raw JSON array or internal name";; esac

out=$("$HOIST" graph -f "$P/hoist.yml" -e dev 2>&1)
case $out in *'"database/main" -> "app/api"'*) ok "graph prints DOT edges";; *) not_ok "graph: $out";; esac
"$HOIST" help deploy | grep -q "parallelism" && ok "help deploy" || not_ok "help deploy"

# logs --follow stops quietly on the first signal (the same handler as Ctrl-C).
"$HOIST" logs -f "$P/hoist.yml" -e dev api --follow >"$T/logs.out" 2>&1 &
bg=$!
sleep 1
kill -TERM $bg
wait $bg
check "logs --follow: a signal does not print the deploy's in-flight message" \
    sh -c '! grep -q "finishing the calls in flight" "$1"' - "$T/logs.out"
out=$("$HOIST" deploy -f "$P/hoist.yml" -e dev --yes --force 2>&1); rc=$?
case "$rc:$out" in 2:*"--force does nothing here"*) ok "deploy --force is refused (exit 2)";; *) not_ok "deploy --force: $rc $out";; esac
out=$("$HOIST" destroy -f "$P/hoist.yml" -e prod --yes 2>&1); rc=$?
case "$rc:$out" in 2:*protected*--force*) ok "protected env needs --force";; *) not_ok "protected: $rc $out";; esac
out=$("$HOIST" plan -f "$P/hoist.yml" -e nope 2>&1); rc=$?
check "unknown environment exits 2" [ $rc -eq 2 ]

# Failure: exit 1, dependents skipped.
P2=$T/p2; mkproj "$P2" ', fail: { "database/main": quota }'
out=$("$HOIST" deploy -f "$P2/hoist.yml" -e dev --yes 2>&1); rc=$?
check "failed deploy exits 1" [ $rc -eq 1 ]
case $out in *"1 failed, 1 skipped"*) ok "summary counts failed and skipped";; *) not_ok "summary: $out";; esac
case $out in *"app/api"*skipped*"needs database/main, which failed"*) ok "skip reason given";; *) not_ok "skip reason: $out";; esac

# Lock contention.
P3=$T/p3; mkproj "$P3" ', latency_ms: 400'
"$HOIST" deploy -f "$P3/hoist.yml" -e dev --yes >/dev/null 2>&1 &
bg=$!
i=0; while [ ! -s "$P3/.hoist/state/dev.lock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
out=$("$HOIST" deploy -f "$P3/hoist.yml" -e dev --yes 2>&1); rc=$?
case "$rc:$out" in 1:*"environment 'dev' is locked by pid $bg on host"*"operation deploy"*) ok "second process names the environment and the holder";; *) not_ok "lock: $rc $out";; esac
out=$("$HOIST" deploy -f "$P3/hoist.yml" -e dev --yes --lock-timeout 30 2>&1); rc=$?
check "--lock-timeout waits for the holder" [ $rc -eq 0 ]
wait $bg; check "first deploy finished" [ $? -eq 0 ]

# Corrupt and future state are refused and left alone.
P4=$T/p4; mkproj "$P4" ""
mkdir -p "$P4/.hoist/state"
printf '{"format":1,"resources":{' > "$P4/.hoist/state/dev.json"
cp "$P4/.hoist/state/dev.json" "$T/corrupt.ref"
out=$("$HOIST" deploy -f "$P4/hoist.yml" -e dev --yes 2>&1); rc=$?
case "$rc:$out" in 1:*corrupt*) ok "corrupt state refused (exit 1)";; *) not_ok "corrupt: $rc $out";; esac
check "corrupt state unchanged" cmp -s "$P4/.hoist/state/dev.json" "$T/corrupt.ref"
printf '{"format":7,"lineage":"x","serial":1,"resources":{}}' > "$P4/.hoist/state/dev.json"
cp "$P4/.hoist/state/dev.json" "$T/future.ref"
out=$("$HOIST" plan -f "$P4/hoist.yml" -e dev 2>&1); rc=$?
case "$rc:$out" in 1:*"newer hoist"*) ok "future format refused";; *) not_ok "future: $rc $out";; esac
check "future state unchanged" cmp -s "$P4/.hoist/state/dev.json" "$T/future.ref"

# SIGINT: finish in-flight work, save, exit 130; the next deploy completes.
P5=$T/p5; mkproj "$P5" ', latency_ms: 300'
"$HOIST" deploy -f "$P5/hoist.yml" -e dev --yes --parallelism 1 >"$T/int.out" 2>&1 &
bg=$!
# Interrupt once the run has started (its handler is installed by then): a
# background job ignores a SIGINT that arrives earlier.
i=0; while ! grep -q "create started" "$T/int.out" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
sleep 0.3
kill -INT $bg
wait $bg; rc=$?
check "SIGINT exits 130" [ $rc -eq 130 ]
grep -q interrupted "$T/int.out" && ok "interrupted items reported" || not_ok "no interrupted report: $(cat "$T/int.out")"
check "state is valid JSON after SIGINT" python3 -c "import json; json.load(open('$P5/.hoist/state/dev.json'))"
"$HOIST" deploy -f "$P5/hoist.yml" -e dev --yes >/dev/null 2>&1
check "deploy after SIGINT completes" [ $? -eq 0 ]
dups=$(cut -d' ' -f1 "$P5/.hoist/null/dev/creates.log" | sort | uniq -d)
check "nothing created twice after SIGINT" [ -z "$dups" ]

grep -q "secrets are stored unsealed in .*(mode 0600)" "$T/int.out" &&
    ok "the first write of unsealed secrets warns" || not_ok "no unsealed warning: $(cat "$T/int.out")"
echo "notes" > "$P5/.hoist/mine.txt"
out=$("$HOIST" destroy -f "$P5/hoist.yml" -e dev --yes 2>&1); rc=$?
check "destroy exits 0" [ $rc -eq 0 ]
case $out in *unsealed*) not_ok "the unsealed warning is repeated: $out";; *) ok "the unsealed warning is said once per state file";; esac
check "destroy leaves the cloud empty" [ -z "$(ls "$P5/.hoist/null/dev" 2>/dev/null | grep json)" ]
# what the environment made under .hoist/ goes; a file of the user's stays
check "destroy removes the state file and its lock" \
    [ ! -e "$P5/.hoist/state/dev.json" -a ! -e "$P5/.hoist/state/dev.lock" ]
check "destroy removes the driver's directory" [ ! -e "$P5/.hoist/null" ]
check "destroy keeps the user's files in .hoist/" [ -e "$P5/.hoist/mine.txt" ]
check "destroy removes the directories it emptied" [ ! -e "$P5/.hoist/state" ]
out=$("$HOIST" destroy -f "$P5/hoist.yml" -e dev --yes 2>&1); rc=$?
case "$rc:$out" in 0:*"Nothing to destroy: environment 'dev' has no resources"*) ok "destroy of an empty environment says there is nothing to destroy";; *) not_ok "empty destroy: $rc $out";; esac
# A terminal gets the live view (colour, cursor codes) unless NO_COLOR is set
# or TERM is dumb; then plain lines without a single escape.
esc=$(printf '\033')
ptyrun() { # ENV-ASSIGNMENTS...: deploy then destroy P6 under a pseudo-terminal
    env "$@" python3 "$HOIST_SRCDIR/tests/pty_run.py" "$HOIST" deploy -f "$P6/hoist.yml" -e dev --yes
    env "$@" python3 "$HOIST_SRCDIR/tests/pty_run.py" "$HOIST" destroy -f "$P6/hoist.yml" -e dev --yes
}
P6=$T/p6; mkproj "$P6" ""
ptyrun -u NO_COLOR TERM=xterm >"$T/pty.out" 2>&1
if grep -q "\[2K" "$T/pty.out"; then
    ok "a terminal gets the live view"
    ptyrun NO_COLOR=1 TERM=xterm >"$T/pty.out" 2>&1
    check "NO_COLOR=1: deploy and destroy write no escape code" \
        sh -c '! grep -qF "$1" "$2" && grep -q "destroy: .* 5 destroyed" "$2"' - "$esc" "$T/pty.out"
    ptyrun -u NO_COLOR TERM=dumb >"$T/pty.out" 2>&1
    check "TERM=dumb: deploy and destroy write no escape code" \
        sh -c '! grep -qF "$1" "$2" && grep -q "destroy: .* 5 destroyed" "$2"' - "$esc" "$T/pty.out"
else
    not_ok "a terminal gets the live view: $(cat "$T/pty.out")"
fi
done_testing
