"Bad-input and property tests for cpmm.node (the notebook 04_node holds the worked checks)."
import json
import math
import os
import subprocess
import sys
import pytest
import torch
from torch import nn
import numpy as np
from cpmm.node import NodeMFA
from cpmm.fields import HyperField, HyperMLP, HyperConv, SOLVERS
from cpmm.paths import path_params
from cpmm.metrics import cluster_accuracy


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    "Tiny ops: one thread is much faster than two contended ones; restored afterwards."
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def perturb(p:NodeMFA, std:float=0.1, seed:int=0) -> NodeMFA:
    "Give every vector field a nonzero last layer, so the trajectories move."
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in p.field.modules():
            if isinstance(m, HyperField):
                w = m.layers[-1].weight
                w.copy_(std * torch.randn(w.shape, generator=g))
    return p


class Linear(nn.Module):
    "dh/dt = (1 + t) W h: solution exp((t + t²/2) W) h(0)."
    def __init__(self, W): super().__init__(); self.W = W
    def forward(self, t, h): return (1 + t) * h @ self.W.T


def exact(W, h0, t):
    return torch.einsum('gij,cj->cgi', torch.linalg.matrix_exp((t + t ** 2 / 2).double()[:, None, None] * W.double()), h0.double())


# ---- bad input -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw, msg", [
    (dict(net='conv'), "net='conv' needs `image_shape`"),
    (dict(net='conv', image_shape=(1, 2, 3)), "has 6 pixels but n_dims = 4"),
    (dict(net='conv', image_shape=(1, 4)), "three positive integers"),
    (dict(net='conv', image_shape=(1, 0, 4)), "three positive integers"),
    (dict(net='mlp', image_shape=(1, 3, 3)), "has 9 pixels but n_dims = 4"),
    (dict(net='transformer'), "Unknown net 'transformer'; choose from 'mlp', 'conv'"),
    (dict(method='adams'), "Unknown method 'adams'; choose from 'dopri5', 'rk4', 'midpoint', 'euler'"),
    (dict(activation='relu'), "Unknown activation 'relu'; choose from 'sin', 'tanh'"),
    (dict(step_size=0.), "`step_size`"),
    (dict(step_size=2.), "`step_size`"),
    (dict(rtol=-1e-5), "`rtol`"),
    (dict(aug_factor=-1), "`aug_factor`"),
    (dict(hidden=0), "`hidden`"),
    (dict(depth=0), "`depth`"),
])
def test_constructor_rejects_bad_options(kw, msg):
    with pytest.raises(ValueError, match=None) as e: NodeMFA(2, 3, 4, 1, **kw)
    assert msg in str(e.value), str(e.value)


@pytest.mark.parametrize("t, msg", [
    ([0.5, 0.2], "sorted ascending"),
    ([0.1, 1.2], "in [0, 1]"),
    ([-0.1, 0.5], "in [0, 1]"),
    ([0.1, float('nan')], "in [0, 1]"),
    ([], "non-empty 1-D"),
    ([[0.1, 0.2]], "non-empty 1-D"),
])
def test_bad_pseudotimes(t, msg):
    p = NodeMFA(2, 3, 4, 1)
    with pytest.raises(ValueError) as e: p(torch.tensor(t))
    assert msg in str(e.value), str(e.value)


def test_bad_data():
    p = NodeMFA(2, 3, 4, 1)
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"): p.init_from_data(torch.randn(10, 5))
    with pytest.raises(ValueError, match="Unknown init method 'em'; choose from 'path', 'random'"): p.init_from_data(torch.randn(10, 4), method='em')
    with pytest.raises(ValueError, match="no samples of class"): p.init_from_data(torch.randn(10, 4), y=torch.zeros(10, dtype=torch.long))


# ---- pseudotimes and the solve ----------------------------------------------------------------------------------

def test_pseudotimes_sorted_in_unit_interval_and_reproducible():
    p = NodeMFA(2, 7, 3, 1)
    t = p.pseudotimes(train=True, generator=torch.Generator().manual_seed(5))
    assert t.shape == (7,) and (t.diff() >= 0).all() and t.min() >= 0 and t.max() <= 1
    assert torch.equal(t, p.pseudotimes(train=True, generator=torch.Generator().manual_seed(5)))
    assert not torch.equal(t, p.pseudotimes(train=True, generator=torch.Generator().manual_seed(6)))
    assert torch.equal(p.pseudotimes(), torch.linspace(0, 1, 7))


