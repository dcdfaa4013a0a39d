#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time each.
# Usage: scripts/fuzz.sh [seconds-per-target]   (default 60)
# FUZZ_BUILD=--dev builds without optimizations (quicker to build: CI's smoke).
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). The machine's stable
# toolchain is used with RUSTC_BOOTSTRAP=1 for the sanitizer flags.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-60}
export RUSTC_BOOTSTRAP=1
targets=$(cargo fuzz list)
# The targets build their trees and caches under the temp directory, one per
# fuzzing process: a scratch one, removed at the end, so /tmp keeps nothing.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in $targets; do
    mkdir -p "corpus/$t" "regressions/$t"
    echo "--- fuzz $t for ${secs}s"
    # Regression inputs (former crashes) are replayed first, then fuzzing runs.
    log=$(mktemp)
    if ! TMPDIR=$scratch cargo fuzz run ${FUZZ_BUILD:-} "$t" "corpus/$t" "regressions/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 >"$log" 2>&1; then
        tail -60 "$log"; echo "fuzz target $t FAILED"; exit 1
    fi
    grep -E "^Done [0-9]+ runs|stat::number_of_executed_units" "$log" | tail -1 || true
    rm -f "$log"
done
