"Agreement, bad-input and reproducibility tests for cpmm.baselines (the notebook 09_baselines holds the worked checks)."
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.mixture import GaussianMixture
from cpmm.baselines import (COVARIANCE_TYPES, MatchedGMM, SpectralGMM, component_distances, gmm_to_mfa,
                            spectral_groups)
from cpmm.metrics import cluster_accuracy, frechet_distance
from cpmm.mfa import MFA

ESTIMATORS = [lambda **kw: MatchedGMM(3, **kw), lambda **kw: SpectralGMM(3, 9, **kw)]
METHODS = ['score_samples', 'score', 'predict', 'predict_proba']


@pytest.fixture(scope='module')
def X():
    rng = np.random.default_rng(0)
    return rng.standard_normal((240, 3)) @ rng.standard_normal((3, 3)) + rng.integers(0, 3, (240, 1)) * 4.


def rings(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    theta, r = rng.uniform(0, 2 * np.pi, n), np.where(y == 0, 1., 3.) + 0.1 * rng.standard_normal(n)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], 1), y


# ---------------------------------------------------------------- agreement with scikit-learn

@pytest.mark.parametrize('ct', COVARIANCE_TYPES)
def test_gmm_to_mfa_matches_sklearn(X, ct):
    g = GaussianMixture(3, covariance_type=ct, random_state=0).fit(X)
    m = gmm_to_mfa(g)
    assert m.mu.dtype == torch.float64 and m.R == (0 if ct in ('diag', 'spherical') else 3)
    np.testing.assert_allclose(m.log_prob(torch.from_numpy(X)).numpy(), g.score_samples(X), rtol=0, atol=1e-9)
    np.testing.assert_allclose(m.log_weights.exp().numpy(), g.weights_, atol=1e-12)


@pytest.mark.parametrize('ct', COVARIANCE_TYPES)
@pytest.mark.parametrize('make', ESTIMATORS)
def test_estimators_match_sklearn(X, ct, make):
    e = make(covariance_type=ct, random_state=0).fit(X)
    assert e.fit(X) is e
    np.testing.assert_allclose(e.score_samples(X), e.gmm_.score_samples(X), atol=1e-9)
    assert e.score(X) == pytest.approx(e.gmm_.score(X), abs=1e-9)
    R = e.gmm_.predict_proba(X)
    groups = getattr(e, 'component_clusters_', np.arange(3))
    P = np.stack([R[:, groups == c].sum(1) for c in range(3)], 1)
    np.testing.assert_allclose(e.predict_proba(X), P, atol=1e-9)


def test_diagonal_distances_closed_form_equal_frechet_distance(X):
    m = gmm_to_mfa(GaussianMixture(5, covariance_type='diag', random_state=0).fit(X))
    W = component_distances(m)
    np.testing.assert_allclose(W, frechet_distance(m.mu, m.A, m.log_d, m.mu, m.A, m.log_d).numpy(), atol=1e-10)
    assert (np.diag(W) == 0).all() and (W == W.T).all()


# ---------------------------------------------------------------- shapes and dtypes

@pytest.mark.parametrize('make', ESTIMATORS)
def test_prediction_shapes(X, make):
    e = make(random_state=0).fit(X)
    Xt = torch.from_numpy(X[:17]).float()          # a float32 tensor works like an array
    assert e.score_samples(Xt).shape == (17,) and e.score_samples(Xt).dtype == np.float64
    assert e.predict(Xt).shape == (17,) and e.predict(Xt).dtype == np.int64
    P = e.predict_proba(Xt)
    assert P.shape == (17, 3) and np.allclose(P.sum(1), 1)
    assert set(e.predict(X)) <= {0, 1, 2}
    assert isinstance(e.score(X), float) and e.n_features_in_ == 3 and isinstance(e.mixture_, MFA)


def test_spectral_default_components_and_resolution(X):
    e = SpectralGMM(2)
    assert e.get_params()['n_components'] is None
    e.fit(X[:120])
    assert e.n_components_ == 50 and e.mixture_.K == 50 and e.component_clusters_.shape == (50,)


def test_spectral_recovers_rings_where_matched_fails():
    X, _ = rings(600, 0)
    Xt, yt = rings(600, 1)
    assert cluster_accuracy(yt, SpectralGMM(2, 40, random_state=0).fit(X).predict(Xt)) == 1.
    assert cluster_accuracy(yt, MatchedGMM(2, 'full', random_state=0).fit(X).predict(Xt)) < 0.75


def test_spectral_groups_edge_cases():
    mu = torch.tensor([[0., 0.], [0.3, 0.], [10., 0.], [0., 0.2], [10., 0.3]], dtype=torch.float64)
    m = MFA(mu, torch.zeros(5, 2, 0, dtype=torch.float64), torch.full((5, 2), -2., dtype=torch.float64))
    assert cluster_accuracy([0, 0, 1, 0, 1], spectral_groups(m, 2, random_state=0)) == 1.
    assert (spectral_groups(m, 1) == 0).all() and (spectral_groups(m, 5) == np.arange(5)).all()


