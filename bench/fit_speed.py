"""Fit time of `CPMM` with its defaults on 2,000 × 64 data, beside `GaussianMixture` with the same components, one thread.

    python bench/fit_speed.py [--n 2000] [--m 64] [--c 10] [--seeds 0 1 2] [--solver midpoint:0.25 ...] [--out PREFIX]
    python bench/fit_speed.py --profile [--n 2000] [--m 64] [--c 10] [--out PREFIX]

The data: C clusters in M dims, each a Gaussian with its own random mean (spread 3) and a random rank-4-plus-diagonal
covariance, equal weights; 80% for fitting, 20% to score. Timed on one torch / BLAS thread, in this process:
  - `CPMM(C)` with every other setting at its default (rank 'auto', k-means start, early stopping), and with each
    `--solver METHOD:STEP` in place of the default ODE solver (`node_options=dict(method=..., step_size=...)`);
  - `GaussianMixture(C, 'full')` and `GaussianMixture(C·25, 'full')` (one fit each, scikit-learn's defaults);
the ratio is the CPMM's time over each. The target of issue 13 is ≤ 10 s for the CPMM at 2,000 × 64.
Writes bench/results/fit_speed.{json,md} (or `--out`'s); prints the load average beside the times.

`--profile` times the parts of one training step of the default CPMM instead (seed 0's data, the estimator's
resolved settings and start; the median over rounds of 20 steps, in milliseconds): the ODE solve forward and
backward (the mixture's parameters at the step's pseudotimes), the mixture's log-density of a batch forward and
backward (from parameters that need no solve), Adam's update, and a whole step (`cpmm.objectives.nll_terms`, as
the trainer's). Writes bench/results/fit_speed_profile.{json,md} (or `--out`'s).
"""
import argparse, json, os, time, warnings
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from cpmm.model import CPMM

RESULTS = Path(__file__).parent / 'results'
G = 25


def make(n:int, m:int, c:int, seed:int):
    "n points of a c-cluster Gaussian mixture in m dims (rank-4-plus-diagonal covariances) and their cluster labels."
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 3, (c, m))
    A = rng.normal(0, 1, (c, m, 4)) / 2
    y = rng.integers(0, c, n)
    X = means[y] + np.einsum('nmr,nr->nm', A[y], rng.normal(size=(n, 4))) + rng.normal(0, 0.5, (n, m))
    return X, y


def timed(f):
    t = time.perf_counter(); out = f(); return out, time.perf_counter() - t


def solver(spec:str) -> dict:
    "'midpoint:0.25' -> dict(method='midpoint', step_size=0.25)."
    method, _, step = spec.partition(':')
    return dict(method=method, step_size=float(step)) if step else dict(method=method)


def run(n, m, c, seed, solvers=()):
    X, _ = make(n, m, c, seed)
    k = int(0.8 * n); Xtr, Xte = X[:k], X[k:]
    est, t = timed(lambda: CPMM(c, random_state=seed).fit(Xtr))
    row = dict(cpmm_seconds=t, cpmm_ll=est.score(Xte) / m, rank=est.rank_, epochs=est.n_iter_, best_epoch=est.best_epoch_)
    for spec in solvers:
        est, t = timed(lambda: CPMM(c, random_state=seed, node_options=solver(spec)).fit(Xtr))
        row[spec] = dict(seconds=t, ll=est.score(Xte) / m, epochs=est.n_iter_, best_epoch=est.best_epoch_)
    for K in (c, c * G):
        g, t = timed(lambda: GaussianMixture(K, covariance_type='full', random_state=seed).fit(Xtr))
        row[f'gmm{K}_seconds'], row[f'gmm{K}_ll'] = t, g.score(Xte) / m
    return row


