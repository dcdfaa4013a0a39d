#!/usr/bin/env bash
# Runs the Go binding's tests. Installs Debian's golang-go when `go` is
# missing. Uses the library at $WTFPERF_LIB when set (a path to
# libwtfperf.so), else the repository's build tree (target/release, then
# target/debug). Exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v go >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq golang-go >/dev/null
fi
command -v gcc >/dev/null 2>&1 || command -v cc >/dev/null 2>&1 || {
    echo "test.sh: a C compiler is needed for cgo" >&2
    exit 1
}

# Build the library when the build tree has none (e.g. only `cargo test` ran,
# which does not always leave target/debug/libwtfperf.so behind).
repo=$(cd ../.. && pwd)
if { [[ -z "${WTFPERF_LIB:-}" ]] && [[ ! -f "$repo/target/release/libwtfperf.so" ]] &&
    [[ ! -f "$repo/target/debug/libwtfperf.so" ]]; } ||
    { [[ "${WTFPERF_LIB:-}" == "$repo/target/debug/libwtfperf.so" ]] && [[ ! -f "$WTFPERF_LIB" ]]; }; then
    echo "test.sh: no libwtfperf.so in $repo/target; running cargo build" >&2
    (cd "$repo" && cargo build)
fi

if [[ -n "${WTFPERF_LIB:-}" ]]; then
    if [[ ! -f "$WTFPERF_LIB" ]]; then
        echo "test.sh: WTFPERF_LIB=$WTFPERF_LIB does not exist" >&2
        exit 1
    fi
    libdir=$(cd "$(dirname "$WTFPERF_LIB")" && pwd)
    # CGO_LDFLAGS comes before the package's own -L/-rpath flags, so this
    # directory wins at link time and at run time.
    export CGO_LDFLAGS="-L$libdir -Wl,-rpath,$libdir ${CGO_LDFLAGS:-}"
    # `cargo build` writes the header matching the library beside it.
    if [[ -f "$libdir/include/wtfperf.h" ]]; then
        export CGO_CFLAGS="-I$libdir/include ${CGO_CFLAGS:-}"
    fi
    export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

export CGO_ENABLED=1
# The tests make the library panic on purpose (caught, WTFPERF_ERR_PANIC);
# keep Rust's panic hook to one line per panic.
export RUST_BACKTRACE=0
# No third-party modules: never reach for the network.
export GOPROXY=off GOTOOLCHAIN=local
if [[ -z "${HOME:-}" && -z "${GOCACHE:-}" ]]; then
    export GOCACHE="${TMPDIR:-/tmp}/wtfperf-go-cache"
fi

go version
go vet ./...
# -count=1: never reuse a cached result; the library may have changed.
go test -count=1 ./...
# Again under the race detector (the binding's locks, handles and parallel
# callbacks), where Go supports it; -short skips the slow tests.
case "$(go env GOOS)/$(go env GOARCH)" in
linux/amd64 | linux/arm64)
    go test -count=1 -race -short ./...
    ;;
esac
