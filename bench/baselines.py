"""The paper's GMM clustering baselines (`cpmm.baselines`) on the toys, and optionally on images, beside scikit-learn.

    python bench/baselines.py [--n 3000] [--n-test 3000] [--seeds 0] [--only broken_circles,spiral]
    python bench/baselines.py --images [--dataset mnist|fashion|both] [--train-size N] [--test-size N]

Writes bench/results/baselines.{json,md} (the toys) or bench/results/baselines_images.{json,md} (`--images`);
`--out PREFIX` writes elsewhere. Everything runs on one thread by default (`--threads`).

Rows, per data set and seed (C = the number of classes):
  - scikit-learn `GaussianMixture(C, 'full', n_init=5)`, untuned (`bench/panel.py` tunes `reg_covar`);
  - `MatchedGMM(C)` with diagonal and with full covariances (one Gaussian per cluster);
  - `SpectralGMM(C)`: 25·C Gaussians (the paper's C·G; 250 for ten image classes), grouped into C clusters by
    spectral clustering on their Fréchet distances, with the default local scale and with the global median.
Toys: test NLL in nats per dimension (`cpmm.metrics.nats_per_dim`; lower is better) and cluster accuracy
(Hungarian; spiral outliers, label -1, left out). The toys and their C are `cpmm.toys.TOYS`'s; training sets use
seed s, test sets seed s + 100.
Images (`--images`, diagonal covariances only): bits per dimension in pixel space (`cpmm.metrics.bpd`, data from
`bench/common.py`'s `load_images`: dequantize, logit with alpha) and cluster accuracy.
The third baseline of the paper, "GMM w/ Curr.", is `CPMM(parameterization='direct', curriculum='teacher').fit(X)`.
"""
import argparse, json, os, time
from pathlib import Path
import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from cpmm.baselines import MatchedGMM, SpectralGMM
from cpmm.metrics import bpd, cluster_accuracy, nats_per_dim
from cpmm.toys import TOYS

RESULTS = Path(__file__).parent / 'results'
TOY_NAMES = ('broken_circles', 'spiral')   # the default toys; any of cpmm.toys.TOYS with --only


def toy_models(C, seed):
    return [(f"sklearn GaussianMixture({C}, 'full', n_init=5)", GaussianMixture(C, covariance_type='full', n_init=5, random_state=seed)),
            (f"MatchedGMM({C}, 'diag')", MatchedGMM(C, 'diag', random_state=seed)),
            (f"MatchedGMM({C}, 'full')", MatchedGMM(C, 'full', random_state=seed)),
            (f"SpectralGMM({C}) diag, {25 * C} comps, local scale", SpectralGMM(C, random_state=seed)),
            (f"SpectralGMM({C}) diag, {25 * C} comps, median scale", SpectralGMM(C, n_neighbors=None, random_state=seed)),
            (f"SpectralGMM({C}) full, {25 * C} comps, local scale", SpectralGMM(C, covariance_type='full', random_state=seed))]


def run_toy(name, n, n_test, seed):
    gen, C = TOYS[name].make, TOYS[name].n_clusters
    X, _ = gen(n, seed=seed)
    Xt, yt = gen(n_test, seed=seed + 100)
    X, Xt = X.numpy().astype(np.float64), Xt.numpy().astype(np.float64)
    rows = []
    for label, est in toy_models(C, seed):
        t = time.perf_counter(); est.fit(X); dt = time.perf_counter() - t
        rows.append((name, seed, label, nats_per_dim(est.score_samples(Xt), X.shape[1]), cluster_accuracy(yt, est.predict(Xt)), dt))
        print(f"  {name} seed {seed}: {label} done ({dt:.1f} s)", flush=True)
    return rows


