"Tests of cpmm.cnf beyond the notebook: checkpoints and resume, non-finite losses, adjoint, images, flow matching."
import math
import pytest
import torch
from torch import nn
from cpmm.cnf import CNF, FlowLoss, fit_defaults
from cpmm.fields import FlowMLP, divergence
from cpmm.train import NonFiniteLossError

torch.set_num_threads(1)


def _data(n=192, m=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, m, generator=g) * torch.linspace(0.5, 1.5, m) + 1


def _flow(m=2, **kw):
    torch.manual_seed(0)
    return CNF(m, hidden=16, depth=2, method='rk4', step_size=0.25, **kw)


def _params(f):
    return torch.cat([p.detach().flatten() for p in f.parameters()])


def test_fit_history_and_determinism():
    X, V = _data(), _data(64, seed=1)
    a = _flow().fit(X, epochs=2, batch_size=64, lr=1e-2, progress=False, seed=3, valid=V, objective='ml')
    b = _flow().fit(X, epochs=2, batch_size=64, lr=1e-2, progress=False, seed=3, valid=V, objective='ml')
    assert [h['epoch'] for h in a.history] == [1, 2] and a.history[-1]['step'] == 6
    assert set(a.history[0]) == {'epoch', 'step', 'lr', 'train_nll', 'seconds', 'valid_nll'}
    assert torch.equal(_params(a), _params(b))
    assert a.history[-1]['train_nll'] < a.history[0]['train_nll']


def test_checkpoint_resume_is_exact(tmp_path):
    X, ck = _data(), tmp_path / 'cnf.pt'
    full = _flow().fit(X, epochs=3, batch_size=64, lr=1e-2, progress=False)
    part = _flow().fit(X, epochs=1, batch_size=64, lr=1e-2, progress=False, checkpoint=ck)
    assert ck.exists() and not list(tmp_path.glob('.*tmp*'))
    resumed = _flow().fit(X, epochs=3, batch_size=64, lr=1e-2, progress=False, checkpoint=ck, resume=True)
    assert torch.allclose(_params(resumed), _params(full), atol=1e-6)
    assert [h['epoch'] for h in resumed.history] == [1, 2, 3]
    assert torch.load(ck, weights_only=True)['epoch'] == 3
    loaded = _flow().load(ck)
    assert torch.equal(_params(loaded), _params(resumed)) and len(loaded.history) == 3
    with pytest.raises(ValueError, match='config'):
        CNF(2, hidden=8, method='rk4').load(ck)
    # resume with no checkpoint on disk yet starts from scratch
    fresh = _flow().fit(X, epochs=1, batch_size=64, lr=1e-2, progress=False, checkpoint=tmp_path / 'new.pt', resume=True)
    assert len(fresh.history) == 1


class _Poisoned(nn.Module):
    "A field that returns NaN once `poison` is set (not part of its state dict)."
    def __init__(self):
        super().__init__(); self.net, self.poison = FlowMLP(2, 8, 1), False
    def forward(self, s, u):
        out = self.net(s, u)
        return out * float('nan') if self.poison else out


def test_non_finite_loss_names_epoch_and_keeps_checkpoint(tmp_path):
    X, ck = _data(), tmp_path / 'cnf.pt'
    torch.manual_seed(0)
    f = CNF(2, field=_Poisoned(), method='rk4', step_size=0.25)
    f.fit(X, epochs=1, batch_size=64, progress=False, checkpoint=ck, validation_fraction=None)
    before = ck.read_bytes()
    f.field.poison = True
    with pytest.raises(NonFiniteLossError, match=r'epoch 2, step 1 of the epoch \(step 4 overall\)'):
        f.fit(X, epochs=2, batch_size=64, progress=False, checkpoint=ck, resume=True, validation_fraction=None)
    assert ck.read_bytes() == before and torch.load(ck, weights_only=True)['epoch'] == 1


