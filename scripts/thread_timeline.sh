#!/usr/bin/env bash
# Where a two-thread scan's time goes, thread by thread: one run of
# `scan_bench` under `perf record --sample-cpu`, then
#   - per 10 ms, how busy each thread was (samples out of 100 at 10 kHz:
#     a dip is a thread waiting, for the read budget, a lock, work);
#   - the milliseconds in which every thread ran on one CPU (the scheduler
#     co-locating them: on a shared VM this happens under outside load).
#
#   bash scripts/thread_timeline.sh [TREE] [scan_bench args...]
#
# e.g. `bash scripts/thread_timeline.sh /tmp/linux-source-6.1 --parallel`.
# Needs `perf` (Debian: linux-perf) and kernel.perf_event_paranoid <= 2.
# Run by hand, not in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

TREE=${1:-/tmp/linux-source-6.1}
shift || true
command -v perf >/dev/null || { echo "perf is not installed (Debian: linux-perf)" >&2; exit 1; }
cargo build --release --example scan_bench -q
DATA=$(mktemp)
trap 'rm -f "$DATA"' EXIT

perf record -q -F 10000 --sample-cpu -o "$DATA" -- \
    target/release/examples/scan_bench scan "$TREE" --all --threads 2 "$@"
perf script -i "$DATA" -F tid,cpu,time 2>/dev/null | python3 -c '
import collections, sys
rows = []
for line in sys.stdin:
    tid, cpu, t = line.split()[:3]
    rows.append((int(tid), int(cpu.strip("[]")), float(t.rstrip(":"))))
t0 = min(t for _, _, t in rows)
tids = sorted({tid for tid, _, _ in rows})
busy = collections.defaultdict(collections.Counter)
cpus = collections.defaultdict(lambda: collections.defaultdict(set))
for tid, cpu, t in rows:
    busy[int((t - t0) * 100)][tid] += 1
    cpus[int((t - t0) * 1000)][tid].add(cpu)
print("samples per 10 ms, thread by thread (" + "/".join(map(str, tids)) + "; 100 = busy all along):")
print(" ".join(f"{k * 10}:" + "/".join(str(busy[k][t]) for t in tids) for k in sorted(busy)))
shared = [ms for ms in sorted(cpus)
          if len(cpus[ms]) >= 2 and len(set.union(*cpus[ms].values())) == 1]
print(f"{len(cpus)} ms sampled; {len(shared)} ms with the threads on one CPU: {shared[:30]}")
'