@pytest.mark.parametrize("method", ['rk4', 'dopri5'])
def test_state_at_t_does_not_depend_on_other_requests(method):
    p = perturb(NodeMFA(2, 5, 3, 1, method=method))
    t = torch.rand(9, generator=torch.Generator().manual_seed(0)).sort().values
    with torch.no_grad():
        full = p.solve(t)
        for idx in ([0], [3, 4], [2, 8], [8]):
            torch.testing.assert_close(p.solve(t[idx]), full[:, idx], rtol=1e-5, atol=1e-6)


def test_ties_and_zero_give_equal_and_initial_states():
    p = perturb(NodeMFA(2, 5, 3, 1))
    with torch.no_grad():
        s = p.solve(torch.tensor([0., 0., 0.3, 0.3, 1., 1.]))
    assert torch.equal(s[:, 0], p.h0.detach()) and torch.equal(s[:, 1], p.h0.detach())
    assert torch.equal(s[:, 2], s[:, 3]) and torch.equal(s[:, 4], s[:, 5])
    assert not torch.equal(s[:, 2], s[:, 4])


def test_dopri5_and_rk4_agree_on_a_smooth_field():
    torch.manual_seed(0)
    a = NodeMFA(3, 6, 4, 2, method='dopri5', rtol=1e-6, atol=1e-6).init_from_data(torch.randn(30, 4), method='random')
    perturb(a, std=0.05)
    b = NodeMFA(**{**a.config(), 'method': 'rk4', 'step_size': 0.02}); b.load_state_dict(a.state_dict())
    t = torch.linspace(0, 1, 51)                         # on rk4's grid: no interpolation error
    with torch.no_grad(): sa, sb = a.solve(t), b.solve(t)
    assert (sa - sa[:, :1]).abs().max() > 0.05           # the trajectories do move
    torch.testing.assert_close(sa, sb, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("method, order", [('euler', 1), ('midpoint', 2), ('rk4', 4)])
def test_fixed_step_methods_converge_at_their_order(method, order):
    g = torch.Generator().manual_seed(0)
    p = NodeMFA(2, 3, 2, 1, method=method).double().init_standard_normal(scale=1., seed=0)
    W = torch.randn(p.state_shape[0], p.state_shape[0], generator=g, dtype=torch.float64) / 4
    p.field = Linear(W)
    t = torch.tensor([1.], dtype=torch.float64)
    errs = []
    for n in (10, 20):
        p.step_size = 1 / n
        with torch.no_grad(): errs.append((p.solve(t) - exact(W, p.h0, t)).abs().max().item())
    assert abs(math.log2(errs[0] / errs[1]) - order) < 0.3, errs


def test_adjoint_gradients_match_direct_backpropagation():
    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(0))
    grads = []
    for adjoint in (False, True):
        torch.manual_seed(0)                             # the same weights twice
        p = NodeMFA(2, 4, 3, 1, hidden=16, method='dopri5', rtol=1e-7, atol=1e-7, adjoint=adjoint)
        p.init_from_data(x, method='random')
        perturb(p)
        (-p(torch.linspace(0, 1, 4)).log_prob(x).mean()).backward()
        grads.append({n: q.grad.clone() for n, q in p.named_parameters()})
    for n in grads[0]: torch.testing.assert_close(grads[1][n], grads[0][n], rtol=1e-3, atol=1e-5, msg=n)


# ---- parameters ---------------------------------------------------------------------------------------------------

def test_components_coincide_at_initialisation():
    p = NodeMFA(3, 8, 4, 2, learn_pi=True).init_from_data(torch.randn(40, 4), method='kmeans')
    h = p(p.pseudotimes(train=True, generator=torch.Generator().manual_seed(0))).detach()
    for v in (h.mu, h.A, h.log_d, h.log_pi): assert torch.equal(v, v[:, :1].expand_as(v))


def test_constant_diagonal_is_one_value_per_trajectory():
    p = perturb(NodeMFA(3, 5, 4, 1, constant_diagonal=True).init_from_data(torch.randn(40, 4) * torch.tensor([1., 2., 3., 4.]), method='kmeans'))
    h = p.extract()
    assert torch.equal(h.log_d, h.log_d[:, :1, :1].expand_as(h.log_d))
    assert len(torch.unique(h.log_d[:, 0, 0])) == 3
    assert 'raw_log_d' in dict(p.named_parameters())


