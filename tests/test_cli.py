"The `cpmm` command (cpmm.cli): error exits, a fit + eval round trip on a tiny CSV table, metrics.json (the notebook 12_cli holds the worked examples)."
import matplotlib
matplotlib.use('Agg')
import json, re, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
import torch
from cpmm.cli import main, parser
from cpmm.io import read_table
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
    assert (m['model']['C'], m['model']['G'], m['model']['R'], m['model']['epochs']) == (2, 25, 2, 1)   # rank 'auto': M - 1 = 2 here
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


def assert_error(code, err, *msgs):
    "Exit code 2, a one-line `cpmm: error: ...` holding each of msgs, no traceback."
    assert code == 2, (code, err)
    assert 'cpmm: error: ' in err and all(m in err for m in msgs), err
    assert 'Traceback' not in err, err


def _copy_model(out, tmp_path):
    import shutil
    return Path(shutil.copytree(out, tmp_path / 'model'))


@pytest.mark.parametrize('name, damage, msg', [
    ('param.safetensors', 'truncate', 'is damaged or truncated'),
    ('mixture.safetensors', 'truncate', 'is damaged or truncated'),
    ('config.json', 'garble', 'is not valid JSON'),
    ('preprocess.json', 'garble', 'is not valid JSON'),
    ('config.json', 'empty object', 'does not describe the saved model'),
    ('preprocess.json', 'empty object', 'names no data kind'),
])
def test_eval_damaged_model_names_the_file(fitted, table, tmp_path, capsys, name, damage, msg):
    model = _copy_model(fitted[1], tmp_path)
    f = model / name
    if damage == 'truncate': f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    elif damage == 'garble': f.write_text(f.read_text()[:-7])
    else: f.write_text('{}')
    code, _, err = run(['eval', str(model), str(table / 'x.csv')], capsys)
    assert_error(code, err, str(f), msg)


def test_eval_missing_ood_fails_before_scoring(fitted, table, capsys, monkeypatch):
    import cpmm.cli
    called = []
    monkeypatch.setattr(cpmm.cli, 'score', lambda *a, **k: called.append(1))
    code, out, err = run(['eval', str(fitted[1]), str(table / 'x.csv'), '--ood', 'nosuch.csv'], capsys)
    assert_error(code, err, 'No such file: nosuch.csv')
    assert not called and out == ''                                  # nothing scored or printed before the error


def test_rank_must_be_below_the_number_of_features(tmp_path, capsys, monkeypatch):
    import cpmm.cli
    monkeypatch.setattr(cpmm.cli.CPMM, 'fit', lambda *a, **k: pytest.fail('fit must not start'))
    np.save(tmp_path / 'four.npy', np.random.default_rng(0).normal(size=(50, 4)))
    code, _, err = run(['fit', str(tmp_path / 'four.npy'), '--rank', '10', '--out', str(tmp_path / 'm'), '--quiet'], capsys)
    assert_error(code, err, '--rank 10 is too large for 4 features', '0 <= R <= 3')
    code, _, err = run(['fit', str(tmp_path / 'four.npy'), '--rank', '4', '--out', str(tmp_path / 'm'), '--quiet'], capsys)
    assert_error(code, err, '--rank 4 is too large for 4 features')


def test_float32_overflow_names_the_file(tmp_path, capsys):
    (tmp_path / 'huge.csv').write_text('a,b\n1,2\n3,1e300\n4,5\n')
    code, _, err = run(['fit', str(tmp_path / 'huge.csv'), '--quiet'], capsys)
    assert_error(code, err, str(tmp_path / 'huge.csv'), '1e+300', 'float32')


def test_ctrl_c_is_one_line_and_exit_130(table, tmp_path, capsys, monkeypatch):
    "Ctrl-C (KeyboardInterrupt) during the fit: `cpmm: interrupted`, exit 130, no traceback; the phase lines came first."
    import cpmm.cli
    def interrupted(self, X, y=None): raise KeyboardInterrupt
    monkeypatch.setattr(cpmm.cli.CPMM, 'fit', interrupted)
    code, out, err = run(['fit', str(table / 'x.csv'), '--out', str(tmp_path / 'm'), '--n-clusters', '2'], capsys)
    assert code == 130 and 'cpmm: interrupted' in err and 'Traceback' not in err, err
    assert '--checkpoint' in err                                     # how to make it resumable
    lines = out.splitlines()                                         # what the command said before training started
    assert any(l.startswith('data: ') and '96 training / 24 test samples, M = 3 features' in l and '24 of the 120 rows held out' in l
               for l in lines), out
    assert any(l.startswith('model: CPMM, C = 2 clusters x G = 25 components, rank R = auto (chosen on held-out rows') and 'no curriculum' in l
               and 'up to 200 epochs' in l and 'early stopping after 10 epochs' in l for l in lines), out
    assert lines[-1].startswith('training: ')