def profile(n, m, c, rounds=7, steps=20):
    "Milliseconds of a default training step's parts on seed 0's data, the median over `rounds` rounds of `steps` calls each."
    from cpmm.fitting import SPREAD, build, resolve
    from cpmm.mfa import HierarchicalMFA
    from cpmm.objectives import nll_terms
    X, _ = make(n, m, c, 0)
    X = X[:int(0.8 * n)]
    est = CPMM(c, random_state=0)
    s = resolve(est, m, int(0.9 * len(X)), c)                                        # the rows it trains on: 90% (the rest validates)
    s['rank'] = CPMM(c, random_state=0, epochs=0).fit(X).rank_                       # the rank the estimator chooses on its held-out rows
    Z = torch.from_numpy(((X - X.mean(0)) / X.std(0)).astype(np.float32))
    p = build(est, c, m, s['rank'])
    p.init_from_data(Z, None, method=s['init'], seed=0, spread=SPREAD)
    opt = torch.optim.Adam(p.parameters(), lr=s['lr'], foreach=True)
    g = torch.Generator().manual_seed(0)
    batch = lambda: Z[torch.randint(0, len(Z), (s['batch_size'],), generator=g)]
    times = lambda: p.pseudotimes(train=True, generator=g)
    def ode():
        mix = p(times()); (mix.mu.sum() + mix.A.sum() + mix.log_d.sum()).backward()
    with torch.no_grad(): mix = p(times())
    leaves = [t.detach().clone().requires_grad_() for t in (mix.mu, mix.A, mix.log_d, mix.log_pi, mix.log_eta)]
    def mixture(): nll_terms(HierarchicalMFA(*leaves), batch())[0].mean().backward()
    def step():
        opt.zero_grad(); nll_terms(p(times()), batch())[0].mean().backward(); opt.step()
    parts = dict(ode_forward_backward=ode, mixture_forward_backward=mixture, adam_update=opt.step, whole_step=step)
    out = {k: [] for k in parts}
    step()                                                                            # warm-up; gradients exist for Adam
    for _ in range(rounds):
        for k, f in parts.items():                                                    # interleaved, so that load changes hit all parts alike
            t0 = time.perf_counter()
            for _ in range(steps): f()
            out[k].append((time.perf_counter() - t0) / steps * 1e3)
    return dict(settings=dict(rank=s['rank'], batch_size=s['batch_size'], init=s['init'], n_components=est.n_components,
                              solver=dict(p.config()).get('method'), step_size=dict(p.config()).get('step_size'),
                              state=list(p.state_shape), field_parameters=sum(q.numel() for q in p.field.parameters())),
                ms={k: float(np.median(v)) for k, v in out.items()}, rounds=out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, default=2000); p.add_argument('--m', type=int, default=64); p.add_argument('--c', type=int, default=10)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--solver', nargs='*', default=[], help="other ODE solvers to time beside the default, as METHOD:STEP (e.g. midpoint:0.25)")
    p.add_argument('--out', default=None, help='results prefix (.json, .md); default bench/results/fit_speed (fit_speed_profile with --profile)')
    p.add_argument('--profile', action='store_true', help="time the parts of one default training step instead of whole fits")
    a = p.parse_args()
    a.out = a.out or str(RESULTS / ('fit_speed_profile' if a.profile else 'fit_speed'))
    torch.set_num_threads(1); warnings.filterwarnings('ignore')
    if a.profile: return write_profile(a)
    CPMM(2, 3, epochs=1).fit(np.random.default_rng(0).normal(size=(50, 2)))         # warm-up: imports and first calls, not timed
    load0 = os.getloadavg()[0]
    for spec in a.solver: solver(spec)                                                 # a malformed spec fails before any fit
    rows = [run(a.n, a.m, a.c, s, a.solver) for s in a.seeds]
    load = dict(start=load0, end=os.getloadavg()[0])
    mean = lambda k: float(np.mean([r[k] for r in rows]))
    smean = lambda spec, k: float(np.mean([r[spec][k] for r in rows]))                # over seeds, for one --solver
    K = a.c * G
    cmd = (f"--n {a.n} --m {a.m} --c {a.c} --seeds {' '.join(map(str, a.seeds))}" + (f" --solver {' '.join(a.solver)}" if a.solver else '')
           + (f" --out {a.out}" if Path(a.out) != RESULTS / 'fit_speed' else ''))
    md = [f"`python bench/fit_speed.py {cmd}` "
          f"(one thread; load average {load['start']:.2f} at start, {load['end']:.2f} at end, on {os.cpu_count()} cores)", '',
          '| model | fit s (mean over seeds) | CPMM time / this | test log-lik / dim |', '|---|---|---|---|',
          f"| CPMM({a.c}), defaults (rank {' '.join(str(r['rank']) for r in rows)}; epochs {' '.join(str(r['epochs']) for r in rows)}) | {mean('cpmm_seconds'):.1f} | 1 | {mean('cpmm_ll'):.3f} |",
          *[f"| CPMM({a.c}), solver {spec} (epochs {' '.join(str(r[spec]['epochs']) for r in rows)}) | {smean(spec, 'seconds'):.1f} "
            f"| {mean('cpmm_seconds') / smean(spec, 'seconds'):.2f}× | {smean(spec, 'll'):.3f} |" for spec in a.solver],
          f"| GaussianMixture({a.c}, 'full') | {mean(f'gmm{a.c}_seconds'):.2f} | {mean('cpmm_seconds') / mean(f'gmm{a.c}_seconds'):.0f}× | {mean(f'gmm{a.c}_ll'):.3f} |",
          f"| GaussianMixture({K}, 'full') | {mean(f'gmm{K}_seconds'):.2f} | {mean('cpmm_seconds') / mean(f'gmm{K}_seconds'):.1f}× | {mean(f'gmm{K}_ll'):.3f} |"]
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix('.json').write_text(json.dumps(dict(args=vars(a), load=load, runs=rows), indent=1))
    out.with_suffix('.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))


def write_profile(a):
    load0 = os.getloadavg()[0]
    r = profile(a.n, a.m, a.c)
    load = dict(start=load0, end=os.getloadavg()[0])
    st, ms = r['settings'], r['ms']
    md = [f"`python bench/fit_speed.py --profile --n {a.n} --m {a.m} --c {a.c}` (one thread; load average {load['start']:.2f} at start, "
          f"{load['end']:.2f} at end, on {os.cpu_count()} cores)", '',
          f"The default CPMM({a.c}) on {int(0.8 * a.n)} × {a.m}: rank {st['rank']}, batch {st['batch_size']}, {st['n_components']} components per trajectory, "
          f"{st['solver']} at h = {st['step_size']}, ODE state {st['state']} per trajectory, {st['field_parameters']:,} field parameters. "
          "Median over 7 interleaved rounds of 20 calls:", '',
          '| part | ms | share of a whole step |', '|---|---|---|',
          *[f"| {k.replace('_', ' ')} | {v:.1f} | {v / ms['whole_step']:.0%} |" for k, v in ms.items()]]
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix('.json').write_text(json.dumps(dict(args=vars(a), load=load, **r), indent=1))
    out.with_suffix('.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))


if __name__ == '__main__':
    main()
