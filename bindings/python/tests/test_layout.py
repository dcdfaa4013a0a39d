"""Every ctypes Structure matches include/wtfperf.h exactly: size, and the
offset of every field, as a C compiler sees them (options structs are
returned by value, so a shorter declaration would corrupt memory)."""

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest

from wtfperf import _native, benchmarks, cache, profiler, scanner

HEADER = Path(__file__).resolve().parents[3] / "include" / "wtfperf.h"


def structures():
    for mod in (_native, profiler, cache, scanner, benchmarks):
        for name, obj in vars(mod).items():
            if isinstance(obj, type) and issubclass(obj, ctypes.Structure) and name.startswith("wtfperf_"):
                yield name, obj


def test_structs_match_the_header(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not HEADER.is_file() or cc is None:
        pytest.skip("needs the repository's header and a C compiler")
    header = HEADER.read_text()
    structs = {n: st for n, st in structures() if f"typedef struct {n} {{" in header}
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "wtfperf.h"', "int main(void) {"]
    for name, st in structs.items():
        lines.append(f'printf("{name} %zu\\n", sizeof(struct {name}));')
        for field, _ in st._fields_:
            lines.append(f'printf("{name}.{field} %zu\\n", offsetof(struct {name}, {field}));')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    build = subprocess.run([cc, "-std=c11", f"-I{HEADER.parent}", "-o", str(exe), str(src)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    c_side = dict(line.split() for line in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines())
    py_side = {}
    for name, st in structs.items():
        py_side[name] = str(ctypes.sizeof(st))
        for field, _ in st._fields_:
            py_side[f"{name}.{field}"] = str(getattr(st, field).offset)
    assert py_side == c_side
    # Every struct of the header that a binding passes by value or pointer is declared.
    for name in ("wtfperf_profiler_options", "wtfperf_sample", "wtfperf_cache_options", "wtfperf_entry_options",
                 "wtfperf_cache_statistics", "wtfperf_scan_options", "wtfperf_file", "wtfperf_progress",
                 "wtfperf_scan_callbacks", "wtfperf_scan_summary", "wtfperf_analyze_callbacks", "wtfperf_buf",
                 "wtfperf_bench_options"):
        assert f"typedef struct {name} {{" in header
        assert name in structs


def test_structs_have_no_trailing_fields_missing():
    """The last field of each struct in the header is the last one declared here."""
    if not HEADER.is_file():
        pytest.skip("needs the repository's header")
    import re

    header = HEADER.read_text()
    for name, st in structures():
        m = re.search(r"typedef struct %s \{(.*?)\} %s;" % (name, name), header, re.S)
        if m is None:
            continue
        body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
        fields = re.findall(r"(\w+)(?:\[\d+\])?;", body)
        assert fields == [f for f, _ in st._fields_], name


def test_installed_package_finds_the_library_by_env_or_loader_path(tmp_path):
    """A copy of the package outside the checkout (as pip installs it): no
    build-tree fallback; WTFPERF_LIB or the loader's path finds the library,
    and without either the error says how to point it there."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import wtfperf

    site = tmp_path / "site-packages"
    for pkg in ("wtfperf", "wtf_codebot"):
        shutil.copytree(Path(wtfperf.__file__).parents[1] / pkg, site / pkg)
    lib = Path(wtfperf.LIB_PATH).resolve()
    code = "import wtfperf; print(wtfperf.LIB_PATH)"

    def run(**extra):
        env = {k: v for k, v in os.environ.items() if k not in ("WTFPERF_LIB", "LD_LIBRARY_PATH", "PYTHONPATH")}
        env.update(PYTHONPATH=str(site), **extra)
        return subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=env,
                              capture_output=True, text=True, timeout=60)

    p = run(WTFPERF_LIB=str(lib))
    assert p.returncode == 0 and p.stdout.strip() == str(lib), p.stderr
    p = run(LD_LIBRARY_PATH=str(lib.parent))
    assert p.returncode == 0 and p.stdout.strip() == "libwtfperf.so", p.stderr
    if subprocess.run(["sh", "-c", "ldconfig -p 2>/dev/null | grep -q libwtfperf"]).returncode == 0:
        return  # installed system-wide: the failure case cannot be shown here
    p = run()
    assert p.returncode != 0
    assert "WTFPERF_LIB" in p.stderr and "LD_LIBRARY_PATH" in p.stderr