def test_adjoint_gradients_match():
    X = _data(32)
    grads = []
    for adjoint in (False, True):
        f = _flow(adjoint=adjoint)
        f.zero_grad(); (-f.log_prob(X).mean()).backward()
        grads.append(torch.cat([p.grad.flatten() for p in f.parameters()]))
    assert torch.allclose(grads[0], grads[1], rtol=1e-3, atol=1e-5)


def test_hutchinson_reproducible_and_unbiased():
    f = _flow(5)                                   # 5 <= 8: exact by default
    assert f.exact
    h = _flow(5, trace='hutchinson', noise='gaussian')
    X = _data(4, 5)
    with torch.no_grad():
        exact = f.log_prob(X)
        a = h.log_prob(X, torch.Generator().manual_seed(0)); b = h.log_prob(X, torch.Generator().manual_seed(0))
        assert torch.equal(a, b)
        K = 3000
        est = h.log_prob(X.repeat_interleave(K, 0), torch.Generator().manual_seed(1)).reshape(4, K)
    se = est.std(1) / math.sqrt(K)
    assert ((est.mean(1) - exact).abs() < 5 * se).all()
    # trains with the estimator too (fresh noise every step)
    h.fit(_data(128, 5), epochs=1, batch_size=64, progress=False)


def test_images_conv_field():
    torch.manual_seed(0)
    f = CNF(12, image_shape=(1, 3, 4), hidden=4, depth=2, method='rk4', step_size=0.5)
    assert f.net == 'unet' and not f.exact                            # 12 > 8: Hutchinson
    x = torch.rand(6, 1, 3, 4)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        assert f.log_prob(x, g).shape == (6,)
        assert torch.equal(f.log_prob(x, torch.Generator().manual_seed(0)),
                           f.log_prob(x.reshape(6, 12), torch.Generator().manual_seed(0)))
    assert f.transform(x, torch.tensor([0., 1.])).shape == (2, 6, 12)
    assert f.sample(3, g).shape == (3, 12)
    f.fit(x, epochs=1, batch_size=3, progress=False)
    with pytest.raises(ValueError, match=r'shape \(N, 12\)'):
        f.log_prob(torch.rand(6, 1, 4, 3)[:, :, :2])


def test_image_flow_scored_by_flow_matching(tmp_path):
    "An image flow watches the held-out flow-matching loss (cheap), and scores its held-out NLL once, at the end."
    torch.manual_seed(0)
    x = torch.randn(60, 12)
    f = CNF(12, image_shape=(1, 3, 4), hidden=8, depth=1, step_size=0.5)
    f.fit(x, epochs=3, progress=False)
    assert all('valid_fm' in r and 'valid_nll' not in r for r in f.history)
    assert fit_defaults(12, image=True)['batch_size'] == 64 and f.history[0]['lr'] == fit_defaults(12, image=True)['lr']
    assert math.isfinite(f.valid_nll_)
    # the score is deterministic: the same draws every call
    loss = FlowLoss('otfm', score='fm')
    assert loss.fm_loss(f, x[:20]) == loss.fm_loss(f, x[:20])
    # early stopping and the best epoch follow valid_fm
    assert f.history[f.best_epoch - 1]['valid_fm'] == min(r['valid_fm'] for r in f.history)
    # valid_nll_ survives save / load
    f.save(tmp_path / 'f.pt')
    assert CNF.from_file(tmp_path / 'f.pt').valid_nll_ == f.valid_nll_
    # a table flow keeps the NLL; 'fm' can be asked for, and 'ml' cannot be scored by it
    g = _flow().fit(_data(64), epochs=1, batch_size=32, progress=False, valid=_data(16), score='fm')
    assert 'valid_fm' in g.history[0]
    with pytest.raises(ValueError, match="score='fm'"):
        FlowLoss('ml', score='fm')
    with pytest.raises(ValueError, match='score'):
        FlowLoss('otfm', score='bpd')


def test_transform_batches_and_order():
    f, X = _flow(3), _data(50, 3)
    v = torch.tensor([1., 0.3, 0.3, 0.7])
    U = f.transform(X, v)
    assert torch.allclose(f.transform(X, v, batch_size=7), U, atol=1e-6)
    assert torch.equal(U[1], U[2])
    assert torch.allclose(f.transform(X, v.flip(0)), U.flip(0), atol=1e-6)
    assert f.transform(X[:0], v).shape == (4, 0, 3)


