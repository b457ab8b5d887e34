#!/bin/sh
# cli.sh - the hoist command line frame: version, help, dispatch, exit codes,
# `providers`, `validate` and NO_COLOR, run against the built binary.
. "$HOIST_SRCDIR/tests/lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-cli-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err

# run CMD...: run hoist, keep stdout/stderr in $out/$err and the status in $rc.
run() { "$HOIST" "$@" >"$out" 2>"$err"; rc=$?; }
has() { grep -q -- "$1" "$2"; }
hasF() { grep -qF -- "$1" "$2"; }
# expect DESCRIPTION 'CONDITION': ok if the whole shell condition holds
# (lib.sh's check runs one command; these conditions chain several).
expect() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
q="'"

# The ABI and version the sources declare, not copies of them.
abi_major=$(sed -n 's/^#define HOIST_ABI_MAJOR \([0-9]*\)$/\1/p' "$HOIST_SRCDIR/plugins-api/hoist/provider.h")
abi_minor=$(sed -n 's/^#define HOIST_ABI_MINOR \([0-9]*\)$/\1/p' "$HOIST_SRCDIR/plugins-api/hoist/provider.h")
version=$(sed -n 's/^AC_INIT(\[hoist\], \[\([^]]*\)\].*/\1/p' "$HOIST_SRCDIR/configure.ac")

run --version
expect "--version prints version $version and ABI $abi_major.$abi_minor" \
    '[ "$rc" = 0 -a "$(cat "$out")" = "hoist $version (provider ABI $abi_major.$abi_minor)" ]'

run --help
expect "--help exits 0 and lists the exit codes" \
    '[ "$rc" = 0 ] && hasF "Exit status: 0 done, 1 failed, 2 usage or configuration error" "$out" && hasF "130 interrupted" "$out"'
# Every command --help lists has its own help page.
cmds=$(sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' "$out")
lists_all() { for c in validate providers help; do echo "$cmds" | grep -qx "$c" || return 1; done; }
expect "--help lists validate, providers and help" 'lists_all'
expect "--help advertises no state subcommand that does not exist (state list)" \
    '! grep -q "^  state .*\<list\>" "$out"'
for c in $cmds; do
    [ "$c" = help ] && continue
    run help "$c"
    expect "hoist help $c" \
        '[ "$rc" = 0 ] && has "^usage: hoist $c" "$out"'
    run "$c" --help
    expect "hoist $c --help is the same page" \
        '[ "$rc" = 0 ] && has "^usage: hoist $c" "$out"'
done

run help validate
expect "help validate explains file:line:column and exit codes" \
    '[ "$rc" = 0 ] && hasF "FILE:LINE:COLUMN" "$out" && hasF "Exit 0 if valid, 2 otherwise" "$out"'

run
expect "no command: exit 2, usage on stderr" \
    '[ "$rc" = 2 ] && has "^usage: hoist" "$err" && [ ! -s "$out" ]'

run provdiers
expect "typo: exit 2 with did you mean" \
    '[ "$rc" = 2 ] && hasF "did you mean ${q}providers${q}?" "$err"'
run zzzzzzzzzz
expect "unrelated word: exit 2, no suggestion" \
    '[ "$rc" = 2 ] && hasF "unknown command ${q}zzzzzzzzzz${q}" "$err" && ! hasF "did you mean" "$err"'
run help valdate
expect "help for a typo: exit 2 with did you mean" \
    '[ "$rc" = 2 ] && hasF "did you mean ${q}validate${q}?" "$err"'
run validate --bogus
expect "unknown option: exit 2" \
    '[ "$rc" = 2 ] && hasF "hoist help validate" "$err"'
run providers -o yaml
expect "bad --output: exit 2" \
    '[ "$rc" = 2 ] && hasF "${q}text${q} or ${q}json${q}" "$err"'

# providers, from the build tree (HOIST_PROVIDER_PATH as make check sets it).
null_la=$HOIST_MODDIR/providers/null/null.la
run providers
expect "providers lists null with its build-tree path" \
    '[ "$rc" = 0 ] && grep -q "^null  *1\.0\.0  *$abi_major\.$abi_minor  *$null_la\$" "$out"'
expect "providers shows null's caps" \
    'hasF "caps: pause-database,local-runtime,postgresql,mysql,redis,mongodb" "$out"'
run providers -o json
json_lists_null() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if [p for p in d if p["name"] == "null" and p["path"] == sys.argv[2]] else 1)' "$out" "$null_la"
}
expect "providers -o json is JSON naming null" \
    '[ "$rc" = 0 ] && json_lists_null'

