"""The README's example runs as written (in a small project directory)."""

import re
from pathlib import Path

from conftest import TREE, make_tree

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has a python example"
    project = make_tree(tmp_path / "project")
    monkeypatch.chdir(project)
    exec(compile(blocks[0], "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"cold: {len(TREE)} files, 1 TODOs, 0 from cache")
    assert out[1].startswith(f"warm: {len(TREE)} files, 1 TODOs, 3 from cache")
    assert "'avg'" in out[2]
