"Bad inputs and properties of `cpmm.metrics`, against independent references (brute force, dense linear algebra, closed forms)."
import math
from itertools import permutations

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from cpmm.metrics import bpd, nats_per_dim, cluster_accuracy, ari, nmi, ood_scores, frechet_distance

SEEDS = range(8)


# ---------------------------------------------------------------- likelihood

def test_bpd_uniform_density_is_8_bits():
    # y = x′ and p = 1 on (0, 1)^M: the exact density of the dequantized noise
    assert bpd(np.zeros(7), np.zeros(7), n_dims=784) == 8.0
    assert bpd(torch.zeros(3), 0., n_dims=1) == 8.0


def test_bpd_logistic_is_exact_density_of_logit_uniform():
    rng = np.random.default_rng(0)
    xp = rng.random((500, 4))
    y = np.log(xp) - np.log1p(-xp)
    log_p = (-y - 2 * np.log1p(np.exp(-y))).sum(1)
    log_det = -(np.log(xp) + np.log1p(-xp)).sum(1)
    assert bpd(log_p, log_det, 4) == pytest.approx(8.0, abs=1e-10)


def test_bpd_gaussian_by_hand():
    # one pixel at x′ = 1/2: y = 0, dy/dx′ = 4, log N(0; 0, 1) = −½ log 2π
    assert bpd([-0.5 * math.log(2 * math.pi)], [math.log(4)], 1) == pytest.approx(6 + 0.5 * math.log2(2 * math.pi), abs=1e-12)


def test_bpd_is_mean_over_samples_and_shifts_by_log_det():
    lp, ld = np.array([-1000., -3000.]), np.array([10., 30.])
    assert bpd(lp, ld, 100) == pytest.approx(-(lp + ld).mean() / (100 * math.log(2)) + 8, rel=1e-14)
    # a larger log-det (more density in x′ space) lowers the code length
    assert bpd(lp, ld + 100, 100) < bpd(lp, ld, 100)
    assert isinstance(bpd(torch.tensor(lp), torch.tensor(ld), 100), float)


def test_nats_per_dim():
    assert nats_per_dim([-2., -4.], 2) == 1.5
    assert nats_per_dim([-2., -4.], 2, log_det=[1., 1.]) == 1.0
    assert nats_per_dim(torch.tensor([-2., -4.]), 2, log_det=0.) == nats_per_dim([-2., -4.], 2)


@pytest.mark.parametrize('call, msg', [
    (lambda: bpd(np.zeros(3), np.zeros(2), 4), 'shape (3,)'),
    (lambda: bpd(np.zeros(3), np.zeros(1), 4), 'shape (3,)'),
    (lambda: bpd(np.zeros((3, 2)), 0., 4), 'shape (N,)'),
    (lambda: bpd([], 0., 4), 'empty'),
    (lambda: bpd([0., np.nan], 0., 4), 'NaN at index 1'),
    (lambda: bpd([0., np.inf], 0., 4), 'inf at index 1'),
    (lambda: bpd([0.], [-np.inf], 4), '`log_det` contains -inf'),
    (lambda: bpd([0.], 0., 0), 'positive int'),
    (lambda: bpd([0.], 0., True), 'positive int'),
    (lambda: nats_per_dim([0.], 1.5), 'positive int'),
    (lambda: nats_per_dim(['a'], 1), 'must hold numbers'),
])
def test_likelihood_bad_inputs(call, msg):
    with pytest.raises(ValueError, match=None) as e: call()
    assert msg in str(e.value)


# ---------------------------------------------------------------- clustering

def _brute_accuracy(yt, yp):
    "Best one-to-one matching by enumerating every injective map from the smaller label set into the larger."
    cs, ks = np.unique(yt), np.unique(yp)
    best = 0
    if len(ks) >= len(cs):
        for perm in permutations(ks, len(cs)):
            best = max(best, sum(((yt == c) & (yp == k)).sum() for c, k in zip(cs, perm)))
    else:
        for perm in permutations(cs, len(ks)):
            best = max(best, sum(((yt == c) & (yp == k)).sum() for c, k in zip(perm, ks)))
    return best / len(yt)


