#!/usr/bin/env bash
# Runs the Ruby binding's tests. Installs Debian's ruby, ruby-ffi and
# ruby-minitest when missing (apt-get update only if an install is needed).
# Uses $WTFPERF_LIB when set, else the build tree's libwtfperf.so.
set -euo pipefail
# A relative WTFPERF_LIB is relative to where this script was called from.
if [[ -n "${WTFPERF_LIB:-}" && "$WTFPERF_LIB" != /* ]]; then
    WTFPERF_LIB="$PWD/$WTFPERF_LIB"
    export WTFPERF_LIB
fi
cd "$(dirname "$0")"

need=()
command -v ruby >/dev/null || need+=(ruby)
if command -v ruby >/dev/null; then
    ruby -e 'require "ffi"' 2>/dev/null || need+=(ruby-ffi)
    ruby -e 'require "minitest"' 2>/dev/null || need+=(ruby-minitest)
else
    need+=(ruby-ffi ruby-minitest)
fi
if ((${#need[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    sudo=""
    [[ $(id -u) == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Without WTFPERF_LIB the tests use the build tree's library: build it if missing.
if [[ -z "${WTFPERF_LIB:-}" && ! -e ../../target/release/libwtfperf.so && ! -e ../../target/debug/libwtfperf.so ]] \
    && command -v cargo >/dev/null; then
    (cd ../.. && cargo build --quiet)
fi

echo "ruby $(ruby -e 'print RUBY_VERSION'), ffi $(ruby -rffi -e 'print FFI::VERSION'), library: $(ruby -Ilib -rwtfperf -e 'print Wtfperf.library_path, " (", Wtfperf.library_version, ")"')"
# The forced-panic tests make the library's panic hook print; keep it to one line.
export RUST_BACKTRACE=0
# One process for all test files; the seed is printed so a failure can be replayed.
exec ruby -w -Ilib -Itest -e 'Dir["test/test_*.rb"].sort.each { |f| require File.expand_path(f) }' -- "$@"
