#!/usr/bin/env bash
# Runs the Python binding's tests. Installs pytest when missing.
# Uses $WTFPERF_LIB when set (CI sets it to target/debug/libwtfperf.so),
# else the build tree, else the system library path.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if ! "$PY" -c 'import pytest' 2>/dev/null; then
    "$PY" -m pip install --quiet --disable-pip-version-check pytest \
        || "$PY" -m pip install --quiet --disable-pip-version-check --break-system-packages pytest
fi
echo "python binding: $("$PY" --version 2>&1), WTFPERF_LIB=${WTFPERF_LIB:-<unset>}"
if (($#)); then exec "$PY" -m pytest -q -p no:cacheprovider "$@"; fi
exec "$PY" -m pytest -q -p no:cacheprovider tests
