"""Measure the binding against plain-Python peers doing the same work, in the
same process and run, interleaved: medians of several runs and their ratios.

    WTFPERF_LIB=$PWD/target/release/libwtfperf.so \\
        python3 bindings/python/examples/compare_peers.py [--files 2000] [--runs 5] [--threads 2]

Scenarios (each peer is what a Python tool would write with the stdlib):
  scan       walk + read + hash every file and hand it to Python
             wtfperf.scan             vs  os.walk + read + blake2b-128 (threads)
  warm       incremental analysis, nothing changed since the last run
             ParallelAnalyzer(cache=) vs  read + hash every file, one SQLite lookup each
  cache      store then read back N JSON results, each committed when stored
             CacheManager             vs  sqlite3 (WAL, synchronous=NORMAL) + json,
                                     commit per set, dict as memory tier
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import wtfperf  # noqa: E402


def make_tree(root: Path, files: int, seed: int = 42) -> None:
    rng = random.Random(seed)
    words = ["def", "return", "self", "value", "import", "class", "for", "in", "if", "TODO", "x", "y"]
    for i in range(files):
        d = root / f"pkg{i % 17}" / f"mod{i % 5}"
        d.mkdir(parents=True, exist_ok=True)
        lines = [" ".join(rng.choice(words) for _ in range(8)) for _ in range(rng.randint(20, 300))]
        (d / f"file{i}.py").write_text("\n".join(lines) + "\n")


def todo_analyzer(node):
    return [{"line": n} for n, line in enumerate(node.content.splitlines(), 1) if "TODO" in line]


# ---- peers


def peer_scan(root: Path, threads: int) -> int:
    paths = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]

    def work(p):
        with open(p, "rb") as fh:
            data = fh.read()
        return p, data, hashlib.blake2b(data, digest_size=16).digest()

    n = 0
    with ThreadPoolExecutor(threads) as pool:
        for _p, _data, _h in pool.map(work, paths, chunksize=64):
            n += 1  # handed to Python, as wtfperf.scan's callback is
    return n


class PeerIncremental:
    """Results keyed by (analyzer, path, content hash) in SQLite."""

    def __init__(self, db: Path):
        self.conn = sqlite3.connect(db)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS r (k TEXT PRIMARY KEY, v TEXT)")

    def run(self, root: Path, threads: int) -> int:
        hits = 0
        paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)

        def work(p):
            with open(p, "rb") as fh:
                data = fh.read()
            return p, data, hashlib.blake2b(data, digest_size=16).hexdigest()

        new = []
        with ThreadPoolExecutor(threads) as pool:
            for p, data, h in pool.map(work, paths, chunksize=64):
                key = f"todo:{os.path.relpath(p, root)}:{h}"
                row = self.conn.execute("SELECT v FROM r WHERE k = ?", (key,)).fetchone()
                if row is not None:
                    json.loads(row[0])
                    hits += 1
                    continue
                node = type("N", (), {"content": data.decode("utf-8", "replace")})
                new.append((key, json.dumps(todo_analyzer(node))))
        with self.conn:
            self.conn.executemany("INSERT OR REPLACE INTO r VALUES (?, ?)", new)
        return hits


class PeerCache:
    def __init__(self, db: Path):
        self.mem = {}
        self.conn = sqlite3.connect(db)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # Durable against a killed process (what wtfperf promises), not power loss.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS c (k TEXT PRIMARY KEY, v TEXT)")

    def set(self, k, v):
        s = json.dumps(v)
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO c VALUES (?, ?)", (k, s))
        self.mem[k] = s

    def get(self, k):
        s = self.mem.get(k)
        if s is None:
            row = self.conn.execute("SELECT v FROM c WHERE k = ?", (k,)).fetchone()
            s = row and row[0]
        return None if s is None else json.loads(s)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wtfperf-py-compare-"))
    root = tmp / "tree"
    make_tree(root, args.files)
    print(f"wtfperf {wtfperf.version()} from {wtfperf.LIB_PATH}")
    print(f"{args.files} files, {args.threads} threads, {args.runs} runs each (interleaved); medians\n")
    rows = []

    # scan
    ours, peer = [], []
    for _ in range(args.runs):
        count = []
        ours.append(timed(lambda: wtfperf.scan(root, lambda f: count.append(1), threads=args.threads))[0])
        peer.append(timed(lambda: peer_scan(root, args.threads))[0])
        assert len(count) == args.files
    rows.append(("scan (walk+read+hash)", ours, peer))

    # warm incremental analysis
    cm = wtfperf.CacheManager(cache_dir=tmp / "cache")
    pa = wtfperf.ParallelAnalyzer(num_processes=args.threads, cache=cm)
    pi = PeerIncremental(tmp / "peer.db")
    pa.analyze_codebase_parallel(root, {"*": todo_analyzer})  # cold runs fill both
    pi.run(root, args.threads)
    ours, peer = [], []
    for _ in range(args.runs):
        ours.append(timed(lambda: pa.analyze_codebase_parallel(root, {"*": todo_analyzer}))[0])
        assert pa.last_summary.cache_hits == args.files
        dt, hits = timed(lambda: pi.run(root, args.threads))
        assert hits == args.files
        peer.append(dt)
    rows.append(("warm incremental analysis", ours, peer))

    # cache set + get
    n = min(args.files, 1000)
    results = [{"findings": [{"line": i, "rule": "todo"}], "metrics": [i]} for i in range(n)]
    ours, peer = [], []
    for r in range(args.runs):
        c = wtfperf.CacheManager(cache_dir=tmp / f"c{r}")
        p = PeerCache(tmp / f"p{r}.db")

        def run_ours():
            for i, v in enumerate(results):
                c.set_analysis_result(f"k{i}", v)
            for i in range(n):
                c.get_analysis_result(f"k{i}")

        def run_peer():
            for i, v in enumerate(results):
                p.set(f"k{i}", v)
            for i in range(n):
                p.get(f"k{i}")

        ours.append(timed(run_ours)[0])
        peer.append(timed(run_peer)[0])
        c.close()
    rows.append((f"cache: {n} sets + {n} gets", ours, peer))

    print(f"{'scenario':32} {'wtfperf':>10} {'peer':>10} {'peer/wtfperf':>13}")
    for name, o, p in rows:
        mo, mp = statistics.median(o), statistics.median(p)
        print(f"{name:32} {mo * 1000:8.1f}ms {mp * 1000:8.1f}ms {mp / mo:12.2f}x")


if __name__ == "__main__":
    main()
