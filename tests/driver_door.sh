#!/bin/sh
# driver_door.sh - every call into a driver goes through libhoist/driver.c,
# which guards, calls and validates it.  Any other file of the core or the
# tools that reaches a driver's ops table (hoist_driver.ops, or a pointer of
# an ops-table type) would bypass the crash guard and the output checks:
# this test names each such place as FILE:LINE.
#
# Allowed: libhoist/driver.c (the door), libhoist/loader.c (receives the
# table from init and stores it), libhoist/loader.h (declares the member).
# Not scanned: tools/hoist-conformance, whose job is to inspect a driver's
# raw table and answers against the ABI contract, and the tests' own
# harnesses and drivers.
. "$HOIST_SRCDIR/tests/lib.sh"

# scan FILE...: print FILE:LINE: TEXT for each line, outside comments, that
# reads the ops member of a driver or holds an ops-table pointer.
scan() {
    awk '
    FNR == 1 { in_comment = 0 }
    {
        line = $0
        # Drop comments (block comments may span lines) and string literals.
        out = ""
        while (length(line) > 0) {
            if (in_comment) {
                i = index(line, "*/")
                if (i == 0) { line = ""; break }
                line = substr(line, i + 2); in_comment = 0
            } else {
                i = index(line, "/*"); j = index(line, "//")
                if (j > 0 && (i == 0 || j < i)) { out = out substr(line, 1, j - 1); line = ""; break }
                if (i == 0) { out = out line; line = ""; break }
                out = out substr(line, 1, i - 1); line = substr(line, i + 2); in_comment = 1
            }
        }
        gsub(/"([^"\\]|\\.)*"/, "\"\"", out)
        if (out ~ /(->|\.)[ \t]*ops([^A-Za-z0-9_]|$)/ ||
            out ~ /hoist_(provider|network|cluster|registry|database|app)_ops([^A-Za-z0-9_]|$)/)
            printf "%s:%d: %s\n", FILENAME, FNR, $0
    }' "$@"
}

cd "$HOIST_SRCDIR" || exit 1
files=$(find libhoist tools plugins-api/testhelper -name '*.[ch]' \
            ! -path 'tools/hoist-conformance/*' ! -path libhoist/driver.c \
            ! -path libhoist/loader.c ! -path libhoist/loader.h | sort)
covers_core() {
    for f in libhoist/graph.c libhoist/plan.c libhoist/imagexec.c libhoist/workload.c \
             tools/hoist/cmd_pipeline.c tools/hoist/cmd_providers.c; do
        echo "$files" | grep -qx "$f" || return 1
    done
}
check "the scan covers the core and the CLI" covers_core

hits=$(scan $files)
if [ -z "$hits" ]; then
    ok "no file outside libhoist/driver.c and the loader reaches a driver's ops table"
else
    echo "$hits" | sed 's/^/# /'
    diag "call the driver through libhoist/driver.h (hoist_driver_call, hoist_driver_*_credentials,"
    diag "hoist_driver_db_connection, hoist_driver_app_logs, hoist_driver_offers) instead"
    not_ok "no file outside libhoist/driver.c and the loader reaches a driver's ops table"
fi

# The scan itself: it must catch the shapes the core used before the door,
# and ignore them in comments and strings.
T=$(mktemp -d "${TMPDIR:-/tmp}/hoist-door-XXXXXX")
trap 'rm -rf "$T"' EXIT
cat > "$T/bad.c" <<'EOF'
st = drv->ops->cluster->credentials(drv->prov, ctx, &r, out);
if (!pe.drv->ops->app) {
const hoist_provider_ops *o = d -> ops;
static void print_ops(const hoist_database_ops *ops)
EOF
cat > "$T/good.c" <<'EOF'
/* drv->ops->cluster->credentials is reached through driver.c */
// d->ops
fprintf(stderr, "no ops->app here: %s\n", "drv->ops");
int n_ops = drv_opsx;
/* a comment
   spanning d->ops lines */
EOF
check "the scan finds all 4 ways of reaching a table" \
    [ "$(scan "$T/bad.c" | wc -l)" -eq 4 ]
names_line() { case "$(scan "$T/bad.c" | sed -n 2p)" in "$T/bad.c:2: "*) return 0;; esac; return 1; }
check "the scan names FILE:LINE" names_line
check "the scan ignores comments, strings and longer names" [ -z "$(scan "$T/good.c")" ]
done_testing
