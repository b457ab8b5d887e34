#!/bin/sh
# kit_outoftree.sh - the third-party driver kit end to end: install hoist
# into a temporary prefix, build the template driver out of tree through
# pkg-config and hoist.m4, and use it: hoist providers, validate, (plan,
# deploy, destroy when the pipeline commands exist), hoist-conformance and
# the template's own unit tests on libhoist-providertest.
. "$HOIST_SRCDIR/tests/lib.sh"

for tool in autoreconf libtoolize pkg-config; do
    command -v $tool >/dev/null 2>&1 || skip_all "$tool is not installed (needed to build a driver out of tree)"
done

# Command-line variables of the outer make (TESTS=...) must not leak into
# the template's own make.
unset MAKEFLAGS MFLAGS MAKELEVEL

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-kit-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# A staged install (DESTDIR) of the configured prefix.  `make install
# prefix=...` would change Make's prefix for the shared build tree, and
# anything make rebuilt meanwhile (other tests run in parallel) would get the
# temporary directory compiled in as its provider directory.
prefix=$(sed -n 's/^prefix = //p' "$HOIST_BUILDDIR/Makefile")
inst=$tmp/stage$prefix
log=$tmp/log
# show the last lines of the log after a failed step
tail_log() { sed 's/^/#   /' "$log" | tail -n 25; }
step() { _d=$1; shift; if "$@" >"$log" 2>&1; then ok "$_d"; else not_ok "$_d"; tail_log; fi; }

# 1. Install from the current build tree into $tmp/stage.  The programs keep
#    the run path of the configured prefix, so the staged copy runs with
#    LD_LIBRARY_PATH=$inst/lib.
step "make install DESTDIR=TMP/stage" make -C "$HOIST_BUILDDIR" install DESTDIR="$tmp/stage" V=0
for f in include/hoist/provider.h include/hoist/host.h include/hoist/kit.h include/hoist/providertest.h \
         lib/pkgconfig/hoist-provider.pc lib/pkgconfig/hoist-providertest.pc \
         share/aclocal/hoist.m4 bin/hoist bin/hoist-conformance; do
    check "installed $f" test -f "$inst/$f"
done
check "installed libhoist-providertest" test -f "$inst/lib/libhoist-providertest.so"
LD_LIBRARY_PATH=$inst/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
if ldd "$inst/bin/hoist-conformance" | grep -q "$inst/lib/libhoist.so"; then
    ok "installed hoist-conformance runs on the installed libhoist"
else
    not_ok "installed hoist-conformance runs on the installed libhoist"; ldd "$inst/bin/hoist-conformance" | sed 's/^/#   /'
fi

# The installed .pc files say the configured prefix; tell pkg-config where
# this copy really lives.
PKG_CONFIG="pkg-config --define-variable=prefix=$inst"
PKG_CONFIG_PATH=$inst/lib/pkgconfig
ACLOCAL_PATH=$inst/share/aclocal
export PKG_CONFIG PKG_CONFIG_PATH ACLOCAL_PATH
pdir=$($PKG_CONFIG --variable=providerdir hoist-provider)
check "providerdir is the core's pkglibdir/providers ($pdir)" test "$pdir" = "$inst/lib/hoist/providers"

# 2. The template, copied and built out of tree.
cp -R "$HOIST_SRCDIR/plugins-api/template" "$tmp/src"
chmod -R u+w "$tmp/src"
drivers=$tmp/drivers
mkdir -m 700 "$drivers"
cd "$tmp/src" || exit 1
step "template: autoreconf -i" autoreconf -i
# Built with hoist's own CFLAGS/LDFLAGS: under the sanitizer pass the
# installed helper library is instrumented, and so must its users be.
step "template: ./configure" ./configure --with-providerdir="$drivers" \
    CFLAGS="${HOIST_CFLAGS:--g -O2}" LDFLAGS="${HOIST_LDFLAGS:-}"
