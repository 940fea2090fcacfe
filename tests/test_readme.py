"README.md is generated from nbs/index.ipynb, and its Quickstart holds the two commands CI runs."
import re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
from make_readme import render


def test_readme_in_step_with_index():
    assert (ROOT / 'README.md').read_text() == render(), "run python tools/make_readme.py"


def test_quickstart_commands():
    text = (ROOT / 'README.md').read_text()
    for tag in ('quickstart-main', 'quickstart-test'):
        m = re.search(rf"<!-- {tag} -->\n```sh\n(.+?)\n```", text)
        assert m and m.group(1).startswith('pip install -e '), tag
