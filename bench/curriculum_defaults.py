"""The curriculum with the estimator's defaults, beside no curriculum, on the paper's two curriculum toys (issue 14).

For each toy (3,000 training points of seed s, 2,000 test points of seed 100; C = the toy's number of classes)
and each seed s, with every other setting at `CPMM`'s defaults (no per-toy settings):

* `CPMM(C)`: no curriculum;
* `CPMM(C, curriculum='teacher')`: the default teacher (`fit_teacher`: OT-CFM until its held-out NLL stops
  improving, at most 60 s of steps), 51 spaces, each trained
  for whole epochs until it has had at least 50 steps (`cpmm.fitting.space_epochs`), then fine-tuning with early
  stopping; the start is `init='auto'` applied to the latent space;
* the same from two random starts that know nothing of the data: the paper's small perturbations of N(0, I)
  (`init='standard_normal'`), and the 'auto' start fitted to draws of N(0, I) (`init='tiling'`);
* `CPMM(C, curriculum='gaussian')`: the teacher-free spaces (1 - v)x + v*noise;
* `CPMM(C, parameterization='direct', curriculum='teacher')`: the direct MFA with the curriculum (the paper's
  "GMM with curriculum");
* baselines from the same run: `GaussianMixture(C, 'full')` (5 restarts) and `KMeans(C)`.

It prints the cluster accuracy on the test set (Hungarian matching; the spiral's outliers, label -1, left out),
the test NLL (nats per dim, lower is better), the fit seconds (the teacher's included; it is cached per toy and
seed, so the runs after the first that use it load it), and the mean and spread over the seeds.

    python bench/curriculum_defaults.py [--toys broken_circles,spiral] [--seeds 0,1,2] [--variants 'NAME' ...]
        [--teacher-seconds S] [--teacher-refine F] [--out PREFIX]

`--teacher-seconds` and `--teacher-refine` give the variants with a teacher a stronger one than the default
(`teacher_seconds=S`, `teacher_options=dict(refine=F)`: OT-CFM, then maximum likelihood for the last fraction F of
the budget), to tell how much of the curriculum's result is the teacher's.

Writes bench/results/curriculum_defaults.{json,md} (or `--out`'s).
"""
import argparse, json, os, tempfile, time, warnings
from pathlib import Path
import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from cpmm.metrics import cluster_accuracy
from cpmm.model import CPMM
from cpmm.toys import TOYS