run providers info null
expect "providers info null: descriptor and operations" \
    '[ "$rc" = 0 ] && has "^name: *null$" "$out" && has "^ABI: *$abi_major\.$abi_minor$" "$out" && hasF "$null_la" "$out" && has "^  database *offered" "$out"'
expect "providers info null: the settings it declares, with type and doc" \
    'has "^settings:$" "$out" && has "^  polls  *integer  *ensure calls answering PENDING before READY$" "$out"'
run providers --provider-dir "$HOIST_MODDIR/tests/fake" info fake_good
expect "providers info of a driver without a schema says its keys are unchecked" \
    'has "^settings: *not declared (provider ABI [0-9.]*): hoist.yml keys unchecked$" "$out"'

run providers --provider-dir "$tmp" info nope
ok_dirs=1
for d in "$tmp" $(echo "$HOIST_PROVIDER_PATH" | tr ':' ' '); do
    grep -qxF "  $d" "$err" || { ok_dirs=0; diag "directory $d not listed"; }
done
expect "providers info nope: exit 1 listing every searched directory" \
    '[ "$rc" = 1 -a "$ok_dirs" = 1 ] && hasF "provider ${q}nope${q} not found" "$err" && [ "$(sed -n 2p "$err")" = "  $tmp" ]'

# The crafted modules through the CLI: good ones listed, bad ones refused with the reason.
run providers --provider-dir "$HOIST_MODDIR/tests/fake"
expect "providers with --provider-dir lists fake_good from there" \
    'hasF "$HOIST_MODDIR/tests/fake/fake_good.la" "$out"'
expect "providers shows refused modules with the reason and exits 1" \
    '[ "$rc" = 1 ] && grep "^fake_major " "$out" | grep -qF "built for provider ABI $((abi_major + 1)).$abi_minor"'

# validate
cat >"$tmp/good.yml" <<'YML'
project: shop
environments:
  dev: { provider: "null" }
YML
run validate -f "$tmp/good.yml"
expect "validate a good file: exit 0" \
    '[ "$rc" = 0 ] && hasF "valid: project ${q}shop${q}" "$out" && [ ! -s "$err" ]'
cat >"$tmp/bad.yml" <<'YML'
project: shop
environments:
  dev: { provider: nope }
YML
run validate -f "$tmp/bad.yml"
expect "validate a bad file: exit 2 with file:line:col" \
    '[ "$rc" = 2 ] && grep -q "^$tmp/bad.yml:3:[0-9][0-9]*: error: .*nope" "$err"'
run plan -f "$tmp/good.yml" -e dve
expect "a misspelt environment: exit 2 with did you mean" \
    '[ "$rc" = 2 ] && hasF "no environment ${q}dve${q}" "$err" && hasF "did you mean ${q}dev${q}?" "$err"'
run plan -f "$tmp/good.yml" -e production
expect "an unrelated environment: exit 2, no suggestion" \
    '[ "$rc" = 2 ] && hasF "no environment ${q}production${q}" "$err" && ! hasF "did you mean" "$err"'
run deploy -f "$tmp/good.yml" -e dev --yse
expect "a misspelt long option: exit 2 with did you mean --yes" \
    '[ "$rc" = 2 ] && hasF "did you mean ${q}--yes${q}?" "$err" && hasF "hoist help deploy" "$err"'
run deploy -f "$tmp/good.yml" -e dev --zzzzzz
expect "an unrelated long option: exit 2, no suggestion" \
    '[ "$rc" = 2 ] && ! hasF "did you mean" "$err"'
run help --help
expect "hoist help --help: exit 0 with its usage" \
    '[ "$rc" = 0 ] && has "^usage: hoist help" "$out"'
run validate -f "$tmp/good.yml" -o json
json_valid() { # EXPECTED-VALID: $out is one JSON document with that verdict
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
ok = d["valid"] == (sys.argv[2] == "1")
ok = ok and (d.get("project") == "shop" if d["valid"] else d["errors"][0]["line"] == 3)
sys.exit(0 if ok else 1)' "$out" "$1"
}
expect "validate -o json prints JSON" '[ "$rc" = 0 ] && json_valid 1'
run validate -f "$tmp/bad.yml" -o json
expect "validate -o json of a bad file: exit 2, JSON with the errors" '[ "$rc" = 2 ] && json_valid 0'
mkdir -p "$tmp/loc"
printf 'project: shop\nenvironments:\n  dev: { provider: local }\n' >"$tmp/loc/hoist.yml"
run kubeconfig -f "$tmp/loc/hoist.yml" -e dev
expect "kubeconfig on local: says local has no cluster, not to deploy" \
    '[ "$rc" != 0 ] && hasF "provider ${q}local${q}, which has no Kubernetes cluster" "$err" && ! hasF "run hoist deploy" "$err"'
