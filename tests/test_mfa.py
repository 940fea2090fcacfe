"Property and bad-input tests for cpmm.mfa (the notebook 00_mfa holds the worked checks)."
import numpy as np
import pytest
import torch
from cpmm.mfa import MFA, HierarchicalMFA, random_mfa, dense_log_prob

f64 = torch.float64


@pytest.mark.parametrize("seed", range(6))
def test_log_prob_matches_dense_gaussian_mixture(seed):
    g = torch.Generator().manual_seed(seed)
    K, M, R = (int(v) for v in torch.randint(1, 7, (3,), generator=g))
    m = random_mfa(K, M, R, scale=3., log_d_min=-4., seed=seed, dtype=f64)
    x = torch.randn(9, M, dtype=f64, generator=g) * 3
    torch.testing.assert_close(m.log_prob(x), dense_log_prob(m, x), rtol=1e-9, atol=1e-9)


def test_float32_within_1e3_nats_per_dim_at_image_scale():
    K, M, R = 6, 784, 8
    m64 = random_mfa(K, M, R, log_d_min=-6., scale=14., seed=11, dtype=f64)
    m32 = m64.to(torch.float32)
    x = m64.sample(32, generator=torch.Generator().manual_seed(0))[0].clamp(-14, 14).float()
    assert ((m32.log_prob(x).double() - dense_log_prob(m64, x)).abs() / M).max() < 1e-3


@pytest.mark.parametrize("seed", range(4))
def test_chain_rule_condition_and_marginal(seed):
    g = torch.Generator().manual_seed(seed)
    m = random_mfa(4, 7, 3, scale=2., log_d_min=-2., seed=seed, dtype=f64)
    perm = torch.randperm(7, generator=g)
    b, o = perm[:3], perm[3:].sort().values
    x = torch.randn(1, 7, dtype=f64, generator=g)
    lhs = m.log_prob(x)
    rhs = m.marginal(b).log_prob(x[:, b]) + m.condition(b, x[0, b]).log_prob(x[:, o])
    torch.testing.assert_close(lhs, rhs)


def test_hierarchical_is_flat_mixture_with_product_weights():
    C, G, M, R = 3, 4, 5, 2
    g = torch.Generator().manual_seed(0)
    h = HierarchicalMFA(torch.randn(C, G, M, dtype=f64, generator=g), torch.randn(C, G, M, R, dtype=f64, generator=g),
                        torch.randn(C, G, M, dtype=f64, generator=g), torch.randn(C, G, dtype=f64, generator=g),
                        torch.randn(C, dtype=f64, generator=g))
    x = torch.randn(10, M, dtype=f64, generator=g)
    ref = dense_log_prob(h.flatten(), x)
    torch.testing.assert_close(h.log_prob(x), ref)
    # p(c | x) by Bayes' rule from the per-cluster dense MFAs
    per = torch.stack([dense_log_prob(MFA(h.mu[c], h.A[c], h.log_d[c], h.log_pi[c]), x) for c in range(C)], -1)
    post = torch.softmax(per + torch.log_softmax(h.log_eta, -1), -1)
    torch.testing.assert_close(h.predict_proba(x), post)
    # condition / marginal keep the C x G layout and the same density
    hc = h.condition([1, 3], x[0, [1, 3]])
    torch.testing.assert_close(hc.log_prob(x[:, [0, 2, 4]]), h.flatten().condition([1, 3], x[0, [1, 3]]).log_prob(x[:, [0, 2, 4]]))
    assert (hc.C, hc.G, hc.M) == (C, G, 3)
    torch.testing.assert_close(hc.log_pi.logsumexp(-1), torch.zeros(C, dtype=f64))


def test_sample_reproducible_with_generator():
    m = random_mfa(3, 4, 2, seed=0)
    a = m.sample(50, generator=torch.Generator().manual_seed(5))
    b = m.sample(50, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_no_NKM_temporary_memory():
    "An (N, K, M) float32 tensor at N=2000, K=200, M=784 is 1.25 GB; the largest allocation must stay far below (profiler)."
    m = random_mfa(200, 784, 4, scale=2.)
    x = torch.randn(2000, 784)
    with torch.profiler.profile(profile_memory=True) as prof:
        with torch.no_grad(): m.log_prob(x)
    peak = max(e.cpu_memory_usage for e in prof.key_averages())
    assert peak < 2000 * 200 * 784 * 4 / 10, peak


@pytest.mark.parametrize("bad, msg", [
    (lambda m: m.log_prob(torch.zeros(3)), "shape (N, 4)"),
    (lambda m: m.log_prob(torch.zeros(2, 5)), "shape (N, 4)"),
    (lambda m: m.log_prob(torch.full((1, 4), float('inf'))), "NaN or infinite"),
    (lambda m: m.log_prob("x"), "tensor or array"),
    (lambda m: m.marginal([]), "empty"),
    (lambda m: m.marginal([0.5]), "integers"),
    (lambda m: m.marginal([-1]), "out of range"),
    (lambda m: m.condition([0], [float('nan')]), "NaN"),
    (lambda m: m.condition([0, 1], [1.]), "shape (2,)"),
    (lambda m: m.sample(2.5), "non-negative integer"),
])
def test_bad_inputs_raise_value_error(bad, msg):
    m = random_mfa(2, 4, 1)
    with pytest.raises(ValueError, match=__import__('re').escape(msg)):
        bad(m)


def test_bad_parameters_raise_value_error():
    with pytest.raises(ValueError, match="`mu` must have shape"):
        MFA(torch.zeros(3), torch.zeros(1, 3, 1), torch.zeros(1, 3), torch.zeros(1))
    with pytest.raises(ValueError, match="`log_pi` must have shape"):
        MFA(torch.zeros(2, 3), torch.zeros(2, 3, 1), torch.zeros(2, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="floating point"):
        MFA(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, 1), torch.zeros(2, 3), torch.zeros(2))
    with pytest.raises(ValueError, match="`A` must have shape"):
        HierarchicalMFA(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), torch.zeros(2, 3, 4))


def test_accepts_numpy_and_casts_to_parameter_dtype():
    m = random_mfa(2, 3, 1)
    out = m.log_prob(np.zeros((4, 3)))
    assert out.dtype == torch.float32 and out.shape == (4,)
