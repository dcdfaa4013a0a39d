#!/usr/bin/env bash
# Builds every C harness program with clang's AddressSanitizer + UBSan,
# links it against the static library, and runs it. Any report fails.
# Usage: scripts/sanitize_c_harness.sh [profile-dir]   (default target/debug)
set -euo pipefail
cd "$(dirname "$0")/.."
profile_dir=${1:-target/debug}
# `cargo test` leaves the fresh staticlib in deps/; `cargo build` copies it up.
lib_dir=$profile_dir/deps
[[ -f $lib_dir/libwtfperf.a ]] || lib_dir=$profile_dir
out=$profile_dir/c-harness-asan
mkdir -p "$out"
CC=${CC_SANITIZE:-clang}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}
status=0
for src in tests/c/*.c; do
    name=$(basename "$src" .c)
    exe=$out/$name
    "$CC" -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
        -fno-sanitize-recover=undefined -Wall -Wextra -Werror -D_GNU_SOURCE \
        -Iinclude -Itests/c "$src" "$lib_dir/libwtfperf.a" \
        -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o "$exe"
    tmp=$(mktemp -d)
    if TMPDIR=$tmp WTFPERF_UNDER_SANITIZER=1 "$exe" >"$tmp.log" 2>&1; then
        echo "asan+ubsan ok: $name ($(tail -1 "$tmp.log"))"
    else
        echo "asan+ubsan FAILED: $name"; cat "$tmp.log"; status=1
    fi
    rm -rf "$tmp" "$tmp.log"
done
exit $status