def test_flow_matching_objective():
    X = _data(256)
    f = _flow().fit(X, epochs=4, batch_size=64, lr=1e-2, progress=False, objective='fm', valid=X[:64])
    assert 'train_fm' in f.history[0] and 'valid_nll' in f.history[0]
    assert f.history[-1]['train_fm'] < f.history[0]['train_fm']


def test_ot_pairing_is_the_optimal_assignment():
    "Against brute force over all 6! pairings."
    import itertools
    from cpmm.cnf import ot_pairing
    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g)
    cost = lambda p: ((x - z[list(p)]) ** 2).sum().item()
    best = min(itertools.permutations(range(6)), key=cost)
    assert math.isclose(cost(ot_pairing(x, z).tolist()), cost(best), rel_tol=1e-9)
    assert sorted(ot_pairing(x, z).tolist()) == list(range(6))


def test_ot_pairing_in_blocks():
    "With `block`, each block of rows gets its own optimal assignment, and the whole is still a permutation."
    from cpmm.cnf import ot_pairing
    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(10, 2, generator=g), torch.randn(10, 2, generator=g)
    p = ot_pairing(x, z, block=4)
    assert sorted(p.tolist()) == list(range(10))
    for i in range(0, 10, 4):
        assert sorted(p[i:i + 4].tolist()) == list(range(i, min(i + 4, 10)))              # within its block
        assert torch.equal(p[i:i + 4] - i, ot_pairing(x[i:i + 4], z[i:i + 4]))             # the block's own optimum
    assert torch.equal(ot_pairing(x, z, block=10), ot_pairing(x, z))
    with pytest.raises(ValueError, match='ot_block'):
        ot_pairing(x, z, block=0)


def test_otfm_trains_and_straightens_the_pairs():
    X = _data(256)
    f = _flow().fit(X, epochs=4, batch_size=64, lr=1e-2, progress=False, objective='otfm', valid=X[:64])
    assert f.history[-1]['train_fm'] < f.history[0]['train_fm']
    # the coupled pairs are closer than independent ones, so the regression targets are shorter
    g = torch.Generator().manual_seed(1)
    z = torch.randn(X.shape, generator=g)
    from cpmm.cnf import ot_pairing
    assert ((X - z[ot_pairing(X, z)]) ** 2).sum() < ((X - z) ** 2).sum()


def test_fit_budget_and_early_stopping():
    X, V = _data(), _data(64, seed=1)
    f = _flow().fit(X, epochs=None, batch_size=64, lr=1e-2, progress=False, objective='otfm', max_steps=7)
    assert f.history[-1]['step'] == 7
    f = _flow().fit(X, epochs=200, batch_size=64, lr=1e-2, progress=False, objective='otfm', valid=V, patience=2)
    best = min(r['valid_nll'] for r in f.history)
    assert len(f.history) < 200 and f.history[f.best_epoch - 1]['valid_nll'] == best
    assert abs(f.nll(V) - best) < 1e-4     # the best epoch's parameters are kept


