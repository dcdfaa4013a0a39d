#!/usr/bin/env bash
# Checks that the static link line in README.md lists exactly the native
# libraries rustc reports for this crate (`--print native-static-libs`).
set -euo pipefail
cd "$(dirname "$0")/.."
reported=$(cargo rustc -q --lib --crate-type staticlib -- --print native-static-libs 2>&1 \
    | sed -n 's/.*native-static-libs: //p' | tail -1)
documented=$(grep -m1 -A1 'cc -std=c11 -Iinclude my_tool.c target/release/libwtfperf.a' README.md | tail -1 | sed 's/^ *//')
if [[ -z "$reported" || "$reported" != "$documented" ]]; then
    echo "README static link line: '$documented'"
    echo "rustc reports:           '$reported'"
    exit 1
fi
echo "static link line matches rustc: $reported"
