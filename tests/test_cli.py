"The `cpmm` command (cpmm.cli): error exits, a fit + eval round trip on a tiny CSV table, metrics.json (the notebook 12_cli holds the worked examples)."
import matplotlib
matplotlib.use('Agg')
import json, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
import torch
from cpmm.cli import main, parser, read_table
from cpmm.model import CPMM, load_mixture


def run(argv, capsys):
    "Exit code, stdout and stderr of `main(argv)`."
    try: code = main(argv)
    except SystemExit as e: code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope='module')
def table(tmp_path_factory):
    "A CSV table (with a header) of two well separated blobs in 3 dims, its labels, and a shifted copy for OOD."
    d = tmp_path_factory.mktemp('cli')
    g = np.random.default_rng(0)
    X = np.concatenate([g.normal(0, 1, (60, 3)), g.normal(6, 1, (60, 3))])
    y = np.repeat([0, 1], 60)
    np.savetxt(d / 'x.csv', X, delimiter=',', header='a,b,c', comments='')
    np.savetxt(d / 'y.csv', y, fmt='%d')
    np.save(d / 'far.npy', X + 30)
    return d


@pytest.fixture(scope='module')
def fitted(table):
    "One fit of the table (no curriculum, one epoch), shared by the tests that read its output."
    code = main(['fit', str(table / 'x.csv'), '--out', str(table / 'model'), '--labels', str(table / 'y.csv'),
                 '--init', 'kmeans', '--epochs', '1', '--quiet', '--cache', str(table / 'cache')])
    return code, table / 'model'


@pytest.mark.parametrize('argv, msg', [
    (['fit', 'spiral', '--epochs', 'two'], "argument --epochs: invalid int value: 'two'"),
    (['fit', 'spiral', '--bogus'], 'unrecognized arguments: --bogus'),
    (['fit', 'spirals'], "Unknown data set 'spirals'"),
    (['fit', 'missing.csv'], 'No such file: missing.csv'),
    (['fit', 'x.txt'], "Unknown data set 'x.txt'"),
    (['fit', 'spiral', '--device', 'tpu'], "invalid choice: 'tpu'"),
    (['fit', 'spiral', '--n-spaces', '1'], '--n-spaces must be at least 2, got 1'),
    (['fit', 'spiral', '--init', 'pca'], "invalid choice: 'pca'"),
    (['fit', 'moons', '--labels', 'y.csv'], '--labels is for tables'),
    (['eval', 'no-such-model', 'spiral'], 'No model folder no-such-model'),
    ([], 'choose a command'),
])
def test_errors_exit_2_with_a_message(argv, msg, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(argv, capsys)
    assert code == 2
    assert 'cpmm: error: ' in err and msg in err, err
    assert 'Traceback' not in err


def test_bad_files(tmp_path, capsys):
    (tmp_path / 'bad.csv').write_text('1,2\nfoo,bar\n')
    (tmp_path / 'bad.npy').write_bytes(b'not numpy')
    (tmp_path / 'nan.csv').write_text('1,2\nnan,3\n')
    for name, msg in (('bad.csv', 'not a comma-separated table'), ('bad.npy', 'not a readable .npy'), ('nan.csv', 'NaN')):
        code, _, err = run(['fit', str(tmp_path / name), '--quiet'], capsys)
        assert code == 2 and msg in err, err


def test_parser_flags():
    a = parser().parse_args(['fit', 'x.csv', '--quiet', '--n-clusters', '3', '--test-fraction', '0.5'])
    assert (a.data, a.curriculum, a.progress, a.n_clusters, a.test_fraction, a.epochs) == ('x.csv', False, False, 3, 0.5, None)
    assert parser().parse_args(['fit', 'x.csv', '--curriculum']).curriculum is True        # opt-in
    a = parser().parse_args(['demo', '--out', 'd', '--device', 'cpu'])
    assert (a.out, a.progress, a.seed) == ('d', True, 0)


def test_fit_writes_model_and_metrics(fitted, capsys):
    code, out = fitted
    assert code == 0
    files = {p.name for p in out.iterdir()}
    assert {'config.json', 'param.safetensors', 'mixture.safetensors', 'preprocess.json', 'metrics.json',
            'mixture.png', 'samples.png'} <= files
    m = json.loads((out / 'metrics.json').read_text())
    assert (m['kind'], m['n_dims'], m['train']['n'], m['test']['n']) == ('table', 3, 96, 24)
    assert (m['model']['C'], m['model']['G'], m['model']['R'], m['model']['epochs']) == (2, 25, 1, 1)
    assert m['settings']['curriculum'] is False and m['settings']['estimator']['n_clusters'] == 2
    for split in ('train', 'test'):
        assert np.isfinite(m[split]['nats_per_dim']) and 0 <= m[split]['cluster_accuracy'] <= 1
    assert m['test']['cluster_accuracy'] > 0.9                      # two blobs 6 stds apart
    assert all(m['seconds'][k] >= 0 for k in ('load', 'fit', 'evaluate', 'total'))
    assert set(m['figures']) == {'mixture.png', 'samples.png'} and 'metrics.json' in m['files']


def test_metrics_agree_with_the_saved_model(fitted, table):
    "The test nats/dim of metrics.json is the saved mixture's NLL of the standardized test rows, plus the log-det."
    _, out = fitted
    m, prep = json.loads((out / 'metrics.json').read_text()), json.loads((out / 'preprocess.json').read_text())
    X = read_table(table / 'x.csv')
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(0)).numpy()   # the split of `cpmm fit --seed 0`
    Xte = X[perm[:24]]
    mean, std = np.array(prep['mean']), np.array(prep['std'])
    np.testing.assert_allclose(mean, X[perm[24:]].mean(0), rtol=1e-6)
    lp = load_mixture(out / 'mixture.safetensors').log_prob(torch.tensor((Xte - mean) / std, dtype=torch.float32)).double().numpy()
    assert abs(-(lp - np.log(std).sum()).mean() / 3 - m['test']['nats_per_dim']) < 1e-5
    est = CPMM.load(out)
    np.testing.assert_allclose(est.score_samples(torch.tensor((Xte - mean) / std, dtype=torch.float32)), lp, rtol=1e-5)


def test_eval_round_trip_with_ood(fitted, table, capsys):
    _, out = fitted
    code, stdout, _ = run(['eval', str(out), str(table / 'x.csv'), '--labels', str(table / 'y.csv'),
                           '--ood', str(table / 'far.npy')], capsys)
    assert code == 0
    assert 'nats/dim' in stdout and 'cluster accuracy' in stdout and 'AUROC 1.0000' in stdout, stdout
    code, _, err = run(['eval', str(out), 'spiral'], capsys)           # 2 columns for a 3-column model
    assert code == 2 and 'has 2 columns but the model was fitted on 3' in err


def test_python_dash_m(tmp_path):
    "`python -m cpmm.cli` runs main and exits with its code."
    r = subprocess.run([sys.executable, '-m', 'cpmm.cli', 'fit', 'nowhere.csv'], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and 'cpmm: error: No such file: nowhere.csv' in r.stderr
