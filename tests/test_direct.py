"Property and bad-input tests for cpmm.direct (the notebook 03_direct holds the worked checks)."
import json
import math
import numpy as np
import pytest
import torch
from torch.distributions import MultivariateNormal
from cpmm.direct import DirectMFA, Parameterization, INITS, init_params, soft_clip, unsoft_clip

METHODS = list(INITS)


def blobs(centres, n=30, scale=0.5, seed=0):
    "n points around each centre; returns X (K n, M) and labels (K n,)."
    g = torch.Generator().manual_seed(seed)
    centres = torch.as_tensor(centres, dtype=torch.float32)
    lab = torch.arange(len(centres)).repeat_interleave(n)
    return centres[lab] + scale * torch.randn(len(lab), centres.shape[1], generator=g), lab


def state(p):
    return {k: v.clone() for k, v in p.state_dict().items()}


# ---------------------------------------------------------------- soft clip

def test_soft_clip_floors_and_is_near_identity_above():
    raw = torch.linspace(-40, 20, 301, dtype=torch.float64)
    out = soft_clip(raw, -6.)
    assert (out > -6).all() and (out.diff() >= 0).all() and (out >= raw - 1e-12).all()
    assert (out[raw > -30].diff() > 0).all()                          # strictly increasing where float64 resolves it
    assert abs(out[0].item() + 6) < 1e-12
    above = raw >= 0
    assert (out[above] - raw[above]).abs().max() < 2.5e-3          # e^-(raw + 6) at most
    assert abs(soft_clip(torch.tensor(-6., dtype=torch.float64)).item() - (-6 + math.log(2))) < 1e-12
    assert abs(soft_clip(torch.tensor(-1., dtype=torch.float64), log_d_min=-1.).item() - (-1 + math.log(2))) < 1e-12


def test_unsoft_clip_inverts_soft_clip_above_the_margin():
    t = torch.tensor([-5.9, -3., 0., 2.5, 8.], dtype=torch.float64)
    torch.testing.assert_close(soft_clip(unsoft_clip(t, -6.), -6.), t)
    torch.testing.assert_close(soft_clip(unsoft_clip(torch.tensor([-9., -6.], dtype=torch.float64), -6.), -6.),
                               torch.tensor([-5.9, -5.9], dtype=torch.float64))


# ---------------------------------------------------------------- construction, forward, extract

def test_forward_shapes_and_gradients_reach_every_parameter():
    p = DirectMFA(3, 4, 5, 2, learn_pi=True).init_from_data(blobs(torch.randn(3, 5) * 5)[0], method='kmeans')
    h = p(p.pseudotimes(train=True, generator=torch.Generator().manual_seed(0)))
    assert (tuple(h.mu.shape), tuple(h.A.shape), tuple(h.log_d.shape), tuple(h.log_pi.shape), tuple(h.log_eta.shape)) == \
        ((3, 4, 5), (3, 4, 5, 2), (3, 4, 5), (3, 4), (3,))
    h.log_prob(torch.randn(20, 5) * 5).mean().backward()
    names = {n for n, _ in p.named_parameters()}
    assert names == {'log_eta', 'mu', 'A', 'raw_log_d', 'log_pi'}
    for n, q in p.named_parameters(): assert q.grad is not None and q.grad.abs().sum() > 0, n


def test_forward_needs_G_pseudotimes_and_ignores_their_values():
    p = DirectMFA(2, 3, 2, 1)
    a, b = p(torch.linspace(0, 1, 3)), p(torch.tensor([0.1, 0.15, 0.9]))
    for k in a.params(): torch.testing.assert_close(a.params()[k], b.params()[k])
    for bad in (torch.linspace(0, 1, 4), torch.zeros(3, 1), torch.zeros(0)):
        with pytest.raises(ValueError, match='1-D tensor of 3 pseudotimes'): p(bad)
    with pytest.raises(ValueError, match='1-D tensor of 3'): p([0., 0.5, 1.])