if grep -q "^HOIST_PROVIDER_CFLAGS = .*-I$inst/include" Makefile; then
    ok "configure took HOIST_PROVIDER_CFLAGS from hoist-provider.pc"
else
    not_ok "configure took HOIST_PROVIDER_CFLAGS from hoist-provider.pc"
fi
step "template: make" make
step "template: make install" make install
check "example.so installed in the provider directory" test -f "$drivers/example.so"
nm -D --defined-only "$drivers/example.so" | awk '{print $3}' | grep -v '^_' >"$tmp/syms"
check "the module exports only its entry symbol" test "$(cat "$tmp/syms")" = example_LTX_hoist_provider_entry
step "template: make check (unit tests on libhoist-providertest)" make check

# A too-new requirement fails configure with a clear message.
sed 's/HOIST_PROVIDER_PREREQ(\[1.3\])/HOIST_PROVIDER_PREREQ([1.99])/' configure.ac >configure.ac.new
mv configure.ac.new configure.ac
autoreconf >/dev/null 2>&1
./configure --with-providerdir="$drivers" >"$log" 2>&1
if [ $? -ne 0 ] && grep -q "does not declare provider ABI 1.99" "$log"; then
    ok "HOIST_PROVIDER_PREREQ([1.99]) fails configure and says why"
else
    not_ok "HOIST_PROVIDER_PREREQ([1.99]) fails configure and says why"; tail_log
fi
PKG_CONFIG_PATH=/nonexistent ./configure --with-providerdir="$drivers" >"$log" 2>&1
if [ $? -ne 0 ] && grep -q "the hoist provider SDK was not found by pkg-config" "$log"; then
    ok "configure without the SDK says how to point pkg-config at it"
else
    not_ok "configure without the SDK says how to point pkg-config at it"; tail_log
fi

# 3. The installed hoist uses it.
HOIST_PROVIDER_PATH=$drivers
export HOIST_PROVIDER_PATH
hoist=$inst/bin/hoist
"$hoist" providers >"$log" 2>&1
if grep -q "^example  *0.1.0 " "$log"; then ok "hoist providers lists example"; else not_ok "hoist providers lists example"; tail_log; fi

mkdir "$tmp/proj"
cd "$tmp/proj" || exit 1
cat >hoist.yml <<YML
project: kitdemo
environments:
  dev: { provider: example, dir: "$tmp/cloud", pending_polls: 1 }
databases:
  - { name: main, engine: postgresql, mode: managed }
YML
# No application: running apps is the Kubernetes executor's job, not the driver's.
step "hoist validate with provider: example" "$hoist" validate

if "$hoist" help deploy >/dev/null 2>&1; then
    step "hoist plan -e dev" "$hoist" plan -e dev
    step "hoist deploy -e dev" "$hoist" deploy -e dev --yes
    check "the example cloud holds the database" sh -c "ls '$tmp/cloud' | grep -q '^database-'"
    check "...named by hoist_kit_name from the installed hoist/kit.h" \
        sh -c "grep -q '\"name\": \"kitdemo-dev-main\"' '$tmp/cloud'/database-*.json"
    step "hoist destroy -e dev" "$hoist" destroy -e dev --yes
    check "destroy left the example cloud empty" sh -c "[ -z \"\$(ls '$tmp/cloud' | grep -v '\.tmp$')\" ]"
else
    ok "# SKIP plan/deploy/destroy: this hoist has no deploy command yet (pipeline not merged)"
fi

# 4. The contract, by the installed tool.
step "hoist-conformance example (no settings)" "$inst/bin/hoist-conformance" example
grep -E "^(FAIL|SKIP)" "$log" | sed 's/^/# /'
"$inst/bin/hoist-conformance" "$drivers/example.so" >"$log" 2>&1
if grep -q "^PASS database.errors.injected: HOIST_E_TRANSIENT" "$log"; then
    ok "the template honours the conformance_fail hook"
else
    not_ok "the template honours the conformance_fail hook"; tail_log
fi

done_testing
