import sys
from pathlib import Path

import pytest

# Run against the sources of this checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: The small tree the scan and analyze tests use: relative path -> content.
TREE = {
    "src/app.py": "import os\n\ndef main():\n    return os.getcwd()  # TODO tidy\n",
    "src/util.py": "def helper(x):\n    return x * 2\n",
    "src/pkg/__init__.py": "",
    "web/index.js": "function hello() { return 'hi'; } // TODO\n",
    "web/style.css": "body { color: red; }\n",
    "README.md": "# demo\n",
}


def make_tree(root: Path, files=TREE) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path / "project")



@pytest.fixture(scope="session")
def big_tree(tmp_path_factory):
    """A generated 20000-file tree: a scan of it is still running a fraction
    of a second after it started (the SIGINT and exit tests need that)."""
    import wtfperf.benchmarks

    root = tmp_path_factory.mktemp("big") / "tree"
    wtfperf.benchmarks.generate_project(root, 20000)
    return root
