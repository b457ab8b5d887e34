#!/bin/sh
# SigV4: hoist (tests/sigv4_tool) against botocore on seeded random requests.
. "$HOIST_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import botocore.auth' 2>/dev/null; then
    skip_all "$PY cannot import botocore (apt-get install python3-botocore)"
fi
exec "$PY" "$HOIST_SRCDIR/tests/sigv4_botocore.py" "$HOIST_BUILDDIR/tests/sigv4_tool" \
    "${HOIST_SIGV4_COUNT:-250}" "${HOIST_SIGV4_SEED:-20240601}"
