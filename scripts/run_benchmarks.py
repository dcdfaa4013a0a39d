#!/usr/bin/env python3
"""The benchmark command line of wtf_codebot's performance guide, on wtfperf's
Python binding (the same as ``python -m wtfperf.benchmarks``):

    python scripts/run_benchmarks.py --project . --parallel 2 --cache
    python scripts/run_benchmarks.py --full-suite --verbose

Uses the installed ``wtfperf`` package, else the binding of this checkout
(bindings/python); the library is found as the binding documents
(``WTFPERF_LIB``, this checkout's target/release or target/debug, the
system library path). ``--help`` lists every option.
"""

import sys
from pathlib import Path

try:
    import wtfperf.benchmarks as benchmarks
except ImportError as exc:
    if getattr(exc, "name", None) != "wtfperf":
        raise
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bindings" / "python"))
    import wtfperf.benchmarks as benchmarks

if __name__ == "__main__":
    sys.exit(benchmarks.main())