def test_per_trajectory_ode_has_one_field_per_trajectory():
    C = 3
    p = NodeMFA(C, 4, 2, 1, per_trajectory_ode=True, hidden=8)
    fields = [m for m in p.field.modules() if isinstance(m, HyperField)]
    assert len(fields) == C and len({id(f) for f in fields}) == C
    shared = NodeMFA(C, 4, 2, 1, hidden=8)
    assert sum(q.numel() for q in p.field.parameters()) == C * sum(q.numel() for q in shared.field.parameters())
    # moving field 1 moves trajectory 1 only
    with torch.no_grad(): fields[1].layers[-1].bias.fill_(0.5)
    h = p.extract().mu
    assert torch.equal(h[[0, 2]], h[[0, 2]][:, :1].expand(2, 4, 2)) and not torch.equal(h[1, 0], h[1, -1])


def test_image_parameters_flatten_like_the_data():
    imgs = torch.randn(12, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    p = NodeMFA(2, 3, 60, 2, net='conv', image_shape=(3, 4, 5)).init_from_data(imgs, method='random')
    mu = p.extract().mu[:, 0]
    flat = imgs.reshape(12, -1)
    for c in range(2): assert (flat - mu[c]).abs().sum(1).min() < 1e-5   # a data image, flattened channel-first
    # loading r of image channel k sits at state channel c + r·c + k
    with torch.no_grad():
        p.h0.zero_(); p.h0[0, 3 + 1 * 3 + 2, 1, 4] = 1.
    A = p.extract().A
    assert A[0, 0, 2 * 20 + 1 * 5 + 4, 1] == 1. and A[:, 0].abs().sum() == 1.


def test_learn_pi_is_read_from_the_state_and_trained():
    p = NodeMFA(2, 4, 3, 1, learn_pi=True)
    with torch.no_grad(): p.h0[1, p.layout['log_pi']] = 0.8
    h = p.extract()
    assert torch.equal(h.log_pi[0], torch.zeros(4)) and torch.allclose(h.log_pi[1], torch.full((4,), 0.8))
    perturb(p)
    (-p(torch.linspace(0, 1, 4)).log_prob(torch.randn(8, 3)).mean()).backward()
    assert p.h0.grad[:, p.layout['log_pi']].abs().sum() > 0


def test_extract_is_forward_on_an_even_grid_and_detached():
    p = perturb(NodeMFA(2, 5, 3, 1))
    e, h = p.extract(9), p(torch.linspace(0, 1, 9))
    for k, v in e.params().items():
        torch.testing.assert_close(v, h.params()[k].detach())
        assert not v.requires_grad
    assert e.G == 9 and p.extract().G == 5


@pytest.mark.parametrize("kw", [dict(), dict(net='conv', image_shape=(1, 3, 4), learn_pi=True, per_trajectory_ode=True),
                                dict(constant_diagonal=True, activation='tanh', method='dopri5', adjoint=True, aug_factor=2, hidden=7, depth=2)])
def test_config_round_trip(kw):
    p = perturb(NodeMFA(2, 3, 12, 2, **kw).init_from_data(torch.randn(20, 12), method='random'))
    with torch.no_grad(): p.log_eta.copy_(torch.tensor([0.3, -0.3]))
    cfg = json.loads(json.dumps(p.config()))
    q = NodeMFA(**cfg); q.load_state_dict(p.state_dict())
    x = torch.randn(6, 12)
    assert torch.equal(q.extract().log_prob(x), p.extract().log_prob(x))
    assert q.config() == p.config()


def test_float64_and_moves():
    p = NodeMFA(2, 3, 4, 1).double()
    h = p.extract()
    assert h.mu.dtype == torch.float64 and p.pseudotimes().dtype == torch.float64
    assert p(torch.tensor([0.2, 0.7])).mu.dtype == torch.float64   # float32 times are cast to the module's dtype


def test_init_standard_normal_is_standard_normal_and_seeded():
    p = NodeMFA(2, 4, 3, 1).init_standard_normal(scale=0., seed=0)
    h = p.extract()
    assert torch.equal(h.mu, torch.zeros(2, 4, 3)) and torch.allclose(h.log_d, torch.zeros(2, 4, 3), atol=1e-6)
    a = NodeMFA(2, 4, 3, 1).init_standard_normal(scale=0.1, seed=3).h0
    b = NodeMFA(2, 4, 3, 1).init_standard_normal(scale=0.1, seed=3).h0
    assert torch.equal(a, b)


def test_init_resets_the_dynamics():
    p = perturb(NodeMFA(2, 4, 3, 1))
    assert not torch.equal(p.extract().mu[:, 0], p.extract().mu[:, -1])
    p.init_from_data(torch.randn(20, 3), method='kmeans')
    assert torch.equal(p.extract().mu[:, 0], p.extract().mu[:, -1])


def test_registry():
    assert set(SOLVERS) == {'dopri5', 'rk4', 'midpoint', 'euler'}
    assert HyperMLP.hidden == 128 and HyperConv.hidden == 64 and HyperConv.aug_factor == 4 and HyperMLP.aug_factor == 3


@pytest.mark.parametrize("field, shape", [(HyperMLP(6, hidden=8), (3, 6)), (HyperConv(5, hidden=4), (3, 5, 4, 4))])
def test_vector_fields_start_at_zero_and_depend_on_t(field, shape):
    h = torch.randn(shape)
    assert torch.equal(field(torch.tensor(0.3), h), torch.zeros(shape))
    nn.init.normal_(field.layers[-1].weight)
    out = field(torch.tensor(0.1), h)
    assert out.shape == shape and not torch.allclose(out, field(torch.tensor(0.9), h))


def _graph_names(t:torch.Tensor) -> set:
    seen, todo = set(), [t.grad_fn]
    while todo:
        f = todo.pop()
        if f is None or f in seen: continue
        seen.add(f); todo.extend(g for g, _ in f.next_functions)
    return {type(f).__name__ for f in seen}


def test_adjoint_switch_uses_the_adjoint_method():
    t = torch.linspace(0, 1, 3)
    names = _graph_names(NodeMFA(2, 3, 2, 1, adjoint=True)(t).mu)
    assert any('Adjoint' in n for n in names), names
    assert not any('Adjoint' in n for n in _graph_names(NodeMFA(2, 3, 2, 1)(t).mu))


# ---- the 'path' initialisation ------------------------------------------------------------------------------------

def test_path_init_separates_the_moons_and_spreads_the_components():
    from sklearn.datasets import make_moons
    X, y = (torch.as_tensor(v) for v in make_moons(1500, noise=0.06, random_state=0))
    Xt, yt = (torch.as_tensor(v) for v in make_moons(500, noise=0.06, random_state=1))
    p = NodeMFA(2, 25, 2, 1).init_from_data(X.float(), steps=200)
    mix = p.extract()
    assert cluster_accuracy(yt, mix.predict(Xt.float())) > 0.99
    assert -mix.log_prob(Xt.float()).mean() < 1.                 # two Gaussians: 1.71
    for c in range(2):
        step = (mix.mu[c, 1:] - mix.mu[c, :-1]).norm(dim=1)
        assert step.sum() > 2.5 and step.min() > 0.3 * step.mean()  # along the whole moon, no two components together
    assert not torch.equal(p.field.layers[-1].weight, torch.zeros_like(p.field.layers[-1].weight))


def test_path_params_orders_a_line_evenly_with_tangent_loadings():
    g = torch.Generator().manual_seed(0)
    x = 10 * torch.rand(1000, generator=g, dtype=torch.float64)
    X = torch.stack([x, 0.1 * torch.randn(1000, generator=g, dtype=torch.float64)], 1)
    P = path_params(X, 1, 6, 1)
    m = P['mu'][0, :, 0]
    m = m if m[0] < m[-1] else m.flip(0)
    assert (m.diff() > 0).all() and m[0] < 1 and m[-1] > 9
    torch.testing.assert_close(m.diff(), torch.full((5,), (m[-1] - m[0]).item() / 5, dtype=torch.float64), atol=0.05, rtol=0)
    A = P['A'][0, :, :, 0]
    assert (A[:, 0].abs() > 10 * A[:, 1].abs()).all()             # loadings along the line
    torch.testing.assert_close(P['log_d'][0, :, 1], torch.full((6,), math.log(0.01), dtype=torch.float64), atol=0.4, rtol=0)


def test_path_params_with_labels_runs_path_c_through_class_c():
    g = torch.Generator().manual_seed(0)
    x = 10 * torch.rand(600, generator=g)
    y = (torch.arange(600) % 2).long()
    X = torch.stack([x, 3. * (1 - y) + 0.1 * torch.randn(600, generator=g)], 1)   # class 0 on top
    P = path_params(X, 2, 5, 1, y=y)
    assert (P['mu'][0, :, 1] - 3).abs().max() < 0.3 and P['mu'][1, :, 1].abs().max() < 0.3
    p = NodeMFA(2, 5, 2, 1).init_from_data(X, y=y, steps=50)
    assert (p.extract().predict(X) == y).float().mean() > 0.99


def test_path_params_subsamples_but_keeps_every_class_and_is_seeded():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(300, 3, generator=g)
    y = torch.zeros(300, dtype=torch.long); y[7] = 1               # class 1 has one point
    P = path_params(X, 2, 4, 2, y=y, max_rows=50)
    torch.testing.assert_close(P['mu'][1], X[7].double().expand(4, 3), atol=0.1, rtol=0)   # jittered copies of its point
    assert P['A'].shape == (2, 4, 3, 2) and P['log_d'].min() >= -6
    Q = path_params(X, 2, 4, 2, y=y, max_rows=50)
    for k in P: assert torch.equal(P[k], Q[k])


def test_path_init_is_reproducible_and_seeded():
    X = torch.randn(200, 3, generator=torch.Generator().manual_seed(0))
    a, b, c = (NodeMFA(2, 4, 3, 1, hidden=16).init_from_data(X, seed=s, steps=10) for s in (3, 3, 4))
    for k, v in a.state_dict().items(): assert torch.equal(v, b.state_dict()[k]), k
    assert not torch.equal(a.field.layers[0].weight, c.field.layers[0].weight)


@pytest.mark.parametrize("kw", [dict(learn_pi=True), dict(constant_diagonal=True, per_trajectory_ode=True), dict(rank=0),
                                dict(n_dims=12, net='conv', image_shape=(3, 2, 2), hidden=8)])
def test_path_init_with_every_option(kw):
    kw = {'n_dims': 3, 'rank': 1, 'hidden': 16, **kw}
    p = NodeMFA(2, 4, kw.pop('n_dims'), kw.pop('rank'), **kw)
    X = torch.randn(100, p.n_dims, generator=torch.Generator().manual_seed(0))
    p.init_from_data(X if p.net == 'mlp' else X.reshape(100, *p.image_shape), steps=20)
    h = p.extract()
    for v in h.params().values(): assert torch.isfinite(v).all()
    assert (h.mu[:, 0] - h.mu[:, -1]).norm(dim=1).min() > 0.1      # spread, not one point
    if p.learn_pi: assert h.log_pi.abs().max() < 0.5
    assert all(q.grad is None for q in p.parameters())


def test_distil_fits_targets_and_rejects_bad_shapes():
    g = torch.Generator().manual_seed(0)
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    P = dict(mu=torch.stack([torch.stack([t, t ** 2], 1), torch.stack([-t, 1 - t], 1)]),
             A=0.1 * torch.ones(2, 5, 2, 1, dtype=torch.float64), log_d=torch.full((2, 5, 2), -3., dtype=torch.float64))
    p = NodeMFA(2, 5, 2, 1).distil(P, steps=300)
    h = p.extract()
    torch.testing.assert_close(h.mu.double(), P['mu'], atol=0.05, rtol=0)
    torch.testing.assert_close(h.log_d.double(), P['log_d'], atol=0.1, rtol=0)
    with pytest.raises(ValueError, match=r"mu of shape \(C, G, M\) = \(2, G, 2\)"): p.distil({**P, 'mu': P['mu'][:1]})
    with pytest.raises(ValueError, match="`steps`"): p.distil(P, steps=-1)


def test_peak_memory_is_quiet_on_stderr():
    "bench/conv_memory.peak_memory: the profiler's own log lines (and, without a GPU, its CUDA device-count error) do not reach stderr; other output does."
    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'bench')
    code = (f"import os, sys, torch\nsys.path.insert(0, {bench!r})\nfrom conv_memory import peak_memory\na = torch.randn(500, 500)\n"
            "def step():\n    os.write(2, b'from the step\\n'); (a @ a).sum()\n"
            "print(peak_memory(step))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr
    assert abs(float(r.stdout) - 1e6) < 1e4                         # one 500 × 500 float32 temporary
    assert r.stderr == 'from the step\n', r.stderr
