"README.md is generated from nbs/index.ipynb, and its Quickstart holds the two commands CI runs."
import os, re, subprocess, sys
from pathlib import Path
import pytest

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


def snippets() -> list[str]:
    "The python blocks of README.md, in order."
    return re.findall(r"```python\n(.+?)\n```", (ROOT / 'README.md').read_text(), flags=re.S)


def test_readme_has_snippets():
    assert len(snippets()) >= 4


@pytest.mark.parametrize('i', range(len(snippets())))
def test_readme_snippet_runs_alone(i, tmp_path):
    "Each python snippet of the README runs by itself in a fresh interpreter (its imports are all in it)."
    code = snippets()[i]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, f"README snippet {i + 1} fails on its own:\n{code}\n---\n{r.stderr[-3000:]}"


def test_layout_table_matches_the_imports():
    "The README's layout table names, for each module, exactly the cpmm modules it imports, and every module is in it."
    import re
    readme = (ROOT / 'README.md').read_text()
    table = readme[readme.index('## Layout'):readme.index('## Documentation')]
    rows = re.findall(r'^\| `cpmm\.(\w+)` \|.*\| ([^|]*) \|$', table, flags=re.M)
    said = {m: set() if deps.strip() == '—' else {d.strip() for d in deps.split(',')} for m, deps in rows}
    real = {p.stem: set(re.findall(r'^from \.(\w+) import', p.read_text(), flags=re.M))
            for p in (ROOT / 'cpmm').glob('*.py') if not p.stem.startswith('_')}
    assert said == real
    order = [m for m, _ in rows]
    assert all(order.index(d) < order.index(m) for m, deps in said.items() for d in deps)   # the flow is one way, top-down
