#!/usr/bin/env python3
"""1 thread against THREADS threads, for one or more commands, alternating.

    python3 scripts/speedup.py RUNS THREADS NAME=COMMAND [NAME=COMMAND ...]

COMMAND holds `{t}` where the thread count goes. A command that prints
`seconds=S` (examples/scan_bench.rs does) is timed by it, in process; any
other by its process's wall time (fd, ripgrep); with `cpu_s=C` too, the
median CPU time of both runs is printed after them. After one warm-up round,
RUNS rounds each run every command with 1 and with THREADS threads, in an
order that alternates round by round, so a change of load on a shared
machine hits all of them alike. Prints, per command, the median times, the
speed-up of the medians and the median of the per-round speed-ups.

scripts/bench_scan.sh uses it; by hand it also compares two builds (an A/B,
here of sorted scans):

    python3 scripts/speedup.py 7 2 \\
        old="/tmp/old_scan_bench scan /tmp/linux-source-6.1 --all --sorted --threads {t}" \\
        new="target/release/examples/scan_bench scan /tmp/linux-source-6.1 --all --sorted --threads {t}"
"""
import re
import statistics
import subprocess
import sys
import time


def timed(cmd):
    """(seconds, CPU seconds or None) of one run."""
    start = time.perf_counter()
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    found = re.search(r"^mode=.* seconds=([0-9.]+)", out, re.MULTILINE)
    cpu = re.search(r"^mode=.* cpu_s=([0-9.]+)", out, re.MULTILINE)
    return (float(found.group(1)) if found else wall, float(cpu.group(1)) if cpu else None)


def main():
    if len(sys.argv) < 4 or not all("=" in a for a in sys.argv[3:]):
        sys.exit(__doc__)
    runs, threads = int(sys.argv[1]), sys.argv[2]
    cmds = [a.split("=", 1) for a in sys.argv[3:]]
    secs = {(name, t): [] for name, _ in cmds for t in ("1", threads)}
    cpus = {(name, t): [] for name, _ in cmds for t in ("1", threads)}
    for r in range(runs + 1):
        order = [(name, cmd, t) for name, cmd in cmds for t in ("1", threads)]
        for name, cmd, t in order if r % 2 == 0 else order[::-1]:
            s, cpu = timed(cmd.replace("{t}", t))
            if r > 0:
                secs[(name, t)].append(s)
                if cpu is not None:
                    cpus[(name, t)].append(cpu)
    for name, _ in cmds:
        one, many = secs[(name, "1")], secs[(name, threads)]
        paired = statistics.median(o / m for o, m in zip(one, many))
        one, many = statistics.median(one), statistics.median(many)
        cpu = ""
        if cpus[(name, "1")] and cpus[(name, threads)]:
            c1, cn = statistics.median(cpus[(name, "1")]), statistics.median(cpus[(name, threads)])
            cpu = f"   cpu {c1 * 1000:.0f} / {cn * 1000:.0f} ms"
        print(
            f"{name:<16} 1 thread {one * 1000:7.1f} ms   {threads} threads {many * 1000:7.1f} ms"
            f"   speed-up {one / many:.2f}x (paired {paired:.2f}){cpu}"
        )


main()
