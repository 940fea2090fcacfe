"""Curriculum vs no curriculum, CPMM vs direct MFA, on the 2-D toys, beside scikit-learn (issue 4).

    python bench/curriculum_toys.py [--only broken_circles,spiral] [--n 3000] [--teacher-steps 1500] [--figure spaces.png]
    python bench/curriculum_toys.py --only broken_circles --models ode-curriculum --seeds 0,1,2   # seed-to-seed spread
    python bench/curriculum_toys.py --only broken_circles --models ode-curriculum --seeds 1 \
        --set n_components=25 --set n_spaces=51 --set batch_size=32 --finetune 10 --trace 5      # other settings, traced

For each toy (training set seed 0, test set seed 100): one teacher flow (`cpmm.curriculum.fit_teacher`, on the raw
training set, cached under --cache) and its spaces, then four estimators: the CPMM (`parameterization='ode'`) and
the direct MFA (`'direct'`), each trained directly on the data (`fit(X)`) and through the curriculum of that
teacher (`CPMM(curriculum=teacher)`: the spaces, then the toy's fine-tuning epochs); and `GaussianMixture(C,
'full')` (k-means init, 5 restarts). Every estimator has the defaults of `cpmm.model.CPMM` except the settings
stated in `SETTINGS` and `CURRICULUM` below (printed with the results): the toy's C (from `cpmm.toys.TOYS`), G and number of spaces (the
spiral's batch size too) for all four, the toy's `ode` settings on top for the CPMM proper, and for the curriculum runs `standardize=False,
validation_fraction=None` (the teacher models the raw toy, and the spaces hold all its rows: the spaces the
tracer and the figure draw are those trained on) and `epochs=` the toy's fine-tuning epochs (a curriculum has no
early stopping). Learning rates and inits are the estimator's defaults for what it fits (printed per row).
It prints the test NLL (nats per point; lower is better), the cluster accuracy (Hungarian matching; spiral
outliers, label -1, left out) and the seconds each fit took (the teacher's time is printed once, apart).
`--set KEY=VALUE` overrides one estimator setting for all four estimators (`--set epochs=N`: the most epochs of
the runs without curriculum; `--finetune`: the curriculum's). `--trace K` prints, every K epochs of each curriculum fit, the cluster accuracy of the model on the space it is
training on (and on the test data), to see where along the curriculum a clustering is kept or lost. `--figures DIR` draws each fitted mixture over the test data. `--figure` writes the spaces of the first toy from the latent
space to the data, coloured by the true cluster (the paper's figure 2).

bench/results/curriculum_toys*.txt were measured before the estimator's defaults changed (then: no
standardization, no validation split, batch 64, RK4 h = 0.05, log_d_min -6, 20 epochs without curriculum) with
the settings their `settings` lines print; rerun this script to compare with the defaults of today.
"""
import argparse, ast, time
from pathlib import Path
import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from cpmm.curriculum import fit_teacher, compute_spaces
from cpmm.metrics import cluster_accuracy
from cpmm.model import CPMM
from cpmm.fitting import CURRICULUM_LR, DEFAULT_LR, PATH_LR, PATH_MAX_DIMS
from cpmm.toys import TOYS

# Each toy's settings beside the estimator's defaults (its data and C are cpmm.toys.TOYS's): `every` for all four estimators,
# `ode` on top for the CPMM proper, `finetune` epochs after the curriculum. The broken circles are 0.1 apart: with
# G = 25, or 51 spaces, the curriculum CPMM tends to split the still-blurred ring into left and right halves in the
# last spaces; G = 50 and 201 spaces keep the circles apart. The spiral's teacher leaves a blurred spiral in its
# latent space, where the 'path' initialization already finds the arms: the curriculum's rate CURRICULUM_LR['ode'],
# which the broken circles need to follow their moving spaces, scrambles them, and 1e-4 keeps them
# (bench/results/curriculum_toys_variants.txt).
SETTINGS = {
    'broken_circles': dict(every=dict(n_components=50, n_spaces=201), ode=dict(), finetune=40),
    'spiral': dict(every=dict(n_components=25, batch_size=32), ode=dict(lr=1e-4), finetune=10),
}
# The curriculum runs take this script's teacher, fitted on the raw training set (all rows), and train on its spaces.
CURRICULUM = dict(standardize=False, validation_fraction=None)


