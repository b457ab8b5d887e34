#!/bin/sh
# startup.sh - start-up cost: `hoist providers` with every driver loaded
# (null, local, aws, digitalocean, scaleway): wall time (hyperfine when
# installed, else a loop of 100 runs) and peak RSS.  Runs the real binary
# (tools/hoist/.libs/hoist with the build's libhoist), not libtool's
# wrapper script, whose shell start-up would dominate.  Not part of make check.
# Usage: sh bench/startup.sh [BUILD_DIR]
. "$(dirname "$0")/bench_lib.sh"
BIN=$B/tools/hoist/.libs/hoist
[ -x "$BIN" ] || BIN=$HOIST   # a static or installed-style build: no wrapper
export LD_LIBRARY_PATH="$B/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
P=""
for d in null local aws digitalocean scaleway; do P="$P${P:+:}$B/providers/$d"; done
export HOIST_PROVIDER_PATH=$P
echo "machine: $(machine)"
n=$("$BIN" providers | grep -c '^[a-z]')
echo "drivers listed: $n ($("$BIN" providers | awk '/^[a-z]/ && $1 != "NAME" { printf "%s ", $1 }'))"
if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 5 --runs 200 --style basic "$BIN providers" 2>&1 | grep -E 'Time|Range'
else
    t0=$(now_s)
    i=0; while [ $i -lt 100 ]; do "$BIN" providers >/dev/null; i=$((i + 1)); done
    echo "mean wall over 100 runs: $(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { printf "%.2f ms", (b - a) * 10 }')"
fi
/usr/bin/time -f 'peak RSS %M KB (one run)' "$BIN" providers 2>&1 >/dev/null | tail -1
echo "for scale: $(/usr/bin/time -f '%M KB' /bin/true 2>&1) for /bin/true"
