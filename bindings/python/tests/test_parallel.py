"""ParallelAnalyzer: cache identity of analyzers, codebases, error isolation."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import wtfperf
from wtfperf import CacheManager, ParallelAnalyzer, ParallelScanner
from conftest import TREE


def make(word):
    def finder(node):
        return [n for n, line in enumerate(node.content.splitlines(), 1) if word in line]

    return finder


class Finder:
    def __init__(self, word):
        self.word = word

    def analyze_file(self, node):
        return [n for n, line in enumerate(node.content.splitlines(), 1) if self.word in line]


class SlotFinder:
    __slots__ = ("word",)

    def __init__(self, word):
        self.word = word

    def __call__(self, node):
        return [self.word] if self.word in node.content else []


def test_closures_of_a_factory_do_not_share_cached_results(tmp_path, tree):
    (tree / "src" / "fix.py").write_text("x = 1  # FIXME\n")
    with CacheManager(tmp_path / "c") as cache:
        pa = ParallelAnalyzer(1, cache=cache)
        todo = pa.analyze_codebase_parallel(tree, {"python": make("TODO")})["python"]
        fixme = pa.analyze_codebase_parallel(tree, {"python": make("FIXME")})["python"]
        assert todo.file_results["src/app.py"]["findings"] == [4]
        assert fixme.files_cached == 0
        assert fixme.file_results["src/app.py"]["findings"] == []
        assert fixme.file_results["src/fix.py"]["findings"] == [1]
        again = pa.analyze_codebase_parallel(tree, {"python": make("TODO")})["python"]
        assert again.files_cached == again.files_analyzed > 0 and again.findings == todo.findings


@pytest.mark.parametrize("cls", [Finder, SlotFinder])
def test_configured_instances_have_their_own_ids(cls):
    pa = ParallelAnalyzer(1)
    a, b, a2 = cls("TODO"), cls("FIXME"), cls("TODO")
    assert pa.analyzer_id({"python": a}) != pa.analyzer_id({"python": b})
    assert pa.analyzer_id({"python": a}) == pa.analyzer_id({"python": a2})


def test_edited_function_gets_another_id():
    ns1, ns2 = {}, {}
    exec("def f(node):\n    return ['a']\n", ns1)
    exec("def f(node):\n    return ['b']\n", ns2)
    pa = ParallelAnalyzer(1)
    assert pa.analyzer_id({"*": ns1["f"]}) != pa.analyzer_id({"*": ns2["f"]})


def test_same_analyzer_hits_in_a_second_process(tmp_path, tree):
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from wtfperf import CacheManager, ParallelAnalyzer
        from test_parallel import Finder, make
        with CacheManager({str(tmp_path / "c")!r}) as cache:
            r = ParallelAnalyzer(1, cache=cache).analyze_codebase_parallel(
                {str(tree)!r}, {{"python": make("TODO"), "*": Finder("TODO")}})
            print(r["python"].files_cached, r["*"].files_cached, r["*"].files_analyzed)
        """
    )
    env = dict(os.environ, WTFPERF_LIB=wtfperf.LIB_PATH,
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    outs = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        for _ in range(2)
    ]
    for p in outs:
        assert p.returncode == 0, p.stderr
    assert outs[0].stdout.split()[:2] == ["0", "0"]
    n = str(len(TREE))
    assert outs[1].stdout.split() == ["3", n, n]


SEEN = []  # a global, not a closure cell: it is no part of the analyzer's identity


def todo(node):
    SEEN.append(node.relative_path)
    return [node.relative_path] if "TODO" in node.content else []


def test_a_codebase_is_analyzed_for_its_files_only(tree, tmp_path):
    codebase = ParallelScanner(1).scan_directory_parallel(tree)
    (tree / "src" / "late.py").write_text("# TODO added after the scan\n")  # not in the codebase
    del codebase.files["web/index.js"]  # taken out of it
    SEEN.clear()
    with CacheManager(tmp_path / "c") as cache:
        for _ in range(2):  # fresh, then from the cache
            r = ParallelAnalyzer(1, cache=cache).analyze_codebase_parallel(codebase, {"*": todo})["*"]
            assert sorted(r.file_results) == sorted(codebase.files)
            assert r.findings == ["src/app.py"] and r.errors == []
    assert sorted(SEEN) == sorted(codebase.files)
    # The files left out were not cached: given the directory, they are analyzed.
    r = ParallelAnalyzer(1).analyze_codebase_parallel(tree, {"*": todo})["*"]
    assert sorted(r.findings) == ["src/app.py", "src/late.py", "web/index.js"]


