import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import wtfperf
from wtfperf import errors

PKG_DIR = Path(__file__).resolve().parents[1]


def test_version_matches_binding():
    v = wtfperf.version()
    assert tuple(int(x) for x in v.split(".")[:2]) == wtfperf.API_VERSION
    assert os.path.basename(wtfperf.LIB_PATH).startswith("libwtfperf")


def test_status_names_agree_with_library():
    for code, name in errors.STATUS_NAMES.items():
        assert wtfperf.status_str(code) == name
    assert wtfperf.status_str(12345) == "WTFPERF_UNKNOWN"


def test_forced_panic_is_a_python_exception():
    with pytest.raises(wtfperf.PanicError) as info:
        wtfperf.debug_force_panic("boom from python")
    err = info.value
    assert isinstance(err, wtfperf.WtfperfError)
    assert err.status == wtfperf.ERR_PANIC == errors.ERR_PANIC
    assert err.status_name == "WTFPERF_ERR_PANIC"
    assert "boom from python" in err.message
    assert "WTFPERF_ERR_PANIC" in str(err)
    # The library stays usable after a caught panic.
    assert wtfperf.version()


def test_last_error_is_per_thread():
    seen = {}

    def worker(tag):
        try:
            wtfperf.debug_force_panic(f"thread {tag}")
        except wtfperf.PanicError as exc:
            seen[tag] = exc.message

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert f"thread {i}" in seen[i]


def test_error_classes_map_status_codes():
    cases = {
        errors.ERR_NULL: wtfperf.NullPointerError,
        errors.ERR_INVALID: wtfperf.InvalidArgumentError,
        errors.ERR_IO: wtfperf.WtfperfIOError,
        errors.ERR_STORE: wtfperf.StoreError,
        errors.ERR_STATE: wtfperf.StateError,
        errors.ERR_PANIC: wtfperf.PanicError,
        errors.ERR_CALLBACK: wtfperf.CallbackError,
    }
    for code, cls in cases.items():
        exc = errors.error_for(code, "msg")
        assert type(exc) is cls and exc.status == code and exc.message == "msg"
    assert isinstance(errors.error_for(errors.ERR_IO, "x"), OSError)
    assert isinstance(errors.error_for(errors.ERR_INVALID, "x"), ValueError)
    assert type(errors.error_for(-99, "x")) is wtfperf.WtfperfError
    assert wtfperf.check(wtfperf.OK) == 0 and wtfperf.check(wtfperf.MISS) == 1


def _import_in_subprocess(env_lib):
    env = dict(os.environ, WTFPERF_LIB=env_lib, PYTHONPATH=str(PKG_DIR))
    code = "import wtfperf"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_bad_wtfperf_lib_fails_clearly(tmp_path):
    r = _import_in_subprocess(str(tmp_path / "nope.so"))
    assert r.returncode != 0
    assert "LibraryError" in r.stderr and "WTFPERF_LIB" in r.stderr


def test_version_mismatch_is_refused(tmp_path):
    # A stand-in library that reports another version.
    src = tmp_path / "fake.c"
    src.write_text('const char *wtfperf_version(void) { return "9.9.0"; }\n')
    so = tmp_path / "libfake.so"
    cc = subprocess.run(["cc", "-shared", "-fPIC", "-o", str(so), str(src)], capture_output=True)
    if cc.returncode != 0:
        pytest.skip("no C compiler")
    r = _import_in_subprocess(str(so))
    assert r.returncode != 0
    assert "9.9.0" in r.stderr and "0.1" in r.stderr