run validate -f "$tmp/loc"
expect "-f DIR reads DIR/hoist.yml" \
    '[ "$rc" = 0 ] && hasF "$tmp/loc/hoist.yml: valid" "$out"'
mkdir -p "$tmp/loc/a/b"
(cd "$tmp/loc/a/b" && "$HOIST" validate >"$out" 2>"$err"); rc=$?
expect "without -f, hoist.yml is found in a parent directory" \
    '[ "$rc" = 0 ] && hasF "$tmp/loc/hoist.yml: valid" "$out"'
run validate -f "$tmp/missing.yml"
expect "validate a missing file: exit 2 naming it" \
    '[ "$rc" = 2 ] && hasF "$tmp/missing.yml" "$err"'

# Unknown keys of an environment (ABI 1.3 settings schemas of the real drivers).
cat >"$tmp/keys.yml" <<'YML'
project: shop
environments:
  dev:
    provider: local
    regoin: here
  production:
    provider: aws
    protectd: true
    poll_ms: fast
    registry: { keep_image: 3 }
  test:
    provider: "null"
    dirr: /tmp/x
    polls: 1
YML
cat >"$tmp/keys.expect" <<EOF
$tmp/keys.yml:5:5: error: unknown key 'regoin' in environment 'dev'; did you mean 'region'?
$tmp/keys.yml:8:5: error: unknown key 'protectd' in environment 'production'; did you mean 'protected'?
$tmp/keys.yml:9:14: error: invalid 'poll_ms' of environment 'production': found 'fast'; expected an integer (polling interval while AWS works, 1..600000 ms)
$tmp/keys.yml:10:17: error: unknown key 'keep_image' in 'registry' of environment 'production'; did you mean 'keep_images'?
$tmp/keys.yml:13:5: error: unknown key 'dirr' in environment 'test'; did you mean 'dir'?
hoist: $tmp/keys.yml: 5 errors; nothing was changed
EOF
run validate -f "$tmp/keys.yml"
expect "validate: unknown and mistyped environment keys, each at FILE:LINE:COLUMN with did you mean" \
    '[ "$rc" = 2 ] && diff "$tmp/keys.expect" "$err" >&2 && [ ! -s "$out" ]'
# Every command that reads hoist.yml checks the same way before it acts;
# with -e, other environments' drivers are not loaded, but a typo of one of
# hoist's own keys (protectd) is caught everywhere.
run plan -f "$tmp/keys.yml" -e test
expect "plan -e test: exit 2 on test's misspelt driver key and production's misspelt protected" \
    '[ "$rc" = 2 ] && hasF "keys.yml:13:5: error: unknown key ${q}dirr${q}" "$err" &&
     hasF "keys.yml:8:5: error: unknown key ${q}protectd${q}" "$err" &&
     ! hasF "poll_ms" "$err" && ! hasF "keep_image" "$err"'
cat >"$tmp/keys.yml" <<'YML'
project: shop
environments:
  production: { provider: aws, region: eu-west-3, protected: true, poll_ms: 100, registry: { keep_images: 3 }, network: { cidr: 10.1.0.0/16 } }
  test: { provider: "null", dir: /tmp/x, polls: 1, offer: [network] }
YML
run validate -f "$tmp/keys.yml"
expect "validate: every declared key of aws and null is accepted" \
    '[ "$rc" = 0 ] && [ ! -s "$err" ]'

# NO_COLOR: an error under a TTY is coloured unless NO_COLOR is set.
esc=$(printf '\033')
if command -v script >/dev/null 2>&1 && script -qc true /dev/null >/dev/null 2>&1; then
    tty_run() { script -qc "'$HOIST' providers info nope" /dev/null >"$out" 2>&1 </dev/null; }
    (unset NO_COLOR; tty_run)
    expect "under a TTY, errors are coloured" \
        'hasF "$esc[" "$out"'
    NO_COLOR=1 tty_run
    expect "NO_COLOR=1 under a TTY: no escape codes" \
        '[ -s "$out" ] && ! hasF "$esc" "$out"'
else
    ok "# SKIP script(1) cannot give a TTY here; NO_COLOR under a TTY not tested"
fi
(unset NO_COLOR; "$HOIST" providers info nope >"$out" 2>&1)
expect "not a TTY: no escape codes" \
    '[ -s "$out" ] && ! hasF "$esc" "$out"'

done_testing