# ---------------------------------------------------------------- reproducibility

@pytest.mark.parametrize('make', ESTIMATORS)
def test_random_state_reproducible(X, make):
    a, b = make(random_state=3).fit(X), make(random_state=3).fit(X)
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    if hasattr(a, 'component_clusters_'): np.testing.assert_array_equal(a.component_clusters_, b.component_clusters_)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('make', ESTIMATORS)
def test_not_fitted(X, make, method):
    with pytest.raises(NotFittedError, match='not fitted yet: call `fit` first'):
        getattr(make(), method)(X)
    with pytest.raises(ValueError):                # NotFittedError is a ValueError too
        getattr(make(), method)(X)


def test_gmm_to_mfa_errors(X):
    with pytest.raises(NotFittedError, match='not fitted yet'): gmm_to_mfa(GaussianMixture(2))
    with pytest.raises(ValueError, match='must be a sklearn.mixture.GaussianMixture, got dict'): gmm_to_mfa({})
    g = GaussianMixture(2, random_state=0).fit(X); g.covariance_type = 'banded'
    with pytest.raises(ValueError, match="Unknown covariance type 'banded'"): gmm_to_mfa(g)


@pytest.mark.parametrize('make', ESTIMATORS)
def test_bad_X(X, make):
    e = make(random_state=0)
    with pytest.raises(ValueError, match=r'shape \(N, M\), got \(240,\)'): e.fit(X[:, 0])
    with pytest.raises(ValueError, match=r'shape \(N, M\), got \(2, 120, 3\)'): e.fit(X.reshape(2, 120, 3))
    with pytest.raises(ValueError, match='is empty'): e.fit(np.zeros((0, 3)))
    Xn = X.copy(); Xn[7, 2] = np.nan
    with pytest.raises(ValueError, match='NaN or infinite values .1 entries, first in row 7'): e.fit(Xn)
    Xi = X.copy(); Xi[0, 0] = np.inf
    with pytest.raises(ValueError, match='NaN or infinite'): e.fit(Xi)
    e.fit(X)
    with pytest.raises(ValueError, match='`X` has 2 features, but this .* was fitted on 3'): e.predict(X[:, :2])
    with pytest.raises(ValueError, match='NaN'): e.score_samples(Xn)


@pytest.mark.parametrize('kw, match', [
    (dict(n_clusters=0), '`n_clusters` must be an integer >= 1, got 0'),
    (dict(n_clusters=2.0), '`n_clusters` must be an integer >= 1, got 2.0'),
    (dict(n_clusters=True), '`n_clusters` must be an integer'),
    (dict(n_clusters=300), r'`n_clusters` = 300 is larger than the number of samples \(240\)'),
    (dict(n_clusters=2, covariance_type='banded'), "Unknown covariance type 'banded'; choose from 'full', 'tied', 'diag', 'spherical'"),
    (dict(n_clusters=2, reg_covar=-1e-3), '`reg_covar` must be a number >= 0'),
    (dict(n_clusters=2, n_init=0), '`n_init` must be an integer >= 1'),
    (dict(n_clusters=2, max_iter=0), '`max_iter` must be an integer >= 1'),
])
def test_bad_params_matched(X, kw, match):
    with pytest.raises(ValueError, match=match): MatchedGMM(**kw).fit(X)


@pytest.mark.parametrize('kw, match', [
    (dict(n_clusters=3, n_components=2), '`n_components` = 2 is the total number of Gaussians and must be >= `n_clusters` = 3'),
    (dict(n_clusters=10), r'`n_components` = 250 is larger than the number of samples \(240\)'),
    (dict(n_clusters=2, n_components=0), '`n_components` must be an integer >= 1'),
    (dict(n_clusters=2, n_neighbors=0), '`n_neighbors` must be an integer >= 1'),
    (dict(n_clusters=2, covariance_type='x'), "Unknown covariance type 'x'"),
])
def test_bad_params_spectral(X, kw, match):
    with pytest.raises(ValueError, match=match): SpectralGMM(**kw).fit(X)


def test_spectral_groups_errors():
    m = MFA(torch.zeros(4, 2, dtype=torch.float64), torch.zeros(4, 2, 0, dtype=torch.float64), torch.zeros(4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r'`n_clusters` = 5 is larger than the number of components \(4\)'): spectral_groups(m, 5)
    with pytest.raises(ValueError, match='must be a cpmm.mfa.MFA'): spectral_groups(m.mu, 2)
    with pytest.raises(ValueError, match='must be a cpmm.mfa.MFA'): component_distances(m.mu)
    assert spectral_groups(m, 2, random_state=0).shape == (4,)     # identical components: no 0/0 in the affinity