@pytest.mark.parametrize('seed', SEEDS)
def test_accuracy_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_cls, n_clu = rng.integers(1, 5), rng.integers(1, 6)
    yt, yp = rng.integers(0, n_cls, 40), rng.integers(0, n_clu, 40)
    assert cluster_accuracy(yt, yp) == pytest.approx(_brute_accuracy(yt, yp))


@pytest.mark.parametrize('seed', SEEDS)
def test_accuracy_perfect_and_invariant_to_relabelling(seed):
    rng = np.random.default_rng(seed)
    yt = rng.integers(0, 6, 60)
    names = rng.permutation(100)[:6] - 20                    # arbitrary ints, some negative
    yp = names[yt]
    assert cluster_accuracy(yt, yp) == 1.0
    yp2 = rng.integers(0, 6, 60)
    renamed = rng.permutation(6)[yp2] * 7 + 3
    assert cluster_accuracy(yt, renamed) == pytest.approx(cluster_accuracy(yt, yp2))
    assert cluster_accuracy(rng.permutation(6)[yt], yp2) == pytest.approx(cluster_accuracy(yt, yp2))


@pytest.mark.parametrize('seed', SEEDS)
def test_accuracy_chance_bound_and_conventions(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    yt, yp = rng.integers(0, k, 50), rng.integers(0, k, 50)
    yt[:k], yp[:k] = np.arange(k), np.arange(k)              # every label used, so the table is k × k
    acc = cluster_accuracy(yt, yp)
    assert acc >= 1 / k - 1e-12                               # the best matching beats the average permutation
    assert cluster_accuracy(yt, yp, many_to_one=True) >= acc
    assert cluster_accuracy(yt, yp, many_to_one=True) == pytest.approx(
        sum(np.bincount(yt[yp == c]).max() for c in np.unique(yp)) / len(yt))


def test_accuracy_over_and_under_clustering():
    yt = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    split = np.array([0, 0, 2, 2, 1, 1, 3, 3])               # each class split in two clusters
    assert cluster_accuracy(yt, split) == 0.5                 # one-to-one: unmatched clusters are errors
    assert cluster_accuracy(yt, split, many_to_one=True) == 1.0
    assert cluster_accuracy(yt, np.zeros(8, int)) == 0.5      # one cluster for two classes
    assert cluster_accuracy(yt, np.arange(8), many_to_one=True) == 1.0  # the over-clustering caveat


def test_negative_true_labels_are_outliers():
    yt = np.array([0, 0, 1, 1, -1, -1])
    yp = np.array([4, 4, 5, 5, 4, 5])
    assert cluster_accuracy(yt, yp) == 1.0
    assert cluster_accuracy(yt, yp, ignore_negative=False) == pytest.approx(4 / 6)
    assert ari(yt, yp) == 1.0 and nmi(yt, yp) == pytest.approx(1.0)
    assert ari(yt, yp, ignore_negative=False) == pytest.approx(adjusted_rand_score(yt, yp))
    # a negative *predicted* label is an ordinary cluster
    assert cluster_accuracy([0, 0, 1, 1], [-1, -1, 3, 3]) == 1.0


@pytest.mark.parametrize('seed', SEEDS)
def test_ari_nmi_match_sklearn_and_are_label_invariant(seed):
    rng = np.random.default_rng(seed)
    yt, yp = rng.integers(0, 4, 50), rng.integers(0, 5, 50)
    assert ari(yt, yp) == pytest.approx(adjusted_rand_score(yt, yp), abs=1e-12)
    assert nmi(torch.tensor(yt), list(yp)) == pytest.approx(normalized_mutual_info_score(yt, yp), abs=1e-12)
    renamed = rng.permutation(5)[yp] + 10
    assert ari(yt, renamed) == pytest.approx(ari(yt, yp), abs=1e-12)
    assert nmi(yt, renamed) == pytest.approx(nmi(yt, yp), abs=1e-12)
    assert ari(yt, yt + 3) == 1.0 and nmi(yt, 2 * yt) == pytest.approx(1.0)


@pytest.mark.parametrize('fn', [cluster_accuracy, ari, nmi])
@pytest.mark.parametrize('args, msg', [
    (([0, 1, 2], [0, 1]), 'same length, got 3 and 2'),
    (([], []), 'empty'),
    (([[0, 1]], [[0, 1]]), 'shape (N,)'),
    (([0.5, 1.0], [0, 1]), 'integer labels'),
    ((['a', 'b'], [0, 1]), 'integer labels'),
    (([-1, -2], [0, 1]), 'ignore_negative=False'),
])
def test_clustering_bad_inputs(fn, args, msg):
    with pytest.raises(ValueError) as e: fn(*args)
    assert msg in str(e.value)


# ---------------------------------------------------------------- OOD

def _mann_whitney_auroc(pos, neg):
    "P(score of a positive > score of a negative) + ½ P(tie), by counting pairs."
    d = np.asarray(pos)[:, None] - np.asarray(neg)[None]
    return (d > 0).mean() + 0.5 * (d == 0).mean()


@pytest.mark.parametrize('seed', SEEDS)
def test_ood_auroc_is_mann_whitney_and_fractions(seed):
    rng = np.random.default_rng(seed)
    s_in, s_out = rng.normal(1, 1, 40).round(1), rng.normal(0, 1, 30).round(1)  # rounding makes ties
    r = ood_scores(s_in, s_out)
    assert set(r) == {'auroc', 'aupr'}
    assert r['auroc'] == pytest.approx(_mann_whitney_auroc(s_in, s_out), abs=1e-12)
    assert 0 <= r['aupr'] <= 1
    assert ood_scores(s_out, s_in)['auroc'] == pytest.approx(1 - r['auroc'], abs=1e-12)  # in-distribution is positive


def test_ood_separation_and_aupr():
    assert ood_scores([-1., -2.], [-3., -4.]) == {'auroc': 1.0, 'aupr': 1.0}
    assert ood_scores([-3., -4.], [-1., -2.])['auroc'] == 0.0
    # AUPR with in-distribution positive: ranks in, out, in -> precision 1 at recall ½, 2/3 at recall 1
    assert ood_scores([0., -2.], [-1.])['aupr'] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_ood_neg_inf_ranks_lowest():
    r = ood_scores([0., -np.inf, 2.], [-1e6, 1.])
    assert r == ood_scores([0., -1e6 - 1, 2.], [-1e6, 1.])
    assert ood_scores([-np.inf], [-np.inf])['auroc'] == 0.5


@pytest.mark.parametrize('args, msg', [
    (([0., np.nan], [1.]), '`log_p_in` contains NaN at index 1'),
    (([0.], [np.inf]), '`log_p_out` contains inf'),
    (([], [1.]), '`log_p_in` is empty'),
    (([0.], np.zeros((2, 1))), '`log_p_out` must have shape (N,)'),
])
def test_ood_bad_inputs(args, msg):
    with pytest.raises(ValueError) as e: ood_scores(*args)
    assert msg in str(e.value)


# ---------------------------------------------------------------- Fréchet distance

def _dense(mu1, A1, ld1, mu2, A2, ld2):
    "Reference in float64: tr((S1 S2)^½) from the eigenvalues of L1ᵀ S2 L1 with S1 = L1 L1ᵀ (Cholesky)."
    mu1, A1, ld1, mu2, A2, ld2 = (np.asarray(v, dtype=np.float64) for v in (mu1, A1, ld1, mu2, A2, ld2))
    S1, S2 = np.diag(np.exp(ld1)) + A1 @ A1.T, np.diag(np.exp(ld2)) + A2 @ A2.T
    L1 = np.linalg.cholesky(S1)
    ev = np.linalg.eigvalsh(L1.T @ S2 @ L1)
    return ((mu1 - mu2) ** 2).sum() + np.trace(S1) + np.trace(S2) - 2 * np.sqrt(np.clip(ev, 0, None)).sum()


def _trace(mu, A, log_d):
    "tr S1 + tr S2 for S1 = S2 = D + AAᵀ, the scale of the cross term: (K,)."
    return 2 * (log_d.exp().sum(-1) + A.square().sum((-2, -1)))


def _random(rng, K, M, R, spread=2.):
    return (torch.tensor(rng.normal(size=(K, M))), torch.tensor(rng.normal(size=(K, M, R)) * rng.uniform(0.1, 3)),
            torch.tensor(spread * rng.normal(size=(K, M)) - 1))


@pytest.mark.parametrize('seed', SEEDS)
def test_frechet_matches_dense(seed):
    rng = np.random.default_rng(seed)
    M, R1, R2 = int(rng.integers(1, 25)), int(rng.integers(0, 5)), int(rng.integers(0, 5))
    p1, p2 = _random(rng, 3, M, R1), _random(rng, 4, M, R2)
    F = frechet_distance(*p1, *p2)
    assert F.shape == (3, 4) and F.dtype == torch.float64
    ref = np.array([[_dense(*(v[i] for v in p1), *(v[j] for v in p2)) for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(F.numpy(), ref, rtol=1e-7, atol=1e-9 * np.abs(ref).max())


def test_frechet_matches_dense_at_larger_m():
    rng = np.random.default_rng(1)
    p1, p2 = _random(rng, 2, 300, 8, spread=1.5), _random(rng, 2, 300, 6, spread=1.5)
    F = frechet_distance(*p1, *p2)
    ref = np.array([[_dense(*(v[i] for v in p1), *(v[j] for v in p2)) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(F.numpy(), ref, rtol=1e-7)


@pytest.mark.parametrize('seed', SEEDS)
def test_frechet_symmetric_nonnegative_zero_on_self(seed):
    rng = np.random.default_rng(seed)
    p = _random(rng, 5, 12, 3)
    F = frechet_distance(*p, *p)
    scale = _trace(*p).max().item()                          # the error is relative to tr S1 + tr S2
    assert (F >= 0).all()
    torch.testing.assert_close(F, F.T, rtol=0, atol=1e-9 * scale)
    torch.testing.assert_close(F.diagonal(), torch.zeros(5, dtype=F.dtype), rtol=0, atol=1e-9 * scale)


@pytest.mark.parametrize('seed', SEEDS)
def test_frechet_equal_covariances_is_squared_mean_distance(seed):
    rng = np.random.default_rng(seed)
    mu, A, ld = _random(rng, 1, 15, 4)
    mu2 = mu + torch.tensor(rng.normal(size=(1, 15)))
    F = frechet_distance(mu[0], A[0], ld[0], mu2[0], A[0], ld[0])
    assert F.ndim == 0
    assert F.item() == pytest.approx((mu - mu2).square().sum().item(), abs=1e-9 * _trace(mu, A, ld).item())


def test_frechet_closed_forms():
    # one dimension: (μ1 − μ2)² + (σ1 − σ2)²
    F = frechet_distance([1.], [[2.]], [math.log(5.)], [-1.], [[0.]], [math.log(4.)])
    assert F.item() == pytest.approx(4 + (3 - 2) ** 2, rel=1e-9)
    # pure diagonals commute: Σ (√d1 − √d2)²
    ld1, ld2 = torch.tensor([0., 2., -3.], dtype=torch.float64), torch.tensor([1., -1., 4.], dtype=torch.float64)
    F = frechet_distance(torch.zeros(3), torch.zeros(3, 0), ld1, torch.zeros(3), torch.zeros(3, 0), ld2)
    assert F.item() == pytest.approx(((ld1 / 2).exp() - (ld2 / 2).exp()).square().sum().item(), rel=1e-12)


@pytest.mark.parametrize('seed', SEEDS[:4])
def test_frechet_scales_quadratically(seed):
    rng = np.random.default_rng(seed)
    p1, p2 = _random(rng, 2, 10, 3), _random(rng, 3, 10, 2)
    c = 3.7
    scaled = lambda p: (c * p[0], c * p[1], p[2] + 2 * math.log(c))
    torch.testing.assert_close(frechet_distance(*scaled(p1), *scaled(p2)), c ** 2 * frechet_distance(*p1, *p2), rtol=1e-8, atol=0)


def test_frechet_batch_shapes_and_dtypes():
    rng = np.random.default_rng(0)
    p1, p2 = _random(rng, 3, 6, 2), _random(rng, 4, 6, 2)
    F = frechet_distance(*p1, *p2)
    one = lambda p, i: tuple(v[i] for v in p)
    torch.testing.assert_close(frechet_distance(*one(p1, 1), *p2), F[1], rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(frechet_distance(*p1, *one(p2, 2)), F[:, 2], rtol=1e-8, atol=1e-10)
    assert frechet_distance(*one(p1, 1), *one(p2, 2)).shape == ()
    assert frechet_distance(*(v.float() for v in p1), *(v.float() for v in p2)).dtype == torch.float32
    np_out = frechet_distance(*(v.numpy() for v in p1), *(v.numpy() for v in p2))
    torch.testing.assert_close(np_out, F)
    assert frechet_distance(torch.zeros(0, 6), torch.zeros(0, 6, 2), torch.zeros(0, 6), *p2).shape == (0, 4)


def test_frechet_constant_diagonal():
    # the paper's constant-diagonal ablation: D = c I
    rng = np.random.default_rng(3)
    mu, A, _ = _random(rng, 3, 40, 5)
    ld = torch.tensor([[-2.], [0.5], [1.]], dtype=torch.float64).expand(3, 40)
    F = frechet_distance(mu, A, ld, mu.flip(0), A.flip(0), ld.flip(0))
    ref = np.array([[_dense(mu[i], A[i], ld[i], mu[2 - j], A[2 - j], ld[2 - j]) for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(F.numpy(), ref, rtol=1e-7, atol=1e-9 * ref.max())


def test_frechet_blocks_agree():
    # many pairs force several blocks; each pair must equal its one-pair value up to the grid's tiny effect
    import cpmm.metrics as m
    rng = np.random.default_rng(4)
    p1, p2 = _random(rng, 7, 30, 3), _random(rng, 5, 30, 3)
    old = m._CHUNK_BYTES
    try:
        m._CHUNK_BYTES = 1
        F_small = frechet_distance(*p1, *p2)
    finally:
        m._CHUNK_BYTES = old
    torch.testing.assert_close(F_small, frechet_distance(*p1, *p2), rtol=1e-12, atol=0)


@pytest.mark.parametrize('args, msg', [
    ((np.zeros(3), np.zeros((4, 2)), np.zeros(3), np.zeros(3), np.zeros((3, 1)), np.zeros(3)), "`A1` must have shape (3, 'R')"),
    ((np.zeros(3), np.zeros((3, 2)), np.zeros(2), np.zeros(3), np.zeros((3, 1)), np.zeros(3)), '`log_d1` must have shape (3,)'),
    ((np.zeros(3), np.zeros((3, 2)), np.zeros(3), np.zeros(4), np.zeros((4, 1)), np.zeros(4)), 'same dimension M, got 3 and 4'),
    ((np.zeros((1, 1, 3)), np.zeros((1, 1, 3, 1)), np.zeros((1, 1, 3)), np.zeros(3), np.zeros((3, 1)), np.zeros(3)), '`mu1` must have shape (M,) or (K, M)'),
    ((np.zeros((2, 3)), np.zeros((2, 3, 1)), np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((3, 3, 1)), np.zeros((2, 3))), "`A2` must have shape (2, 3, 'R')"),
    ((np.zeros(3), np.zeros((3, 1)), np.zeros(3), np.zeros(3), np.full((3, 1), np.nan), np.zeros(3)), '`A2` contains NaN'),
    ((np.array([0., np.inf, 0.]), np.zeros((3, 1)), np.zeros(3), np.zeros(3), np.zeros((3, 1)), np.zeros(3)), '`mu1` contains NaN or infinite'),
    ((np.zeros(3), np.zeros((3, 1)), np.zeros(3), np.zeros(3), np.zeros((3, 1)), np.full(3, -800.)), '`log_d2` has values outside'),
    ((np.zeros(0), np.zeros((0, 1)), np.zeros(0), np.zeros(0), np.zeros((0, 1)), np.zeros(0)), 'M = 0'),
])
def test_frechet_bad_inputs(args, msg):
    with pytest.raises(ValueError) as e: frechet_distance(*args)
    assert msg in str(e.value)