def run_images(a):
    try: from common import load_images           # bench/common.py (on the main branch)
    except ImportError: raise SystemExit("--images needs bench/common.py (load_images), which this checkout lacks.")
    rows = []
    for ds in (['mnist', 'fashion'] if a.dataset == 'both' else [a.dataset]):
        data, desc = load_images(ds, a.train_size, a.test_size, a.alpha, a.seeds[0])
        print(f"{ds}: {desc}", flush=True)
        (Xtr, _, _), (Xte, ldte, yte) = data['train'], data['test']
        Xtr, Xte, M = Xtr.double().numpy(), Xte.double().numpy(), Xtr.shape[1]
        for label, est in [("sklearn GaussianMixture(10, 'diag')", GaussianMixture(10, covariance_type='diag', random_state=a.seeds[0])),
                           ("MatchedGMM(10, 'diag')", MatchedGMM(10, 'diag', random_state=a.seeds[0])),
                           ("SpectralGMM(10, 250) diag, local scale", SpectralGMM(10, 250, random_state=a.seeds[0])),
                           ("SpectralGMM(10, 250) diag, median scale", SpectralGMM(10, 250, n_neighbors=None, random_state=a.seeds[0]))]:
            t = time.perf_counter(); est.fit(Xtr); dt = time.perf_counter() - t
            rows.append((ds, a.seeds[0], label, bpd(est.score_samples(Xte), ldte, M), cluster_accuracy(yte, est.predict(Xte)), dt))
            print(f"  {ds}: {label}: bpd {rows[-1][3]:.3f} acc {rows[-1][4]:.3f} ({dt:.0f} s)", flush=True)
    return rows


def table(rows, unit) -> str:
    "The rows as a markdown table."
    out = [f"| data | seed | model | {unit} | cluster acc | fit s |", "|---|---|---|---|---|---|"]
    return '\n'.join(out + [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.1f} |" for r in rows])


def save(rows, unit, a, load, out):
    "Write the rows (JSON, with the run's settings) and the table (markdown) to `out`.{json,md}; return the table."
    meta = dict(args={k: v for k, v in vars(a).items() if k != 'out'}, threads=torch.get_num_threads(), load_average_start=load,
                torch=torch.__version__)
    out.parent.mkdir(parents=True, exist_ok=True)
    keys = ('data', 'seed', 'model', unit, 'cluster_acc', 'seconds')
    out.with_suffix('.json').write_text(json.dumps(dict(meta=meta, rows=[dict(zip(keys, r)) for r in rows]), indent=1, default=float))
    head = (f"{'Toys: test NLL in nats per dim (lower is better)' if unit == 'nats/dim' else 'Images: bits per dim in pixel space'}, "
            f"cluster accuracy (Hungarian); {meta['threads']} thread(s), load {load:.2f} at the start.")
    md = head + '\n\n' + table(rows, unit) + '\n'
    out.with_suffix('.md').write_text(md)
    return md


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, default=3000)
    p.add_argument('--n-test', type=int, default=3000)
    p.add_argument('--seeds', default='0', help='comma-separated training seeds')
    p.add_argument('--only', default=','.join(TOY_NAMES), help=f"comma-separated toys of cpmm.toys.TOYS: {', '.join(TOYS)}")
    p.add_argument('--images', action='store_true', help='run the image baselines instead of the toys')
    p.add_argument('--dataset', choices=['mnist', 'fashion', 'both'], default='both')
    p.add_argument('--train-size', type=int, default=None)
    p.add_argument('--test-size', type=int, default=None)
    p.add_argument('--alpha', type=float, default=1e-6)
    p.add_argument('--threads', type=int, default=1, help='torch threads')
    p.add_argument('--out', default=None, help='results prefix (.json, .md); default bench/results/baselines[_images]')
    a = p.parse_args()
    a.seeds = [int(s) for s in a.seeds.split(',')]
    torch.set_num_threads(a.threads)
    load, t0 = os.getloadavg()[0], time.perf_counter()
    out = Path(a.out) if a.out else RESULTS / ('baselines_images' if a.images else 'baselines')
    if a.images: rows, unit = run_images(a), 'bpd'
    else: rows, unit = [r for name in a.only.split(',') for s in a.seeds for r in run_toy(name, a.n, a.n_test, s)], 'nats/dim'
    print('\n' + save(rows, unit, a, load, out) + f"\ntotal {time.perf_counter() - t0:.0f} s; written to {out}.{{json,md}}")