class Flaky:
    """Fails on one file; finds TODOs elsewhere."""

    def analyze_file(self, node):
        if node.relative_path == "src/util.py":
            raise ValueError("cannot parse util")
        return [node.relative_path] if "TODO" in node.content else []


def skipper(node):
    if node.relative_path == "web/index.js":
        raise wtfperf.SkipFile("generated file")
    return []


def test_analyzer_errors_are_isolated_to_their_file(tree, tmp_path, caplog):
    import logging

    caplog.set_level(logging.WARNING, logger="wtf_codebot.performance.parallel")
    with CacheManager(tmp_path / "c") as cache:
        pa = ParallelAnalyzer(1, cache=cache)
        for run in range(2):
            res = pa.analyze_codebase_parallel(tree, {"*": Flaky(), "all": skipper})
            r = res["*"]
            assert sorted(r.findings) == ["src/app.py", "web/index.js"]  # the run went on
            msgs = sorted(e.message for e in r.errors)
            assert msgs == ["*: ValueError: cannot parse util", "all: generated file"], msgs
            assert all(e.status == wtfperf.ERR_CALLBACK for e in r.errors)
            assert {Path(e.path).name for e in r.errors} == {"util.py", "index.js"}
            # The failed files were not cached (analyzed again in the second run)...
            assert r.files_cached == (len(TREE) - 2 if run else 0)
            # ...and the other analyzer's results for them are kept.
            assert "src/util.py" in res["all"].file_results
            assert "web/index.js" in r.file_results
    logged = [rec.getMessage() for rec in caplog.records if rec.levelname == "WARNING"]
    assert any("cannot parse util" in m for m in logged) and any("generated file" in m for m in logged)


def test_low_level_analyze_keeps_skipfile_message_and_reraises(tree):
    def skip(f):
        if f.rel_path == "web/index.js":
            raise wtfperf.SkipFile("generated file")
        return b""

    def fail(f):
        if f.rel_path == "src/util.py":
            raise ValueError("cannot parse util")
        return b""

    errors = []
    wtfperf.analyze(tree, skip, analyzer_id="t", on_error=errors.append)
    assert [e.message for e in errors] == ["generated file"]
    with pytest.raises(ValueError, match="cannot parse util"):
        wtfperf.analyze(tree, fail, analyzer_id="t")


class Opaque:
    """Neither a dataclass nor to_dict(): not JSON-able."""


def test_a_result_that_is_not_json_able_fails_only_its_file(tree, tmp_path, caplog):
    import logging

    def opaque_in_util(node):
        return [Opaque()] if node.relative_path == "src/util.py" else [node.relative_path]

    caplog.set_level(logging.WARNING, logger="wtf_codebot.performance.parallel")
    with CacheManager(tmp_path / "c") as cache:
        pa = ParallelAnalyzer(1, cache=cache)
        for run in range(2):
            res = pa.analyze_codebase_parallel(tree, {"*": opaque_in_util, "all": lambda n: [1]})
            r = res["*"]
            assert sorted(r.findings) == sorted(p for p in TREE if p != "src/util.py")
            assert [e.message for e in r.errors] == ["*: TypeError: values must be JSON-able; got Opaque"]
            assert r.errors[0].status == wtfperf.ERR_CALLBACK and r.errors[0].path.endswith("util.py")
            assert r.files_cached == (len(TREE) - 1 if run else 0)  # the failed file is not cached
            assert res["all"].file_results["src/util.py"] == {"findings": [1], "metrics": []}
    assert any("values must be JSON-able" in rec.getMessage() for rec in caplog.records)


def test_encoding_error_has_no_chained_retry_traceback():
    from wtfperf import _json

    with pytest.raises(TypeError, match="got Opaque") as info:
        _json.dumps({"findings": [Opaque()]})
    assert info.value.__context__ is None and info.value.__cause__ is None
    # Keys JSON does not take are still converted (the retry).
    assert _json.loads(_json.dumps({(1, 2): Path("a")})) == {"(1, 2)": "a"}


# The identity covers the source files of the modules that define an analyzer
# (a function's module; an object's class and its bases): edits to globals,
# helper functions or other methods there give fresh results. Each run is a
# fresh process, as when a user edits their rules between two runs.

FN_RULES = '''
SEVERITY = "low"


def label():
    return "v1"


def check(node):
    return [label() + "/" + SEVERITY]
'''

RULE_BASE = '''
class Base:
    def _prefix(self):
        return "base1"
'''

