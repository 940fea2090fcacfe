"""The CPMM on the 2-D toys, beside its baselines from the same run (issue 3).

    python bench/toys.py [--n 3000] [--n-test 3000] [--seeds 0] [--only spiral,broken_circles,moons]

For each toy: the unsupervised CPMM (`CPMM(C, 25, rank=1)`, default settings), the direct MFA with the
same C*G components trained by the same loop (`parameterization='direct'`, k-means init), and
scikit-learn's `GaussianMixture(C, 'full')` (k-means init, 5 restarts). Training sets use seed s,
test sets seed s + 100. It prints the test NLL (nats per point; lower is better) and the cluster
accuracy (Hungarian matching; spiral outliers, label -1, are left out), plus the fit time.

Every estimator has the defaults of `cpmm.model.CPMM` (standardized data, early stopping on a 10% validation
split, `log_d_min` relative to each feature's variance); settings that are not the defaults would be printed
in the table (`TOYS` has none).
"""
import argparse, time
import numpy as np
import torch
from sklearn.datasets import make_moons
from sklearn.mixture import GaussianMixture
from cpmm.data import spiral, broken_circles
from cpmm.metrics import cluster_accuracy
from cpmm.model import CPMM


def moons(n, seed):
    X, y = make_moons(n, noise=0.06, random_state=seed)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y)


TOYS = {  # name: (generator, C, CPMM options that differ from the defaults)
    'spiral': (lambda n, s: spiral(n, seed=s), 5, {}),
    'broken_circles': (lambda n, s: broken_circles(n, seed=s), 2, {}),
    'moons': (moons, 2, {}),
}


def run(name, n, n_test, seed):
    gen, C, opts = TOYS[name]
    X, y = gen(n, seed)
    Xt, yt = gen(n_test, seed + 100)
    rows = []
    for label, est in [(f"CPMM ode C={C} G=25 R=1 {opts or 'defaults'}", CPMM(C, 25, rank=1, random_state=seed, **opts)),
                       (f"direct MFA {C}x25 comps R=1, same loop", CPMM(C, 25, rank=1, parameterization='direct', random_state=seed, **opts))]:
        t = time.perf_counter(); est.fit(X); dt = time.perf_counter() - t
        rows.append((label, -est.score(Xt), cluster_accuracy(yt, est.predict(Xt)), dt))
    t = time.perf_counter()
    g = GaussianMixture(C, covariance_type='full', n_init=5, random_state=seed).fit(X.numpy())
    dt = time.perf_counter() - t
    rows.append((f"sklearn GaussianMixture({C}, 'full')", -g.score(Xt.numpy()), cluster_accuracy(yt, g.predict(Xt.numpy())), dt))
    return rows


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, default=3000)
    p.add_argument('--n-test', type=int, default=3000)
    p.add_argument('--seeds', default='0', help='comma-separated training seeds')
    p.add_argument('--only', default=','.join(TOYS))
    p.add_argument('--threads', type=int, default=0, help='torch threads (0: torch default)')
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; train n={a.n} (seed s), test n={a.n_test} (seed s+100)")
    t0 = time.perf_counter()
    for name in a.only.split(','):
        for s in map(int, a.seeds.split(',')):
            print(f"\n{name} (seed {s})")
            print(f"  {'model':<58} {'test NLL':>9} {'cluster acc':>11} {'fit s':>7}")
            for label, nll, acc, dt in run(name, a.n, a.n_test, s):
                print(f"  {label:<58} {nll:9.3f} {acc:11.3f} {dt:7.1f}", flush=True)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