def resolved(est, n_features:int) -> tuple[str, float]:
    "The init and learning rate that `est` uses on data of `n_features` (its settings, the 'auto' and None defaults of `cpmm.model`)."
    par = est.parameterization
    init = est.init if est.init != 'auto' else ('path' if par == 'ode' and est.net == 'mlp' and n_features <= PATH_MAX_DIMS else 'kmeans')
    if est.lr is not None: return init, est.lr
    return init, CURRICULUM_LR[par] if est.curriculum is not None else PATH_LR if init == 'path' else DEFAULT_LR[par]


def figure(spaces, y, path):
    import matplotlib; matplotlib.use('Agg')
    from cpmm.viz import plot_spaces
    fig = plot_spaces(spaces, y, n_panels=6)
    fig.savefig(path, dpi=80)


def mixture_figure(est, X, y, path, row):
    "The fitted mixture's components as ellipses along their trajectories over the test data, beside samples."
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from cpmm.viz import plot_mixture
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    plot_mixture(est.mixture_, X, ax=ax)          # points coloured by the trajectory that claims them
    ax.set_title(f"{row[0].split(' (')[0]}\nNLL {row[1]:.2f}, acc {row[2]:.2f}", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True); fig.savefig(path, dpi=80, bbox_inches='tight'); plt.close(fig)


def tracer(teacher, X, y, Xt, yt, n_spaces, a):
    "A fit callback printing, every --trace epochs, the accuracy on the space being trained on and on the test data."
    spaces = compute_spaces(teacher, X, n_spaces=n_spaces, cache=a.cache, progress=False)
    def callback(tr, rec):
        e, last = rec['epoch'], rec['phase'] == 'finetune' and tr.epoch == tr.total_epochs
        if e % a.trace and not last: return
        with torch.no_grad(): m = tr.param.extract().to('cpu')
        S = torch.as_tensor(spaces[rec['space']], dtype=torch.float32) if rec['phase'] == 'curriculum' else X
        print(f"    epoch {e:4d} {rec['phase']:10s} v {rec['v']:.2f}  train NLL {rec['train_nll']:7.3f}  "
              f"acc on this space {cluster_accuracy(y, m.predict(S)):.3f}  test NLL {-float(m.log_prob(Xt).mean()):7.3f}  "
              f"test acc {cluster_accuracy(yt, m.predict(Xt)):.3f}", flush=True)
    return callback