CLASS_RULES = '''
from rule_base import Base


class Rule(Base):
    def analyze_file(self, node):
        return [self._prefix() + "/" + self._rule()]

    def _rule(self):
        return "v1"
'''

RUN_RULES = """
import json, sys
sys.path.insert(0, {mods!r})
from wtfperf import CacheManager, ParallelAnalyzer
import class_rules, fn_rules
with CacheManager({cache!r}) as cache:
    res = ParallelAnalyzer(1, cache=cache).analyze_codebase_parallel({tree!r}, {analyzers})
print(json.dumps({{k: [sorted(set(r.findings)), r.files_cached, r.files_analyzed] for k, r in res.items()}}))
"""


def write_rules(mods: Path) -> Path:
    mods.mkdir(exist_ok=True)
    for name, text in (("fn_rules", FN_RULES), ("rule_base", RULE_BASE), ("class_rules", CLASS_RULES)):
        (mods / f"{name}.py").write_text(text)
    return mods


def run_rules(tmp_path, tree, analyzers):
    """One run in a fresh process: {name: [findings, files_cached, files_analyzed]}."""
    code = RUN_RULES.format(mods=str(tmp_path / "mods"), cache=str(tmp_path / "c"), tree=str(tree),
                            analyzers=analyzers)
    # No .pyc: a same-size edit within the second would otherwise load the old code.
    env = dict(os.environ, WTFPERF_LIB=wtfperf.LIB_PATH, PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    "old, new, want",
    [('SEVERITY = "low"', 'SEVERITY = "high"', "v1/high"), ('return "v1"', 'return "v2"', "v2/low")],
    ids=["module-global", "helper-function"],
)
def test_editing_the_module_of_a_function_analyzer_gives_fresh_results(tmp_path, tree, old, new, want):
    mods = write_rules(tmp_path / "mods")
    n = len(TREE)
    assert run_rules(tmp_path, tree, '{"*": fn_rules.check}') == {"*": [["v1/low"], 0, n]}
    edit(mods / "fn_rules.py", old, new)
    assert run_rules(tmp_path, tree, '{"*": fn_rules.check}') == {"*": [[want], 0, n]}


@pytest.mark.parametrize(
    "module, old, new, want",
    [("class_rules", 'return "v1"', 'return "v2"', "base1/v2"),
     ("rule_base", 'return "base1"', 'return "base2"', "base2/v1")],
    ids=["helper-method", "base-class-in-another-module"],
)
def test_editing_the_module_of_a_class_analyzer_gives_fresh_results(tmp_path, tree, module, old, new, want):
    mods = write_rules(tmp_path / "mods")
    n = len(TREE)
    assert run_rules(tmp_path, tree, '{"*": class_rules.Rule()}') == {"*": [["base1/v1"], 0, n]}
    edit(mods / f"{module}.py", old, new)
    assert run_rules(tmp_path, tree, '{"*": class_rules.Rule()}') == {"*": [[want], 0, n]}


def test_unedited_analyzer_modules_are_fully_cached_in_a_fresh_process(tmp_path, tree):
    mods = write_rules(tmp_path / "mods")
    n = len(TREE)
    analyzers = '{"*": fn_rules.check, "all": class_rules.Rule()}'
    assert run_rules(tmp_path, tree, analyzers) == {"*": [["v1/low"], 0, n], "all": [["base1/v1"], 0, n]}
    for p in mods.iterdir():  # touched, not changed: the identity is the content
        os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 5_000_000_000))
    assert run_rules(tmp_path, tree, analyzers) == {"*": [["v1/low"], n, n], "all": [["base1/v1"], n, n]}


def test_identity_follows_the_loaded_module_not_later_edits(tmp_path, monkeypatch):
    import importlib

    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    src = tmp_path / "wtfperf_reload_rules.py"
    src.write_text('WORD = "TODO"\n\ndef find(node):\n    return [WORD]\n')
    importlib.invalidate_caches()
    try:
        mod = importlib.import_module("wtfperf_reload_rules")
        pa = ParallelAnalyzer(1)
        before = pa.analyzer_id({"*": mod.find})
        src.write_text('WORD = "FIXME!"\n\ndef find(node):\n    return [WORD]\n')
        # Not reloaded: the process still runs the code it loaded, under its identity.
        assert pa.analyzer_id({"*": mod.find}) == before
        importlib.reload(mod)
        assert mod.WORD == "FIXME!"
        assert pa.analyzer_id({"*": mod.find}) != before
    finally:
        sys.modules.pop("wtfperf_reload_rules", None)