def test_sigint_in_a_real_process(table, tmp_path):
    "A real SIGINT to `python -m cpmm.cli fit` while it trains: exit 130 and `cpmm: interrupted`, no traceback."
    import signal, time
    # the spiral (3,000 points, 'path' start, then training with early stopping) takes tens of seconds: long enough that
    # the signal lands while it trains (a small table can stop early, by itself, before the signal comes)
    # SIGINT back to its default in the child: a shell without job control starts background jobs (`pytest &`) with
    # SIGINT ignored, children inherit that, and Python then installs no KeyboardInterrupt handler at all
    p = subprocess.Popen([sys.executable, '-u', '-m', 'cpmm.cli', 'fit', 'spiral', '--out', str(tmp_path / 'm'),
                          '--epochs', '100000', '--cache', str(tmp_path / 'cache')],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    for line in p.stdout:
        seen.append(line)
        if line.startswith('training: '): break
    assert seen and seen[-1].startswith('training: '), ''.join(seen)   # the fit was still running when the signal came
    time.sleep(2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130 and 'cpmm: interrupted' in err and 'Traceback' not in err, err


def test_checkpoint_resumes(table, tmp_path, capsys):
    "`cpmm fit --checkpoint P` writes P (and its settings digest P.json); a second run with P continues from it."
    ck, base = tmp_path / 'ck.pt', ['fit', str(table / 'x.csv'), '--labels', str(table / 'y.csv'), '--init', 'kmeans']
    code, out, _ = run(base + ['--epochs', '1', '--out', str(tmp_path / 'a'), '--checkpoint', str(ck)], capsys)
    assert code == 0 and ck.is_file() and (tmp_path / 'ck.pt.json').is_file()
    assert f'checkpoint: {ck}, written every epoch' in out
    first = json.loads((tmp_path / 'a' / 'config.json').read_text())['history']
    code, out, _ = run(base + ['--epochs', '2', '--out', str(tmp_path / 'b'), '--checkpoint', str(ck)], capsys)
    assert code == 0 and f'checkpoint: {ck} exists: resuming from it' in out, out
    second = json.loads((tmp_path / 'b' / 'config.json').read_text())['history']
    assert len(first) == 1 and len(second) == 2 and second[0] == first[0]     # epoch 1 restored, not retrained
    code, _, err = run(base + ['--epochs', '2', '--n-components', '3', '--out', str(tmp_path / 'c'), '--checkpoint', str(ck)], capsys)
    assert_error(code, err, 'other settings')                                  # another configuration's checkpoint


def test_eval_scores_the_held_out_rows_of_the_fitted_table(fitted, table, tmp_path, capsys):
    _, out = fitted
    m = json.loads((out / 'metrics.json').read_text())
    code, stdout, _ = run(['eval', str(out), str(table / 'x.csv'), '--labels', str(table / 'y.csv')], capsys)
    assert code == 0 and 'the 24 rows of 120 held out by `cpmm fit`' in stdout, stdout
    assert f"NLL (nats/dim, lower is better): {m['test']['nats_per_dim']:.4f}" in stdout    # the numbers of fit's test set
    code, stdout, _ = run(['eval', str(out), str(table / 'x.csv'), '--split', 'train'], capsys)
    assert 'the 96 training rows of 120' in stdout and f"{m['train']['nats_per_dim']:.4f}" in stdout
    other = tmp_path / 'other.csv'
    other.write_text((table / 'x.csv').read_text().replace('a,b,c', 'a,b,d'))         # the same numbers, another file
    code, stdout, _ = run(['eval', str(out), str(other)], capsys)
    assert code == 0 and 'all 120 rows: not the table the model was fitted on' in stdout, stdout


def test_words(capsys):
    "--version; help that states the real defaults; no --progress (there is --quiet); the NLL's sign named."
    from cpmm import __version__
    code, out, _ = run(['--version'], capsys)
    assert code == 0 and out.strip() == f'cpmm {__version__}'
    code, h, _ = run(['fit', '--help'], capsys)                      # the help of `cpmm fit`, as printed
    assert code == 0
    h = ' '.join(h.split())
    assert 'opt-in, off by default' in h and '--no-curriculum' not in h
    assert f"the estimator's {CPMM().epochs}" in h and not re.search(r'default 20\b', h)
    assert f'default {CPMM().n_spaces}' in h and f'default {CPMM().teacher_seconds}' in h and 'no step limit' in h
    assert '--progress' not in h and '--quiet' in h
    with pytest.raises(SystemExit): parser().parse_args(['fit', 'x.csv', '--progress'])
    capsys.readouterr()


def test_fit_prints_the_nll_with_its_sign(table, tmp_path, capsys):
    code, out, _ = run(['fit', str(table / 'x.csv'), '--out', str(tmp_path / 'm'), '--epochs', '1', '--init', 'kmeans', '--quiet'], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith('train NLL (nats/dim, lower is better): ')
    assert out.splitlines()[1].startswith('test NLL (nats/dim, lower is better): ')


def drawn(monkeypatch):
    "Record, for every figure `cpmm fit` saves: file name -> (suptitle, [(title, xlabel, ylabel, legend texts) per axes])."
    from matplotlib.figure import Figure
    seen, save = {}, Figure.savefig
    def spy(fig, fname, *a, **k):
        sup = fig.get_suptitle()
        seen[Path(fname).name] = (sup, [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel(),
                                          [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else [])
                                         for ax in fig.axes])
        return save(fig, fname, *a, **k)
    monkeypatch.setattr(Figure, 'savefig', spy)
    return seen


def test_table_figures_use_the_column_names_and_principal_directions(table, tmp_path, capsys, monkeypatch):
    seen = drawn(monkeypatch)
    code, _, _ = run(['fit', str(table / 'x.csv'), '--out', str(tmp_path / 'm3'), '--epochs', '1', '--init', 'kmeans', '--quiet'], capsys)
    assert code == 0
    (title, xl, yl, legend), = seen['mixture.png'][1]
    assert re.fullmatch(r'PC 1 \(\d+% of variance\)', xl) and re.fullmatch(r'PC 2 \(\d+% of variance\)', yl)
    assert 'all 120 points of' in title and '(a, b, c)' in title and 'principal directions' in title
    assert any(t.startswith('cluster 0') for t in legend) and any('opacity by weight' in t for t in legend)
    sup, axes = seen['samples.png']
    assert 'predicted cluster' in sup and 'the cluster that drew them' in sup and axes[0][1] == xl
    g = np.random.default_rng(0)                                   # two columns: the table's own names and units
    X = np.concatenate([g.normal((0, 100), (1, 10), (60, 2)), g.normal((5, 300), (1, 10), (60, 2))])
    np.savetxt(tmp_path / 'hw.csv', X, delimiter=',', header='height_cm,weight_g', comments='')
    seen.clear()
    code, _, _ = run(['fit', str(tmp_path / 'hw.csv'), '--out', str(tmp_path / 'm2'), '--epochs', '1', '--init', 'kmeans',
                      '--n-clusters', '2', '--quiet'], capsys)
    assert code == 0
    (title, xl, yl, _), = seen['mixture.png'][1]
    assert (xl, yl) == ('height_cm', 'weight_g')


def test_curriculum_fit_records_the_teacher(table, tmp_path, capsys):
    "With --curriculum, metrics.json says how good the teacher was (its latent moments against N(0, I)), and the phases are announced."
    code, out, _ = run(['fit', str(table / 'x.csv'), '--out', str(tmp_path / 'm'), '--curriculum', '--teacher-steps', '60',
                        '--n-spaces', '3', '--epochs', '1', '--init', 'kmeans', '--cache', str(tmp_path / 'cache')], capsys)
    assert code == 0
    t = json.loads((tmp_path / 'm' / 'metrics.json').read_text())['teacher']
    assert t['steps'] == 60 and set(t['latent']) >= {'mean_error', 'cov_error', 'mean', 'cov'}
    assert 0 <= t['latent']['mean_error'] < 5 and np.isfinite(t['valid_nll'])
    assert 'fitting the teacher flow' in out and "the teacher's latent space: mean off N(0, I)" in out