def run(name, a):
    toy = SETTINGS[name]
    base = dict(n_clusters=TOYS[name].n_clusters, **toy['every'])   # C from the registry, then the toy's settings
    every = {**base, **a.set}                           # every estimator; the CPMM proper adds toy['ode']
    C, n_spaces = every['n_clusters'], CPMM(**every).n_spaces
    finetune = a.finetune if a.finetune is not None else toy['finetune']
    X, y = TOYS[name].make(a.n, seed=0)
    Xt, yt = TOYS[name].make(a.n, seed=100)
    t = time.perf_counter()
    teacher = fit_teacher(X, steps=a.teacher_steps, max_seconds=None, cache=a.cache, progress=False)
    print(f"{name}: teacher {a.teacher_steps} steps, {time.perf_counter() - t:.0f} s (0 when cached), "
          f"test NLL {teacher.nll(Xt):.3f}", flush=True)
    print(f"  settings (beside cpmm.model.CPMM's defaults) {every}, CPMM ode {toy['ode']}; curriculum runs {CURRICULUM}, "
          f"epochs {finetune} (fine-tuning after the curriculum); no curriculum: epochs {every.get('epochs', CPMM().epochs)} at most "
          f"(early stopping on validation_fraction={every.get('validation_fraction', CPMM().validation_fraction)})", flush=True)
    if a.figure and name == a.only.split(',')[0]:
        figure(compute_spaces(teacher, X, n_spaces=n_spaces, cache=a.cache, progress=False), y.numpy(), a.figure)
    rows = []
    for par, cur, seed in ((p, c, s) for p in ('ode', 'direct') for c in (False, True) for s in a.seeds):
        if f"{par}-{'curriculum' if cur else 'direct'}" not in a.models: continue
        opts = {**base, **(toy['ode'] if par == 'ode' else {}), **(dict(CURRICULUM, epochs=finetune, curriculum=teacher) if cur else {}),
                **{k: v for k, v in a.set.items() if not (cur and k == 'epochs')}}
        est = CPMM(**opts, parameterization=par, cache=a.cache, random_state=seed)
        t = time.perf_counter()
        est.fit(X, callback=tracer(teacher, X, y, Xt, yt, n_spaces, a) if cur and a.trace else None)
        dt = time.perf_counter() - t
        init, lr = resolved(est, X.shape[1])
        rows.append((f"{'CPMM ode' if par == 'ode' else 'direct MFA'} {'curriculum' if cur else 'no curriculum'} "
                     f"(init {init}, lr {lr:g}, {len(est.history_)} ep{f', seed {seed}' if len(a.seeds) > 1 else ''})", -est.score(Xt),
                     cluster_accuracy(yt, est.predict(Xt)), dt))
        print(f"  {rows[-1][0]:<58} NLL {rows[-1][1]:7.3f}  acc {rows[-1][2]:.3f}  {dt:5.0f} s", flush=True)
        if a.figures and seed == a.seeds[0]:
            mixture_figure(est, Xt, yt, Path(a.figures) / f"{name}_{par}_{'curriculum' if cur else 'nocurriculum'}.png", rows[-1])
    t = time.perf_counter()
    g = GaussianMixture(C, covariance_type='full', n_init=5, random_state=0).fit(X.numpy())
    dt = time.perf_counter() - t
    print(f"  {f'sklearn GaussianMixture({C}, full)':<58} NLL {-g.score(Xt.numpy()):7.3f}  "
          f"acc {cluster_accuracy(yt, g.predict(Xt.numpy())):.3f}  {dt:5.0f} s", flush=True)


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--only', default=','.join(SETTINGS))
    p.add_argument('--n', type=int, default=3000)
    p.add_argument('--teacher-steps', type=int, default=1500)
    p.add_argument('--finetune', type=int, default=None, help="fine-tuning epochs after the curriculum (default: the toy's, SETTINGS)")
    p.add_argument('--cache', default=None, help='cache folder for teachers and spaces (default: cpmm.curriculum.cache_dir())')
    p.add_argument('--figure', default=None, help='write the spaces of the first toy to this PNG')
    p.add_argument('--figures', default=None, help='folder for a figure of each fitted mixture (ellipses along trajectories)')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                   help="override one estimator setting of all four estimators (beside SETTINGS), e.g. --set n_components=25")
    p.add_argument('--trace', type=int, default=0, metavar='K', help='print the accuracy on the current space every K epochs of each curriculum fit')
    p.add_argument('--seeds', default='0', help='comma-separated seeds of the estimators (initialization and training); the data and teacher stay fixed')
    p.add_argument('--models', default='ode-direct,ode-curriculum,direct-direct,direct-curriculum',
                   help='which of ode-direct, ode-curriculum, direct-direct (direct MFA, no curriculum), direct-curriculum to train')
    a = p.parse_args()
    a.seeds = [int(x) for x in a.seeds.split(',')]
    a.models = a.models.split(',')
    try: a.set = {k: ast.literal_eval(v) for k, v in (kv.split('=', 1) for kv in a.set)}
    except (ValueError, SyntaxError) as e: p.error(f"--set takes KEY=VALUE with a Python literal value: {e}")
    torch.set_num_threads(a.threads)
    for name in a.only.split(','): run(name, a)
