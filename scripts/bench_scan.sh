#!/usr/bin/env bash
# Scanner benchmark against its peers, on the same tree, in the same run.
#
#   bash scripts/bench_scan.sh [TREE] [THREADS]
#
# TREE defaults to the Linux 6.1 source tree (Debian's linux-source-6.1,
# ~75k files), extracted to /tmp once. Installs fd-find, ripgrep
# and time from Debian if missing; downloads nothing else. Run by hand (not
# in CI): it takes a few minutes and wants a quiet machine. Page cache warm
# (a warm-up round). Peer and ours run alternately; prints medians and the
# median of the paired ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

TREE=${1:-/tmp/linux-source-6.1}
THREADS=${2:-$(nproc)}
RUNS=${RUNS:-9}

need=()
command -v fdfind >/dev/null || command -v fd >/dev/null || need+=(fd-find)
command -v rg >/dev/null || need+=(ripgrep)
[ -x /usr/bin/time ] || need+=(time)
if [ "$TREE" = /tmp/linux-source-6.1 ] && [ ! -d "$TREE" ] && [ ! -f /usr/src/linux-source-6.1.tar.xz ]; then
    need+=(linux-source-6.1)
fi
if ((${#need[@]})); then
    apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || {
        apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
    }
fi
FD=$(command -v fdfind || command -v fd)
if [ ! -d "$TREE" ]; then
    echo "extracting the kernel tree to /tmp ..."
    tar xf /usr/src/linux-source-6.1.tar.xz -C /tmp
fi

cargo build --release --example scan_bench -q
BENCH=target/release/examples/scan_bench
CACHE=$(mktemp -d)
trap 'rm -rf "$CACHE"' EXIT

echo "tree: $TREE ($(find "$TREE" -type f | wc -l) files), threads: $THREADS, runs: $RUNS"
echo "fd $($FD --version | cut -d' ' -f2), ripgrep $(rg --version 2>/dev/null | sed -n 1p | cut -d' ' -f2)"
echo

# Runs commands alternately (so a load change on this shared machine hits
# all of them alike), RUNS rounds after one warm-up round; prints each one's
# median wall time and, per pair, the median of the per-round ratios.
compare() {
    python3 - "$RUNS" "$@" <<'PY'
import statistics, subprocess, sys, time
runs = int(sys.argv[1])
args = sys.argv[2:]
title, cmds = args[0], list(zip(args[1::2], args[2::2]))
times = {n: [] for n, _ in cmds}
for r in range(runs + 1):
    order = cmds if r % 2 == 0 else cmds[::-1]
    for name, cmd in order:
        t = time.perf_counter()
        subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r > 0:
            times[name].append(time.perf_counter() - t)
peer = cmds[0][0]
line = f"{title:<40}"
for name, _ in cmds:
    line += f" {name} {statistics.median(times[name]) * 1000:7.1f} ms"
print(line)
for name, _ in cmds[1:]:
    ratios = [o / p for o, p in zip(times[name], times[peer])]
    print(f"{'':<40} {name}/{peer} = {statistics.median(ratios):.2f} (median of {runs} paired runs)")
PY
}

# Same files on both sides: no ignore files, hidden files included.
compare "walk+stat vs fd -u --size +0b" \
    fd "$FD -u --size +0b -j $THREADS . $TREE" \
    wtfperf "$BENCH walk $TREE --all --threads $THREADS"
compare "full scan vs rg -uuu (reads all)" \
    rg "rg -uuu -c -j $THREADS ZqXjNeverMatches $TREE" \
    wtfperf "$BENCH scan $TREE --all --threads $THREADS"
"$BENCH" analyze "$TREE" --all --threads "$THREADS" --cache "$CACHE" >/dev/null # fill the cache
"$BENCH" analyze "$TREE" --all --threads "$THREADS" --cache "$CACHE" >/dev/null # and its snapshot
# The walk-only peer is the target's; fd's own walk+stat and ours show
# what one stat per file costs on this machine.
compare "warm analyze vs fd -u (walk only)" \
    fd "$FD -u -j $THREADS . $TREE" \
    wtfperf "$BENCH analyze $TREE --all --threads $THREADS --cache $CACHE" \
    fd_stat "$FD -u --size +0b -j $THREADS . $TREE" \
    our_walk_stat "$BENCH walk $TREE --all --threads $THREADS"

echo
echo "1 vs $THREADS threads, alternating (medians of $RUNS runs each; ours in process,"
echo "the peers' whole processes, -j1 against -j$THREADS):"
# "scan --parallel": callbacks on the worker threads (callbacks_parallel);
# the others call back on the calling thread (the default).
modes=()
for mode in walk scan "scan --parallel" "scan --sorted" analyze "analyze --sorted"; do
    extra=""
    [ "${mode%% *}" = analyze ] && extra="--cache $CACHE"
    modes+=("$mode=$BENCH ${mode%% *} $TREE --all ${mode#"${mode%% *}"} $extra --threads {t}")
done
python3 scripts/speedup.py "$RUNS" "$THREADS" "${modes[@]}" \
    "peer fd -u=$FD -u -j{t} . $TREE" \
    "peer fd -u --size=$FD -u --size +0b -j{t} . $TREE" \
    "peer rg -uuu=rg -uuu -c -j{t} ZqXjNeverMatches $TREE"
# What the machine itself allows: THREADS one-thread scans at once, each in
# a process of its own (nothing shared but the cores' caches, the memory
# bus and the kernel), against one alone. No scan in one process can do
# better than THREADS * alone / together.
python3 - "$RUNS" "$BENCH scan $TREE --all --threads 1" "$THREADS" <<'PY'
import re, statistics, subprocess, sys
runs, cmd, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
secs = lambda out: [float(s) for s in re.findall(r"seconds=([0-9.]+)", out)]
alone, together = [], []
for r in range(runs):
    for both in ([False, True] if r % 2 == 0 else [True, False]):
        if both:
            procs = [subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE, text=True) for _ in range(n)]
            together.append(max(s for p in procs for s in secs(p.communicate()[0])))
        else:
            alone.append(secs(subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout)[0])
a, t = statistics.median(alone), statistics.median(together)
print(f"ceiling          {n} one-thread scans at once {t * 1000:7.1f} ms   one alone {a * 1000:7.1f} ms   best speed-up {n * a / t:.2f}x")
PY

echo
echo "in-process figures (median of 5 runs):"
"$BENCH" scan "$TREE" --all --threads "$THREADS" --sorted --repeat 5
"$BENCH" scan "$TREE" --all --threads "$THREADS" --parallel --repeat 5
"$BENCH" analyze "$TREE" --all --threads "$THREADS" --cache "$CACHE" --repeat 5
echo
echo "peak RSS (full scan, /usr/bin/time -v):"
/usr/bin/time -v "$BENCH" scan "$TREE" --all --threads "$THREADS" 2>&1 \
    | grep -E "mode=|Maximum resident" | sed 's/^\s*//'
/usr/bin/time -v "$BENCH" analyze "$TREE" --all --threads "$THREADS" --cache "$CACHE" 2>&1 \
    | grep -E "Maximum resident" | sed 's/^\s*/warm analyze: /'
