#!/bin/sh
# valgrind_cli.sh - memcheck over the CLI's main paths on the null driver:
# --version, validate, providers, plan, deploy, status, a no-op deploy,
# destroy, and the hostile drivers' contained failures (malformed data).
# Any memory error or definite/possible leak fails the step (exit 99).
# Part of `make check` (about 15 s); alone:
#   make check TESTS=tests/valgrind_cli.sh
. "$HOIST_SRCDIR/tests/lib.sh"
command -v valgrind >/dev/null 2>&1 || skip_all "valgrind not installed"
[ -n "${HOIST_ASAN:-}" ] && skip_all "ASan build: memcheck cannot run sanitized binaries"
case "$(ldd "$HOIST_BUILDDIR/tools/hoist/.libs/hoist" 2>/dev/null)" in
    *libasan*) skip_all "ASan build: memcheck cannot run sanitized binaries" ;;
esac

T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-vg-XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/p/api"
echo 'console.log(1)' > "$T/p/api/main.js"
cat > "$T/p/hoist.yml" <<'YML'
project: vg
environments:
  dev: { provider: "null", polls: 1 }
databases:
  - { name: main, engine: postgresql }
  - { name: cache, engine: redis }
applications:
  - { name: api, path: ./api, databases: [main, cache], env: { MODE: "${HOIST_VG_VAR}" } }
  - { name: worker, image: "w:1", databases: [cache] }
YML
export HOIST_VG_VAR=valgrind-variable
ERRORS=0

# vg NAME EXPECTED-RC ARGS...: run the CLI's real binary (not the libtool
# wrapper script) under memcheck.
vg() {
    name=$1 want=$2
    shift 2
    (cd "$T/p" && LD_LIBRARY_PATH="$HOIST_BUILDDIR/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,possible \
        --track-fds=no --log-file="$T/$name.vg" \
        "$HOIST_BUILDDIR/tools/hoist/.libs/hoist" "$@" > "$T/$name.out" 2>&1)
    rc=$?
    n=$(grep -Ec '^==[0-9]+== (Invalid|Conditional|Use of|Mismatched|Syscall param|Source and destination|[0-9,]+ bytes in [0-9,]+ blocks are (definitely|possibly))' "$T/$name.vg")
    ERRORS=$((ERRORS + n))
    check "memcheck clean: hoist $* (rc=$rc, errors=$n)" [ "$rc" -eq "$want" ] && [ "$n" -eq 0 ]
    if [ "$n" -ne 0 ] || [ "$rc" -ne "$want" ]; then
        sed 's/^/#   /' "$T/$name.vg" | head -n 40
        sed 's/^/#   /' "$T/$name.out" | tail -n 5
    fi
}

vg version 0 --version
vg validate 0 validate
vg providers 0 providers
vg plan 0 plan -e dev
vg deploy 0 deploy -e dev --yes
vg status 0 status -e dev
vg redeploy 0 deploy -e dev --yes -o json
vg destroy 0 destroy -e dev --yes
# A contained driver failure frees what it rejected.
cat > "$T/p/hoist.yml" <<'YML'
project: vg
environments:
  dev: { provider: hostile_malformed, malformed: bad-utf8 }
YML
vg malformed 1 deploy -e dev --yes --provider-dir "$HOIST_MODDIR/tests/hostile"
diag "valgrind errors: $ERRORS"
done_testing