def test_pseudotimes_even_when_evaluating_sorted_draws_when_training():
    p = DirectMFA(1, 6, 2, 1)
    torch.testing.assert_close(p.pseudotimes(), torch.linspace(0, 1, 6))
    torch.testing.assert_close(p.pseudotimes(3), torch.tensor([0., 0.5, 1.]))
    t1 = p.pseudotimes(50, train=True, generator=torch.Generator().manual_seed(3))
    t2 = p.pseudotimes(50, train=True, generator=torch.Generator().manual_seed(3))
    assert torch.equal(t1, t2) and (t1.diff() >= 0).all() and t1.min() >= 0 and t1.max() <= 1
    assert len(t1.unique()) == 50                                     # draws, not a grid
    assert p.double().pseudotimes(train=True).dtype == torch.float64
    with pytest.raises(ValueError, match='`n`'): p.pseudotimes(0)


def test_extract_is_detached_equals_forward_and_is_a_copy():
    p = DirectMFA(2, 3, 4, 2, learn_pi=True, constant_diagonal=True).init_from_data(torch.randn(40, 4), method='random')
    e, h = p.extract(), p(torch.linspace(0, 1, 3))
    for k, v in e.params().items():
        assert not v.requires_grad and v.grad_fn is None, k
        assert torch.equal(v, h.params()[k].detach()), k
    before = {k: v.clone() for k, v in e.params().items()}
    with torch.no_grad():
        for q in p.parameters(): q.add_(1.)
    for k, v in e.params().items(): assert torch.equal(v, before[k]), k
    with pytest.raises(ValueError, match='3 pseudotimes'): p.extract(5)


def test_learn_pi_false_keeps_uniform_weights_out_of_training_and_saving():
    p = DirectMFA(2, 3, 2, 1)
    assert 'log_pi' not in dict(p.named_parameters()) and 'log_pi' not in p.state_dict()
    assert torch.equal(p(p.pseudotimes()).log_pi, torch.zeros(2, 3))
    q = DirectMFA(2, 3, 2, 1, learn_pi=True)
    assert 'log_pi' in dict(q.named_parameters()) and 'log_pi' in q.state_dict()


def test_constant_diagonal_one_log_d_per_cluster():
    # cluster 0 has per-dim variances (1, 4) * 0.25, cluster 1 (1, 4) * 4: one log d each, log of the mean variance
    g = torch.Generator().manual_seed(0)
    X = torch.cat([torch.randn(4000, 2, generator=g) * torch.tensor([0.5, 1.]),
                   torch.randn(4000, 2, generator=g) * torch.tensor([2., 4.]) + 100])
    y = torch.arange(2).repeat_interleave(4000)
    p = DirectMFA(2, 3, 2, 1, constant_diagonal=True)
    assert tuple(p.raw_log_d.shape) == (2, 1, 1)
    p.init_from_data(X, y, method='random')
    ld = p.extract().log_d
    assert torch.equal(ld, ld[:, :1, :1].expand(2, 3, 2))
    torch.testing.assert_close(ld[:, 0, 0], torch.tensor([math.log(0.625), math.log(10.)]), atol=0.06, rtol=0)
    p(p.pseudotimes()).log_prob(X[:10]).sum().backward()               # still one value after a step
    with torch.no_grad(): p.raw_log_d.sub_(0.1 * p.raw_log_d.grad)
    ld = p.extract().log_d
    assert torch.equal(ld, ld[:, :1, :1].expand(2, 3, 2))
    assert sum(q.numel() for q in p.parameters()) == 2 + 2 * 3 * 2 + 2 * 3 * 2 + 2


# ---------------------------------------------------------------- initialisation

