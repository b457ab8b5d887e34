# bench_lib.sh - shared helpers for the bench/*.sh scripts (source it).
# Sets B (absolute build directory: $1 of the script, else ./build, else .),
# HOIST, SIM, PY, T (a temporary directory removed on exit) and offers
# hoist-sim start/stop, sim call counting and a wall/CPU/RSS measure.
# Loopback only: every server binds 127.0.0.1.
if [ -n "$1" ] && [ -d "$1" ]; then B=$(cd "$1" && pwd)
elif [ -x build/tools/hoist/hoist ]; then B=$(cd build && pwd)
else B=$(pwd); fi
HOIST=$B/tools/hoist/hoist
SIM=$B/tools/hoist-sim/hoist-sim
PY=/usr/bin/python3
[ -x "$HOIST" ] || { echo "bench: no hoist in $B (give the build directory)" >&2; exit 2; }
HOIST_BUILDDIR=$B
HOIST_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
diag() { echo "bench: $*" >&2; }
# sim_start NAME ARGS / sim_stop PID, SIM_TMP and SIM_PIDS: the tests' helpers.
. "$HOIST_SRCDIR/tests/sim_lib.sh"
T=$SIM_TMP
bench_cleanup() {
    for p in $SIM_PIDS; do kill "$p" 2>/dev/null; done
    for p in $SIM_PIDS; do wait "$p" 2>/dev/null; done
    if [ -n "$BENCH_KEEP" ]; then echo "bench: kept $T" >&2; else rm -rf "$T"; fi
}
trap bench_cleanup EXIT INT TERM
export DIGITALOCEAN_TOKEN=hoist-sim-do-token
unset DIGITALOCEAN_ACCESS_TOKEN DIGITALOCEAN_API_URL

# machine: one line naming the date, cores and CPU model.
machine() {
    echo "date $(date -u +%Y-%m-%d), $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), Linux $(uname -r)"
}

# sim_up NAME [ARGS...]: start hoist-sim on a free port (sets SIM_URL, SIM_PID) or exit.
sim_up() { sim_start "$@" || exit 1; }

# sim_down: stop the hoist-sim started last.
sim_down() {
    sim_stop "$SIM_PID"
    SIM_PIDS=$(echo "$SIM_PIDS" | sed "s/ $SIM_PID//")
}

# sim_calls [CLOUD]: "MUTATING READS" summed over hoist-sim's call counters.
sim_calls() {
    curl -s "$SIM_URL/_sim/calls" | "$PY" -c '
import json, sys
cloud = sys.argv[1] if len(sys.argv) > 1 else ""
c = [x for x in json.load(sys.stdin)["calls"] if not cloud or x["cloud"] == cloud]
print(sum(x["count"] for x in c if x["mutating"]), sum(x["count"] for x in c if not x["mutating"]))' "$@"
}

# now_s: seconds since the epoch, nanosecond resolution.
now_s() { date +%s.%N; }

# ratio A B [DIGITS]: A / B.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%.*f", d, (b > 0 ? a / b : 0) }'; }

# measure LABEL N CMD...: run CMD (stdout discarded, stderr kept in
# $T/measure.err); print its wall and CPU (user+sys) time, CPU per resource
# for N resources, and peak RSS (getrusage of the child).  Returns its status.
measure() {
    _label=$1 _n=$2; shift 2
    "$PY" - "$_label" "$_n" "$@" <<'PY' 2>"$T/measure.err"
import resource, subprocess, sys, time
label, n, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
t0 = time.monotonic()
r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru.ru_utime + ru.ru_stime
print(f"{label:22s} exit {r.returncode}  wall {wall:7.2f} s  cpu {cpu:6.2f} s  "
      f"cpu/resource {cpu / max(n, 1) * 1000:6.2f} ms  peak RSS {ru.ru_maxrss / 1024:6.1f} MiB",
      flush=True)
sys.stderr.write(r.stderr.decode()[-3000:])
sys.exit(r.returncode)
PY
}
