#!/usr/bin/env bash
# Runs the Node binding's tests. Installs what is missing (Node.js from Debian,
# koffi from the npm registry through package-lock.json), then `node --test`.
# WTFPERF_LIB may point at the library to test; otherwise the build tree is used.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
fi

if ! node -e "require('koffi')" 2>/dev/null; then
    npm ci --no-audit --no-fund --loglevel=error
fi

echo "node $(node --version), library: ${WTFPERF_LIB:-<build tree>}"
exec node --test test/*.test.js