@pytest.mark.parametrize('method', METHODS)
def test_init_is_deterministic_for_a_seed(method):
    X, _ = blobs(torch.randn(3, 4, generator=torch.Generator().manual_seed(1)) * 4, n=20)
    a = state(DirectMFA(3, 2, 4, 2).init_from_data(X, method=method, seed=7))
    b = state(DirectMFA(3, 2, 4, 2).init_from_data(X, method=method, seed=7))
    for k in a: assert torch.equal(a[k], b[k]), k
    if method != 'kmeans_fa':                                         # an exact FA fit needs no randomness
        c = state(DirectMFA(3, 2, 4, 2).init_from_data(X, method=method, seed=8))
        assert any(not torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize('method', METHODS)
def test_supervised_init_uses_class_c_for_cluster_c(method):
    centres = torch.tensor([[0., 0.], [10., 0.], [0., 10.]])
    X, lab = blobs(centres, n=20, scale=0.5)
    perm = torch.tensor([1, 2, 0])                                     # class perm[k] lives at centres[k]
    y = perm[lab]
    p = DirectMFA(3, 2, 2, 1).init_from_data(X, y, method=method)
    for c in range(3):
        Xc = X[y == c]
        lo, hi = Xc.min(0).values, Xc.max(0).values
        mu = p.mu[c].detach()
        assert ((mu >= lo - 1e-5) & (mu <= hi + 1e-5)).all(), (c, mu, lo, hi)
        if method == 'random':                                        # the means are points of class c
            assert all((Xc == m).all(1).any() for m in mu)
    assert torch.equal(p.extract().predict(X), y)
    # labels that cut across the geometry: each cluster still comes from its own class only
    y2 = (X[:, 0] > 5).long()                                           # class 1: the blob at (10, 0)
    q = DirectMFA(2, 1, 2, 1).init_from_data(X, y2, method=method)
    if method != 'random':
        torch.testing.assert_close(q.mu[:, 0].detach(), torch.stack([X[y2 == 0].mean(0), X[y2 == 1].mean(0)]))


def test_kmeans_is_hierarchical_clusters_first_then_components_inside():
    # two pairs of nearby blobs: C = 2 clusters are the pairs, G = 2 components the blobs inside each pair
    centres = torch.tensor([[0., 0.], [3., 0.], [40., 0.], [43., 0.]])
    X, lab = blobs(centres, n=30, scale=0.3)
    p = DirectMFA(2, 2, 2, 1).init_from_data(X, method='kmeans')
    mu = p.mu.detach()
    pairs = sorted(sorted(round(v) for v in mu[c, :, 0].tolist()) for c in range(2))
    assert pairs == [[0, 3], [40, 43]], mu
    pred = p.extract().predict(X)
    assert len(pred[lab < 2].unique()) == 1 and len(pred[lab >= 2].unique()) == 1 and pred[0] != pred[-1]


def test_kmeans_fa_recovers_each_clusters_factor_analyser():
    g = torch.Generator().manual_seed(5)
    M, R, N = 7, 2, 2500
    Xs, Ss = [], []
    for shift in (0., 50.):
        A = torch.randn(M, R, generator=g, dtype=torch.float64)
        d = 0.1 + 0.3 * torch.rand(M, generator=g, dtype=torch.float64)
        Xs.append(shift + torch.randn(N, R, generator=g, dtype=torch.float64) @ A.T
                  + d.sqrt() * torch.randn(N, M, generator=g, dtype=torch.float64))
        Ss.append(A @ A.T + torch.diag(d))
    p = DirectMFA(2, 1, M, R).double().init_from_data(torch.cat(Xs), method='kmeans_fa')
    cov = p.extract().flatten().covariance
    order = p.mu[:, 0, 0].detach().argsort()                           # cluster near 0 first
    for c, S in zip(order.tolist(), Ss):
        assert (cov[c] - S).norm() / S.norm() < 0.06
    # plain k-means with small loadings does not: its diagonal holds all the variance
    q = DirectMFA(2, 1, M, R).double().init_from_data(torch.cat(Xs), method='kmeans')
    assert (q.extract().flatten().covariance[order[0]] - Ss[0]).norm() / Ss[0].norm() > 0.3


def test_kmeans_clusters_recover_well_separated_blobs():
    X, lab = blobs(torch.tensor([[0., 0.], [9., 1.], [2., 9.]]), n=40, scale=0.8, seed=4)
    pred = DirectMFA(3, 2, 2, 1).init_from_data(X, method='kmeans', seed=1).extract().predict(X)
    cont = torch.zeros(3, 3); cont.index_put_((lab, pred), torch.ones(len(lab)), accumulate=True)
    assert ((cont > 0).sum(1) == 1).all() and ((cont > 0).sum(0) == 1).all()


def test_init_standard_normal_is_close_to_standard_normal():
    p = DirectMFA(3, 4, 6, 2).init_standard_normal(scale=0.01, seed=2)
    h = p.extract()
    assert h.mu.abs().max() < 0.05 and h.A.abs().max() < 0.05 and h.log_d.abs().max() < 0.05
    x = torch.randn(300, 6)
    ref = MultivariateNormal(torch.zeros(6), torch.eye(6)).log_prob(x)
    assert (h.log_prob(x) - ref).abs().max() < 0.1
    z = DirectMFA(2, 2, 6, 2).init_standard_normal(scale=0., seed=0).extract()
    torch.testing.assert_close(z.log_prob(x), ref, atol=1e-4, rtol=0)
    a, b = (DirectMFA(2, 2, 3, 1).init_standard_normal(seed=s).mu for s in (0, 1))
    assert not torch.equal(a, b)
    assert torch.equal(DirectMFA(2, 2, 3, 1).mu, DirectMFA(2, 2, 3, 1).init_standard_normal(seed=0).mu)  # the default start


def test_init_resets_the_weights_to_uniform():
    p = DirectMFA(2, 2, 2, 1, learn_pi=True)
    with torch.no_grad(): p.log_eta.fill_(3.); p.log_eta[0] = -1; p.log_pi.normal_()
    p.init_from_data(torch.randn(20, 2), method='kmeans')
    assert torch.equal(p.log_eta.detach(), torch.zeros(2)) and torch.equal(p.log_pi.detach(), torch.zeros(2, 2))


@pytest.mark.parametrize('method', METHODS)
def test_small_classes_constant_dims_and_odd_ranks(method):
    X = np.random.RandomState(0).randn(13, 3)
    X[:, 2] = 1.5                                                      # a constant column: zero variance
    y = np.array([0] * 12 + [1])                                       # class 1 has one point, G = 4
    for R in (0, 2, 5):                                                # no loadings, R < M, R > M
        p = DirectMFA(2, 4, 3, R).init_from_data(X, y, method=method)
        h = p.extract()
        for k, v in h.params().items(): assert torch.isfinite(v).all(), (R, k)
        assert (h.log_d >= -6).all() and (h.log_d[..., 2] < -5.5).all()  # floored, not -inf
        assert len(torch.unique(h.mu[1], dim=0)) == 4                  # distinct components from one point
        torch.testing.assert_close(h.mu[1].mean(0), torch.tensor(X[12], dtype=torch.float32), atol=0.05, rtol=0)
        assert torch.isfinite(h.log_prob(torch.tensor(X, dtype=torch.float32))).all()


def test_init_params_on_its_own():
    X, lab = blobs(torch.tensor([[0., 0.], [10., 10.]]), n=25)
    P = init_params(X, n_clusters=2, n_components=3, rank=2, y=lab, method='kmeans_fa', log_d_min=-2.)
    assert {k: tuple(v.shape) for k, v in P.items()} == {'mu': (2, 3, 2), 'A': (2, 3, 2, 2), 'log_d': (2, 3, 2)}
    assert all(v.dtype == torch.float64 for v in P.values()) and (P['log_d'] >= -2).all()


def test_gradient_steps_increase_the_likelihood():
    X, _ = blobs(torch.tensor([[0., 0.], [6., 0.]]), n=40, scale=1.)
    p = DirectMFA(2, 3, 2, 1, learn_pi=True).init_from_data(X, method='random')
    opt = torch.optim.Adam(p.parameters(), lr=0.05)
    nll = lambda: -p(p.pseudotimes()).log_prob(X).mean()
    start = nll().item()
    for _ in range(25): opt.zero_grad(); nll().backward(); opt.step()
    assert nll().item() < start - 0.1


def test_config_round_trip_and_float64():
    X, _ = blobs(torch.tensor([[0., 0.], [6., 0.]]), n=20)
    for kw in (dict(), dict(learn_pi=True, constant_diagonal=True, log_d_min=-4.)):
        p = DirectMFA(2, 3, 2, 1, **kw).init_from_data(X)
        with torch.no_grad(): p.log_eta.copy_(torch.tensor([0.3, -0.3]))
        cfg = json.loads(json.dumps(p.config()))
        assert cfg == dict(n_clusters=2, n_components=3, n_dims=2, rank=1, log_d_min=kw.get('log_d_min', -6.),
                           learn_pi=kw.get('learn_pi', False), constant_diagonal=kw.get('constant_diagonal', False))
        q = DirectMFA(**cfg); q.load_state_dict(p.state_dict())
        assert torch.equal(q.extract().log_prob(X), p.extract().log_prob(X))
    p = DirectMFA(2, 2, 2, 1).double().init_from_data(X.double())
    assert all(v.dtype == torch.float64 for v in p.extract().params().values())
    assert 'n_clusters=2' in repr(p) and 'learn_pi=False' in repr(p)


# ---------------------------------------------------------------- bad input

X0, Y0 = blobs(torch.tensor([[0., 0.], [5., 5.], [0., 9.]]), n=5)


@pytest.mark.parametrize('call, msg', [
    (lambda p: p.init_from_data(torch.randn(15, 3)), r'shape \(N, 2\)'),
    (lambda p: p.init_from_data(torch.randn(15, 1, 2, 1)), 'Flatten images'),
    (lambda p: p.init_from_data(torch.randn(15)), r'shape \(N, M\)'),
    (lambda p: p.init_from_data(torch.full((15, 2), float('nan'))), r'NaN or infinite values \(30 entries\)'),
    (lambda p: p.init_from_data(torch.tensor([[0., -float('inf')]] * 5)), 'NaN or infinite'),
    (lambda p: p.init_from_data(np.array([['a', 'b']] * 5)), 'numeric'),
    (lambda p: p.init_from_data(X0, method='gmm'), "Unknown init method 'gmm'; choose from 'random', 'kmeans', 'kmeans_fa'"),
    (lambda p: p.init_from_data(X0, Y0 + 1), r'out of range 0\.\.2 for 3 clusters: \[3\]'),
    (lambda p: p.init_from_data(X0, Y0 - 1), r'out of range 0\.\.2 for 3 clusters: \[-1\]'),
    (lambda p: p.init_from_data(X0, Y0 % 2), r'no samples of class \[2\]'),
    (lambda p: p.init_from_data(X0, Y0.float()), 'integer labels'),
    (lambda p: p.init_from_data(X0, Y0[:4]), r'shape \(N,\) = \(15,\)'),
    (lambda p: p.init_from_data(X0[:2]), 'at least C = 3 samples'),
    (lambda p: p.init_from_data(X0, seed=-1), '`seed`'),
    (lambda p: p.init_standard_normal(scale=float('nan')), '`scale`'),
    (lambda p: p.init_standard_normal(seed=1.5), '`seed`'),
    (lambda p: p.pseudotimes(2.), '`n`'),
])
def test_bad_input_raises_value_error_naming_the_problem(call, msg):
    p = DirectMFA(3, 2, 2, 1)
    before = state(p)
    with pytest.raises(ValueError, match=msg): call(p)
    for k, v in state(p).items(): assert torch.equal(v, before[k]), k   # nothing half-written


@pytest.mark.parametrize('kw, msg', [
    (dict(n_clusters=0), '`n_clusters` must be an integer >= 1, got 0'),
    (dict(n_components=2.), '`n_components`'),
    (dict(n_dims=True), '`n_dims`'),
    (dict(rank=-1), '`rank` must be an integer >= 0'),
    (dict(log_d_min=float('-inf')), '`log_d_min`'),
])
def test_bad_sizes(kw, msg):
    with pytest.raises(ValueError, match=msg): DirectMFA(**{**dict(n_clusters=2, n_components=2, n_dims=2, rank=1), **kw})


def test_base_class_leaves_the_model_to_subclasses():
    p = Parameterization(2, 3, 4, 1)
    assert torch.equal(p.log_eta.detach(), torch.zeros(2)) and isinstance(p.log_eta, torch.nn.Parameter)
    for f in (lambda: p(p.pseudotimes()), lambda: p.init_from_data(torch.randn(5, 4)), lambda: p.init_standard_normal()):
        with pytest.raises(NotImplementedError): f()
    assert Parameterization(**p.config()).config() == p.config()