CURRICULUM_TOYS = ('broken_circles', 'spiral')   # the paper's two curriculum toys, from cpmm.toys.TOYS (their C too)
VARIANTS = {
    'no curriculum': dict(),
    'teacher': dict(curriculum='teacher'),
    'teacher, N(0, I) start': dict(curriculum='teacher', init='standard_normal'),
    'teacher, tiling start': dict(curriculum='teacher', init='tiling'),
    'gaussian (teacher-free)': dict(curriculum='gaussian'),
    'direct MFA + teacher': dict(parameterization='direct', curriculum='teacher'),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--toys', default=','.join(CURRICULUM_TOYS))
    ap.add_argument('--seeds', default='0,1,2')
    ap.add_argument('--variants', nargs='+', default=None, help='a subset of the variant names, each quoted (default: all)')
    ap.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'curriculum_defaults'))
    ap.add_argument('--teacher-seconds', type=float, default=None, help="the teacher's time budget (default: CPMM's `teacher_seconds`)")
    ap.add_argument('--teacher-refine', type=float, default=None, help="fit_teacher's `refine` fraction (default: none)")
    ap.add_argument('--summarize', action='store_true', help="only rewrite the .md table from the .json of an earlier run")
    a = ap.parse_args()
    if a.summarize:
        saved = json.loads(Path(a.out).with_suffix('.json').read_text())
        return report(saved['rows'], a.toys.split(','), saved['meta']['seeds'], saved['meta']['load_average_start'], Path(a.out), saved['meta'].get('teacher'))
    variants = {k: v for k, v in VARIANTS.items() if a.variants is None or k in a.variants}
    if a.variants and len(variants) < len(a.variants): ap.error(f"unknown variants {sorted(set(a.variants) - set(variants))}; choose from {list(VARIANTS)}")
    teacher = dict(**({} if a.teacher_seconds is None else dict(teacher_seconds=a.teacher_seconds)),
                   **({} if a.teacher_refine is None else dict(teacher_options=dict(refine=a.teacher_refine))))
    variants = {k: {**v, **(teacher if v.get('curriculum') == 'teacher' else {})} for k, v in variants.items()}
    if teacher: print(f"the variants with a teacher: {teacher}", flush=True)
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} at the start; CPMM's defaults (one thread for the MLP fields)", flush=True)
    rows, cache = [], tempfile.mkdtemp(prefix='cpmm-bench-')
    for toy in a.toys.split(','):
        make, C = TOYS[toy].make, TOYS[toy].n_clusters
        Xt, yt = make(2000, seed=100); Xt, yt = Xt.numpy(), yt.numpy(); keep = yt >= 0
        for seed in map(int, a.seeds.split(',')):
            X = make(3000, seed=seed)[0].numpy()
            acc = lambda labels: float(cluster_accuracy(yt[keep], labels[keep]))
            t0 = time.perf_counter(); g = GaussianMixture(C, covariance_type='full', n_init=5, random_state=seed).fit(X)
            rows.append(dict(toy=toy, seed=seed, model=f'GaussianMixture({C})', accuracy=acc(g.predict(Xt)),
                             nll=float(-g.score(Xt) / X.shape[1]), seconds=time.perf_counter() - t0))
            t0 = time.perf_counter(); k = KMeans(C, n_init=10, random_state=seed).fit(X)
            rows.append(dict(toy=toy, seed=seed, model=f'KMeans({C})', accuracy=acc(k.predict(Xt)), nll=None,
                             seconds=time.perf_counter() - t0))
            for name, kw in variants.items():
                t0 = time.perf_counter()
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter('always')
                    m = CPMM(C, random_state=seed, cache=cache, **kw).fit(X)
                r = dict(toy=toy, seed=seed, model=name, accuracy=acc(m.predict(Xt)), nll=float(-m.score(Xt) / X.shape[1]),
                         seconds=time.perf_counter() - t0, epochs=m.n_iter_, best_epoch=m.best_epoch_,
                         warnings=sorted({str(x.message)[:80] for x in w if 'teacher' in str(x.message)}))
                if hasattr(m, 'teacher_'): r['teacher_latent'] = {k2: None if m.teacher_.latent_.get(k2) is None else round(m.teacher_.latent_[k2], 3)
                                                                  for k2 in ('mean_error', 'cov_error', 'kl')}
                rows.append(r)
            for r in rows[-(len(variants) + 2):]:
                print(f"{toy} seed {seed}  {r['model']:26s} acc {r['accuracy']:.3f}  NLL {r['nll'] if r['nll'] is None else round(r['nll'], 3)}"
                      f"  {r['seconds']:.0f} s  {r.get('teacher_latent', '')}", flush=True)
    report(rows, a.toys.split(','), a.seeds, load, Path(a.out), teacher)


def report(rows, toys, seeds, load, out, teacher=None):
    "Write the per-run rows and the mean ± std table."
    models = list(dict.fromkeys(r['model'] for r in rows))
    lines = [f"Curriculum with CPMM's defaults (cluster accuracy and test NLL in nats/dim, lower is better; mean ± std over seeds "
             f"{seeds}); load {load:.2f} at the start." + (f" The variants with a teacher: {teacher}." if teacher else ''), "",
             "| toy | model | cluster accuracy | seeds ≥ 0.9 | test NLL | fit s |", "|---|---|---|---|---|---|"]
    summary = []
    for toy in toys:
        for mname in models:
            rs = [r for r in rows if r['toy'] == toy and r['model'] == mname]
            if not rs: continue
            accs = np.array([r['accuracy'] for r in rs]); nlls = [r['nll'] for r in rs if r['nll'] is not None]
            s = dict(toy=toy, model=rs[0]['model'], accuracy_mean=accs.mean(), accuracy_std=accs.std(), n_ge_09=int((accs >= 0.9).sum()),
                     n=len(accs), nll_mean=float(np.mean(nlls)) if nlls else None, seconds_mean=float(np.mean([r['seconds'] for r in rs])))
            summary.append(s)
            nll = f"{s['nll_mean']:.3f}" if s['nll_mean'] is not None else '—'
            lines.append(f"| {toy} | {s['model']} | {s['accuracy_mean']:.3f} ± {s['accuracy_std']:.3f} | {s['n_ge_09']}/{s['n']} | {nll} | {s['seconds_mean']:.0f} |")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix('.json').write_text(json.dumps(dict(meta=dict(load_average_start=load, seeds=seeds, teacher=teacher or {}), rows=rows, summary=summary), indent=1))
    out.with_suffix('.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
