"""Quickstart: fit a CPMM to two moons, print its test NLL (nats/dim, lower is better) and cluster accuracy beside scikit-learn's.

    python examples/quickstart.py

The CPMM (2 trajectories of 25 components, rank 1, default settings) is trained unsupervised, extracted into
a plain hierarchical mixture of factor analyzers, and evaluated on 3,000 held-out points from another seed,
next to scikit-learn's `GaussianMixture(2, 'full')` fitted to the same data.
"""
import time
import torch
from sklearn.datasets import make_moons
from sklearn.mixture import GaussianMixture
from cpmm.model import CPMM
from cpmm.metrics import cluster_accuracy

X, y = make_moons(3000, noise=0.06, random_state=0)
X_test, y_test = make_moons(3000, noise=0.06, random_state=1)
t0 = time.perf_counter()
model = CPMM(n_clusters=2, n_components=25, rank=1).fit(X)
t_fit = time.perf_counter() - t0
gmm = GaussianMixture(2, covariance_type='full', n_init=5, random_state=0).fit(X)
mix = model.extract()
print(f"CPMM fitted in {t_fit:.0f} s; extracted: {mix.C} trajectories x {mix.G} components")
nll = lambda m: -m.score(X_test) / X_test.shape[1]                # mean negative log-likelihood per dimension, in nats
print(f"{'':32} {'test NLL (nats/dim, lower is better)':>36} {'cluster acc':>11}")
print(f"{'CPMM(2, 25, rank=1)':32} {nll(model):36.3f} {cluster_accuracy(y_test, model.predict(X_test)):11.3f}")
print(f"{'sklearn GaussianMixture(2, full)':32} {nll(gmm):36.3f} {cluster_accuracy(y_test, gmm.predict(X_test)):11.3f}")
