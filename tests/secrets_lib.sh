# secrets_lib.sh - the secret scan shared by secrets_local.sh and
# secrets_clouds.sh (source after lib.sh, with T set to a scratch directory).
SECRETS=$T/secrets   # one secret a line
PLACES=0
HITS=0

# scan PLACE FILE: count lines of FILE holding any secret; report them masked.
scan() {
    [ -f "$2" ] || { not_ok "$1: $2 missing, cannot be searched"; return; }
    PLACES=$((PLACES + 1))
    n=$(grep -c -a -F -f "$SECRETS" "$2")
    HITS=$((HITS + n))
    check "no secret in $1" [ "$n" -eq 0 ]
    [ "$n" -eq 0 ] || grep -a -n -o -F -f "$SECRETS" "$2" | sed 's/:.*$/: <a secret>/; s/^/#   line /' | head -n 5
}

# state_outside_secrets STATE OUT: the state document without its
# "secrets" members (where an unsealed state keeps them by design).
state_outside_secrets() {
    python3 - "$1" > "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for r in doc.get("resources", {}).values():
    r.pop("secrets", None)
print(json.dumps(doc, indent=1))
PY
}

# cmdlines OUT: every process's command line, one a line.
cmdlines() {
    for d in /proc/[0-9]*; do
        { tr '\0' ' ' < "$d/cmdline" && echo; } 2>/dev/null
    done > "$1"
}

# secret_mode MODE: "sealed" sets a fresh HOIST_STATE_KEY (itself a secret)
# and plain output; "trace" unsets it and sets FLAGS for --trace -v -o json.
secret_mode() {
    if [ "$1" = sealed ]; then
        HOIST_STATE_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
        export HOIST_STATE_KEY
        add_secret "$HOIST_STATE_KEY"
        flags=
    else
        unset HOIST_STATE_KEY
        flags="--trace -v -o json"
    fi
}

# add_secret VALUE
add_secret() { [ -n "$1" ] && printf '%s\n' "$1" >> "$SECRETS"; }