def test_fit_defaults_hold_out_and_report():
    "With its defaults `fit` holds out a tenth of X, trains OT-CFM in epochs of at least FIT_EPOCH_STEPS steps until its budget, keeps the best epoch and reports its latent moments."
    from cpmm.cnf import FIT_EPOCH_STEPS, FIT_MIN_ROWS, fit_defaults
    X = _data(400)
    f = _flow().fit(X, progress=False, max_steps=2 * FIT_EPOCH_STEPS + 10)
    assert f.history[0]['step'] >= FIT_EPOCH_STEPS and f.history[-1]['step'] == 2 * FIT_EPOCH_STEPS + 10
    assert 'train_fm' in f.history[0] and fit_defaults(2)['objective'] == 'otfm'
    assert f.valid_nll_ == min(r['valid_nll'] for r in f.history)
    held = X[torch.randperm(400, generator=torch.Generator().manual_seed(0))[:40]]     # split_valid's rows for seed 0
    assert abs(f.nll(held) - f.history[f.best_epoch - 1]['valid_nll']) < 1e-4
    assert set(f.latent_) >= {'mean_error', 'cov_error', 'mean', 'cov'}
    assert torch.allclose(torch.tensor(f.latent_['cov']), torch.tensor(f.latent_moments(X)['cov']))   # on all the data it was given
    # too few rows to hold any out: all are trained on, nothing is watched
    g = _flow().fit(X[:FIT_MIN_ROWS - 1], progress=False, max_steps=5)
    assert 'valid_nll' not in g.history[-1] and math.isnan(g.valid_nll_)
    with pytest.raises(ValueError, match='validation_fraction'):
        _flow().fit(X, progress=False, max_steps=5, validation_fraction=0)


def test_divergence_exact_matches_jacobian():
    torch.manual_seed(0)
    net = FlowMLP(3, 8, 2)
    u = torch.randn(4, 3, requires_grad=True)
    J = torch.stack([torch.autograd.functional.jacobian(lambda r: net(torch.tensor(0.2), r[None])[0], row) for row in u.detach()])
    assert torch.allclose(divergence(net(torch.tensor(0.2), u), u), J.diagonal(dim1=1, dim2=2).sum(-1), atol=1e-5)


@pytest.mark.parametrize('bad, match', [
    (dict(X=[[1., 2.], [3., float('nan')]]), 'NaN'),
    (dict(X=torch.zeros(4, 3)), r'shape \(N, 2\)'),
    (dict(X=torch.zeros(0, 2)), 'empty'),
    (dict(epochs=-1), 'epochs'),
    (dict(batch_size=0), 'batch_size'),
    (dict(valid=torch.zeros(3, 5)), '`valid` must have shape'),
])
def test_fit_bad_input(bad, match):
    kw = dict(X=torch.zeros(4, 2), progress=False) | bad
    with pytest.raises(ValueError, match=match):
        _flow().fit(**kw)


def test_sample_and_log_prob_edge_cases():
    f = _flow()
    assert f.sample(0).shape == (0, 2)
    assert f.log_prob(torch.zeros(0, 2)).shape == (0,)
    with pytest.raises(ValueError, match='empty'):
        f.nll(torch.zeros(0, 2))
    with pytest.raises(ValueError, match='`field` must be an nn.Module'):
        CNF(2, field=lambda s, u: u)


def test_kinetic_penalty():
    X = _data(128)
    f = _flow()
    with torch.no_grad():
        lp, k = f.log_prob_and_energy(X)
        assert torch.allclose(lp, f.log_prob(X), atol=1e-5) and (k > 0).all()
    f.fit(X, epochs=2, batch_size=64, lr=1e-2, progress=False, kinetic=0.1, objective='ml')
    assert f.history[-1]['train_nll'] < 10          # the NLL is reported without the penalty
    with pytest.raises(ValueError, match='kinetic'):
        f.fit(X, kinetic=-1., progress=False)


def test_kl_to_normal_estimates_and_limits():
    "Against the closed form for N(0, s^2 I) in 3 dims; too few rows raise; above KL_MAX_DIMS the latent KL is not estimated."
    from cpmm.cnf import kl_to_normal, KL_MAX_DIMS
    g = torch.Generator().manual_seed(1)
    for s2 in (0.5, 2.):
        exact = 1.5 * (s2 - 1 - math.log(s2))
        assert abs(kl_to_normal(math.sqrt(s2) * torch.randn(5000, 3, generator=g)) - exact) < 0.06
    with pytest.raises(ValueError, match='more than k=5 rows'):
        kl_to_normal(torch.randn(5, 2))
    f = CNF(KL_MAX_DIMS + 1, hidden=8, depth=1, method='rk4', step_size=0.5)
    assert f.latent_moments(torch.randn(50, KL_MAX_DIMS + 1))['kl'] is None
    assert _flow().latent_moments(_data(50))['kl'] is not None
