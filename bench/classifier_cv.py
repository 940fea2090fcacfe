"""`CPMMClassifier` with its defaults in scikit-learn's `cross_val_score`, beside QDA and Gaussian naive Bayes.

5-fold stratified cross-validated accuracy on scikit-learn's bundled breast cancer and iris sets, each model in a
`Pipeline` after `StandardScaler`, all from the same run and folds; QDA's `reg_param` is tuned inside each
training fold by `GridSearchCV` (3-fold), so no model sees its test fold.

    python bench/classifier_cv.py            # writes bench/results/classifier_cv.{json,md}
"""
import json, os, time, warnings
from pathlib import Path
import numpy as np

os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from cpmm.model import CPMMClassifier

RESULTS = Path(__file__).parent / 'results'


def models():
    qda = GridSearchCV(QuadraticDiscriminantAnalysis(), {'reg_param': [0., 1e-3, 1e-2, 0.1, 0.3, 0.6, 0.9]}, cv=3)
    return {'CPMMClassifier(25, rank 2), defaults': CPMMClassifier(25, 2), 'QDA (reg_param tuned)': qda, 'GaussianNB': GaussianNB()}


def main():
    torch.set_num_threads(1); warnings.filterwarnings('ignore')
    out, rows = {}, []
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; torch threads 1")
    for name, load in (('breast_cancer', load_breast_cancer), ('iris', load_iris)):
        X, y = load(return_X_y=True)
        folds = StratifiedKFold(5, shuffle=True, random_state=0)
        out[name] = {}
        for label, est in models().items():
            t = time.perf_counter()
            s = cross_val_score(make_pipeline(StandardScaler(), est), X, y, cv=folds)
            out[name][label] = dict(scores=s.tolist(), mean=float(s.mean()), std=float(s.std()), seconds=time.perf_counter() - t)
            rows.append(f"| {name} | {label} | {s.mean():.3f} ± {s.std():.3f} | {time.perf_counter() - t:.1f} |")
            print(rows[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'classifier_cv.json').write_text(json.dumps(out, indent=1))
    md = '| data | model | 5-fold accuracy | seconds (5 fits) |\n|---|---|---|---|\n' + '\n'.join(rows) + '\n'
    (RESULTS / 'classifier_cv.md').write_text(md)
    print(md)


if __name__ == '__main__':
    main()
