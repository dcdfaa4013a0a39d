#!/usr/bin/env bash
# Scanner benchmark against its peers, on the same tree, in the same run.
#
#   bash scripts/bench_scan.sh [TREE] [THREADS]
#
# TREE defaults to the Linux 6.1 source tree (Debian's linux-source-6.1,
# ~75k files), extracted to /tmp once. Installs fd-find, ripgrep, hyperfine
# and time from Debian if missing; downloads nothing else. Run by hand (not
# in CI): it takes a few minutes and wants a quiet machine. Page cache warm
# (hyperfine's warmup runs). Prints medians and ratios to the peer.
set -euo pipefail
cd "$(dirname "$0")/.."

TREE=${1:-/tmp/linux-source-6.1}
THREADS=${2:-$(nproc)}
RUNS=${RUNS:-10}

need=()
command -v fdfind >/dev/null || command -v fd >/dev/null || need+=(fd-find)
command -v rg >/dev/null || need+=(ripgrep)
command -v hyperfine >/dev/null || need+=(hyperfine)
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
OUT=$(mktemp -d)

echo "tree: $TREE ($(find "$TREE" -type f | wc -l) files), threads: $THREADS, runs: $RUNS"
echo "fd $($FD --version | cut -d' ' -f2), ripgrep $(rg --version | head -1 | cut -d' ' -f2)"
echo

# hyperfine NAME PEER OURS: both commands in one hyperfine run; prints the
# medians and ours/peer.
compare() {
    local name=$1 peer=$2 ours=$3
    hyperfine -N -i --warmup 2 --runs "$RUNS" --export-json "$OUT/$name.json" \
        -n peer "$peer" -n wtfperf "$ours" >/dev/null
    python3 - "$OUT/$name.json" "$name" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
p, o = r["peer"]["median"], r["wtfperf"]["median"]
print(f"{sys.argv[2]:<34} peer {p*1000:8.1f} ms   wtfperf {o*1000:8.1f} ms   ratio {o/p:5.2f}")
PY
}

# Same files on both sides: no ignore files, hidden files included.
compare "walk+stat vs fd -u --size +0b" \
    "$FD -u --size +0b -j $THREADS . $TREE" \
    "$BENCH walk $TREE --all --threads $THREADS"
compare "full scan vs rg -uuu (reads all)" \
    "rg -uuu -c -j $THREADS ZqXjNeverMatches $TREE" \
    "$BENCH scan $TREE --all --threads $THREADS"
"$BENCH" analyze "$TREE" --all --threads "$THREADS" --cache "$CACHE" >/dev/null # fill the cache
compare "warm analyze vs fd -u (walk only)" \
    "$FD -u -j $THREADS . $TREE" \
    "$BENCH analyze $TREE --all --threads $THREADS --cache $CACHE"

echo
echo "in-process figures (median of 5 runs):"
for mode in walk scan; do
    for t in 1 2; do
        "$BENCH" "$mode" "$TREE" --all --threads "$t" --repeat 5
    done
done
"$BENCH" scan "$TREE" --all --threads "$THREADS" --sorted --repeat 5
"$BENCH" scan "$TREE" --all --threads "$THREADS" --parallel --repeat 5
"$BENCH" analyze "$TREE" --all --threads "$THREADS" --cache "$CACHE" --repeat 5

echo
echo "peak RSS (full scan, /usr/bin/time -v):"
/usr/bin/time -v "$BENCH" scan "$TREE" --all --threads "$THREADS" 2>&1 \
    | grep -E "mode=|Maximum resident" | sed 's/^\s*//'
/usr/bin/time -v "$BENCH" analyze "$TREE" --all --threads "$THREADS" --cache "$CACHE" 2>&1 \
    | grep -E "Maximum resident" | sed 's/^\s*/warm analyze: /'
