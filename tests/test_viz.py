"Shape, rendering and bad-input tests for cpmm.viz and cpmm.viz_images under the Agg backend (the notebooks 11_viz and 11a_viz_images hold the worked checks)."
import matplotlib
matplotlib.use('Agg')
import math
import numpy as np
import pytest
import torch
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse
from cpmm.mfa import MFA, HierarchicalMFA
from cpmm.direct import DirectMFA
from cpmm.data import inverse_logit_transform
from cpmm.viz import plot_mixture, plot_spaces, plot_samples, principal_plane
from cpmm.viz_images import plot_trajectory_means, plot_images


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close('all')


def rand_mix(C=3, G=4, M=2, R=1, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return HierarchicalMFA(torch.randn(C, G, M, generator=g, dtype=dtype), 0.3 * torch.randn(C, G, M, R, generator=g, dtype=dtype),
                           torch.randn(C, G, M, generator=g, dtype=dtype) - 2, torch.randn(C, G, generator=g, dtype=dtype),
                           torch.randn(C, generator=g, dtype=dtype))


def render(fig):
    fig.canvas.draw()
    return fig


def ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


# plot_mixture

@pytest.mark.parametrize('C,G,R', [(1, 1, 0), (3, 4, 1), (2, 5, 3)])
def test_mixture_counts_and_axes(C, G, R):
    mix = rand_mix(C, G, R=R)
    X = torch.randn(50, 2)
    ax = plot_mixture(mix, X)
    assert isinstance(ax, Axes)
    render(ax.figure)
    assert len(ellipses(ax)) == C * G
    assert len(ax.collections) == 1 and len(ax.collections[0].get_offsets()) == 50
    assert len([l for l in ax.lines if l.get_linestyle() == '-']) == C


@pytest.mark.parametrize('n_std', [1., 2.5])
def test_mixture_ellipse_sizes(n_std):
    mix = rand_mix(2, 3, R=2, dtype=torch.float64)
    S = mix.flatten().covariance.numpy()
    val = np.sort(np.linalg.eigvals(S).real, -1)                       # general eigen-solver, not eigh
    ax = plot_mixture(mix, n_std=n_std)
    e = ellipses(ax)
    np.testing.assert_allclose([x.width for x in e], 2 * n_std * np.sqrt(val[:, 1]), rtol=1e-9)
    np.testing.assert_allclose([x.height for x in e], 2 * n_std * np.sqrt(val[:, 0]), rtol=1e-9)
    for x, Sk in zip(e, S):                                            # the width runs along the major eigenvector
        u = np.array([math.cos(math.radians(x.angle)), math.sin(math.radians(x.angle))])
        np.testing.assert_allclose(u @ Sk @ u, (x.width / (2 * n_std)) ** 2, rtol=1e-9)


def test_mixture_uses_given_axes_and_labels():
    fig, ax = plt.subplots()
    mix, X = rand_mix(), torch.randn(20, 2)
    y = np.r_[np.zeros(10, int), -np.ones(10, int)]
    assert plot_mixture(mix, X, y, ax=ax, means=False) is ax
    assert len(ax.lines) == 0
    fc = ax.collections[0].get_facecolors()
    np.testing.assert_allclose(fc[10:, :3], 0.6)                         # negative labels are grey
    assert len(plt.get_fignums()) == 1


def test_mixture_accepts_flat_mfa_and_parameterization():
    m = MFA(torch.randn(4, 2), torch.randn(4, 2, 1), torch.zeros(4, 2))
    assert len(ellipses(plot_mixture(m))) == 4
    p = DirectMFA(2, 3, 2, 1).init_standard_normal()
    assert len(ellipses(plot_mixture(p, torch.randn(10, 2)))) == 6


def test_mixture_marginal_dims():
    mix, X = rand_mix(2, 3, M=4), torch.randn(30, 4)
    ax = plot_mixture(mix, X, dims=(3, 1))
    np.testing.assert_allclose(ax.collections[0].get_offsets(), X[:, [3, 1]].numpy(), rtol=1e-6)
    np.testing.assert_allclose([e.center for e in ellipses(ax)], mix.mu[..., [3, 1]].reshape(-1, 2).numpy(), rtol=1e-6)


def test_mixture_errors():
    mix3 = rand_mix(M=3)
    n_before = len(plt.get_fignums())
    with pytest.raises(ValueError, match=r'pass `dims=\(i, j\)`'): plot_mixture(mix3)
    with pytest.raises(ValueError, match='two dimensions'): plot_mixture(mix3, dims=(0, 1, 2))
    with pytest.raises(ValueError, match='out of range'): plot_mixture(mix3, dims=(0, 5))
    with pytest.raises(ValueError, match='repeated'): plot_mixture(mix3, dims=(1, 1))
    with pytest.raises(ValueError, match=r'shape \(N, 2\)'): plot_mixture(rand_mix(), torch.randn(5, 3))
    with pytest.raises(ValueError, match='3 labels for 5 points'): plot_mixture(rand_mix(), torch.randn(5, 2), [0, 1, 2])
    with pytest.raises(ValueError, match='pass `X`'): plot_mixture(rand_mix(), y=[0])
    with pytest.raises(ValueError, match='n_std'): plot_mixture(rand_mix(), n_std=0)
    with pytest.raises(ValueError, match='Expected a HierarchicalMFA'): plot_mixture(np.zeros((3, 2)))
    assert len(plt.get_fignums()) == n_before                         # bad input opens no figure


# plot_spaces

@pytest.mark.parametrize('T,n,want', [(11, 6, 6), (3, 6, 3), (5, 1, 1), (2, 2, 2)])
def test_spaces_panels(T, n, want):
    sp = np.random.RandomState(0).randn(T, 40, 2)
    fig = plot_spaces(sp, np.arange(40) % 3, n_panels=n)
    assert isinstance(fig, Figure)
    render(fig)
    assert len(fig.axes) == want
    assert all(a.get_title().startswith('v = ') for a in fig.axes)
    np.testing.assert_allclose(fig.axes[-1].collections[0].get_offsets(), sp[-1])


def test_spaces_times_and_sequences():
    sp = [torch.randn(10, 2) for _ in range(4)]
    fig = plot_spaces(sp, v=[1., .5, .25, 0.])
    assert [a.get_title() for a in fig.axes] == ['v = 1.00', 'v = 0.50', 'v = 0.25', 'v = 0.00']

    class S:
        v = torch.tensor([.3, .2, .1])
        def __len__(self): return 3
        def __getitem__(self, i): return torch.full((5, 3), float(i))
    fig = plot_spaces(S(), dims=(2, 0))
    assert [a.get_title() for a in fig.axes] == ['v = 0.30', 'v = 0.20', 'v = 0.10']
    np.testing.assert_allclose(fig.axes[1].collections[0].get_offsets(), np.ones((5, 2)))


def test_spaces_into_given_figure():
    fig = plt.figure()
    assert plot_spaces(np.zeros((4, 3, 2)), fig=fig, n_panels=2) is fig
    assert len(fig.axes) == 2


def test_spaces_errors():
    n_before = len(plt.get_fignums())
    with pytest.raises(ValueError, match=r'\(T, N, M\)'): plot_spaces(np.zeros((3, 2)))
    with pytest.raises(ValueError, match='sequence'): plot_spaces(5)
    with pytest.raises(ValueError, match='empty'): plot_spaces([])
    with pytest.raises(ValueError, match='dims'): plot_spaces(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match='two of the 3 dims'): plot_spaces(np.zeros((2, 4, 3)), dims=(0, 3))
    with pytest.raises(ValueError, match='3 times for 2 spaces'): plot_spaces(np.zeros((2, 4, 2)), v=[1, .5, 0])
    with pytest.raises(ValueError, match='n_panels'): plot_spaces(np.zeros((2, 4, 2)), n_panels=0)
    with pytest.raises(ValueError, match='same shape'): plot_spaces([np.zeros((4, 2)), np.zeros((5, 2))])
    assert len(plt.get_fignums()) == n_before                         # bad input opens no figure


# plot_samples

def test_samples_panels_and_reproducible():
    mix, X = rand_mix(), torch.randn(40, 2)
    fig = render(plot_samples(mix, X, n=25, seed=3))
    a0, a1 = fig.axes
    assert len(a0.collections[0].get_offsets()) == 40 and len(a1.collections[0].get_offsets()) == 25
    xs, _ = mix.sample(25, generator=torch.Generator().manual_seed(3))
    np.testing.assert_allclose(a1.collections[0].get_offsets(), xs.numpy(), rtol=1e-6)
    fig2 = plot_samples(mix, X, n=25, seed=3)
    np.testing.assert_array_equal(fig2.axes[1].collections[0].get_offsets(), a1.collections[0].get_offsets())
    assert len(plot_samples(mix, X).axes[1].collections[0].get_offsets()) == 40       # n defaults to N


def test_samples_dims_and_errors():
    mix, X = rand_mix(M=3), torch.randn(10, 3)
    render(plot_samples(mix, X, dims=(0, 2), n=5))
    n_before = len(plt.get_fignums())
    with pytest.raises(ValueError, match='dims'): plot_samples(mix, X)
    with pytest.raises(ValueError, match=r'shape \(N, 3\)'): plot_samples(mix, X[:, :2], dims=(0, 1))
    with pytest.raises(ValueError, match='`n`'): plot_samples(mix, X, n=2.5, dims=(0, 1))
    with pytest.raises(ValueError, match='`seed`'): plot_samples(mix, X, seed='a', dims=(0, 1))
    assert len(plt.get_fignums()) == n_before                         # bad input opens no figure


# plot_trajectory_means and plot_images

def grid_cell(g, r, k, h, w, pad=1):
    return np.ma.getdata(g)[r * (h + pad):r * (h + pad) + h, k * (w + pad):k * (w + pad) + w]


def test_trajectory_means_grid():
    C, G, h, w = 2, 5, 4, 3
    mu = torch.randn(C, G, h * w)
    ax = plot_trajectory_means(HierarchicalMFA(mu, torch.zeros(C, G, h * w, 1), torch.zeros(C, G, h * w)), (h, w))
    render(ax.figure)
    g = ax.images[0].get_array()
    assert g.shape == (C * (h + 1) - 1, G * (w + 1) - 1)
    for c in range(C):
        for k in range(G): np.testing.assert_allclose(grid_cell(g, c, k, h, w), mu[c, k].view(h, w).numpy(), rtol=1e-6)


def test_trajectory_means_subsample_inverse_and_extract():
    mu = torch.randn(1, 7, 4)
    mix = HierarchicalMFA(mu, torch.zeros(1, 7, 4, 1), torch.zeros(1, 7, 4))
    ax = plot_trajectory_means(mix, (2, 2), n=3, inverse=inverse_logit_transform)
    g = ax.images[0].get_array()
    assert g.shape == (2, 3 * 3 - 1)
    for j, k in enumerate([0, 3, 6]):
        np.testing.assert_allclose(grid_cell(g, 0, j, 2, 2), torch.sigmoid(mu[0, k]).view(2, 2).numpy(), atol=1e-5)
    p = DirectMFA(2, 4, 9, 1).init_standard_normal()
    assert plot_trajectory_means(p, (3, 3)).images[0].get_array().shape == (2 * 4 - 1, 4 * 4 - 1)


def test_trajectory_means_errors():
    mix = HierarchicalMFA(torch.zeros(2, 3, 16), torch.zeros(2, 3, 16, 1), torch.zeros(2, 3, 16))
    n_before = len(plt.get_fignums())
    with pytest.raises(ValueError, match='holds 784 values'): plot_trajectory_means(mix)
    with pytest.raises(ValueError, match='only G = 3'): plot_trajectory_means(mix, (4, 4), n=4)
    with pytest.raises(ValueError, match='`n`'): plot_trajectory_means(mix, (4, 4), n=0)
    with pytest.raises(ValueError, match='keep the shape'): plot_trajectory_means(mix, (4, 4), inverse=lambda m: m[:2])
    with pytest.raises(ValueError, match='1 \\(grey\\) or 3'): plot_trajectory_means(mix, (4, 2, 2))
    assert len(plt.get_fignums()) == n_before                         # bad input opens no figure


@pytest.mark.parametrize('N,nrow,shape', [(1, None, (1, 1)), (7, 2, (2, 4)), (9, None, (3, 3)), (10, None, (3, 4)), (2, None, (1, 2)), (5, 5, (5, 1))])
def test_images_grid(N, nrow, shape):
    X = np.random.RandomState(0).rand(N, 6)
    ax = plot_images(X, (2, 3), nrow=nrow)
    render(ax.figure)
    g = ax.images[0].get_array()
    R, K = shape
    assert g.shape == (R * 3 - 1, K * 4 - 1)
    for i in range(N): np.testing.assert_allclose(grid_cell(g, i // K, i % K, 2, 3), X[i].reshape(2, 3))
    for i in range(N, R * K): assert np.ma.getmaskarray(g)[(i // K) * 3:(i // K) * 3 + 2, (i % K) * 4:(i % K) * 4 + 3].all()


def test_images_shapes_rgb_and_errors():
    imgs = torch.rand(3, 3, 4, 4)
    g = plot_images(imgs, (3, 4, 4), nrow=1, pad=0).images[0].get_array()
    assert g.shape == (4, 12, 3)
    np.testing.assert_allclose(g[:, 4:8], imgs[1].permute(1, 2, 0).numpy(), rtol=1e-6)
    assert plot_images(torch.rand(2, 5, 5), (5, 5)).images[0].get_array().shape == (5, 11)   # default: one row of 2
    n_before = len(plt.get_fignums())
    with pytest.raises(ValueError, match='no images'): plot_images(np.zeros((0, 4)), (2, 2))
    with pytest.raises(ValueError, match='3 rows for only 2'): plot_images(np.zeros((2, 4)), (2, 2), nrow=3)
    with pytest.raises(ValueError, match='holds 4 values'): plot_images(np.zeros((2, 5)), (2, 2))
    with pytest.raises(ValueError, match=r'\(N, M\) vectors'): plot_images(np.zeros((2, 3, 3)), (2, 2))
    with pytest.raises(ValueError, match='image_shape'): plot_images(np.zeros((2, 4)), 4)
    with pytest.raises(ValueError, match='`pad`'): plot_images(np.zeros((2, 4)), (2, 2), pad=-1)
    assert len(plt.get_fignums()) == n_before                         # bad input opens no figure


def test_no_show(monkeypatch):
    def fail(*a, **k): raise AssertionError('plt.show called')
    monkeypatch.setattr(plt, 'show', fail)
    mix = rand_mix(M=4)
    plot_mixture(mix, torch.randn(5, 4), dims=(0, 1)); plot_samples(mix, torch.randn(5, 4), dims=(0, 1))
    plot_spaces(np.zeros((3, 5, 2))); plot_trajectory_means(mix, (2, 2)); plot_images(np.zeros((2, 4)), (2, 2))


# titles, axis labels and legends

def legend_texts(ax):
    lg = ax.get_legend()
    return [] if lg is None else [t.get_text() for t in lg.get_texts()]


def test_mixture_title_labels_legend_and_opacity_by_weight():
    mix = rand_mix(2, 3, R=1)
    mix = HierarchicalMFA(mix.mu, mix.A, mix.log_d, torch.log_softmax(torch.tensor([[0., 0., -2.], [0., -1., 0.]]), -1))
    X = torch.randn(40, 2)
    ax = plot_mixture(mix, X, names=['height (cm)', 'weight (kg)'])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ('height (cm)', 'weight (kg)')
    assert ax.get_title() == '2 trajectories × 3 components, 2σ ellipses, 40 points'
    texts = legend_texts(ax)
    assert texts[0].startswith('cluster 0 (') and texts[1].startswith('cluster 1 (')
    assert any('opacity by weight' in t for t in texts) and any('predicted cluster' in t for t in texts)
    w = mix.flatten().log_weights.exp().numpy()
    op = np.array([e.get_edgecolor()[3] for e in ellipses(ax)])
    np.testing.assert_allclose(op, 1 - .85 * (1 - w / w.max()), rtol=1e-6)     # the heaviest opaque, lighter ones fainter
    assert 'coloured by their labels' in legend_texts(plot_mixture(mix, X, y=np.zeros(40, int)))[-1]
    assert plot_mixture(mix, legend=False).get_legend() is None


def test_principal_plane_and_projected_mixture():
    g = np.random.default_rng(1)
    X = g.normal(size=(400, 3)) * [4., 1., .2]
    P, c, frac = principal_plane(X)
    np.testing.assert_allclose(np.abs(P), np.eye(3)[:, :2], atol=.05)           # the axes of largest variance
    assert frac[0] > frac[1] > 0 and frac.sum() < 1
    mix = rand_mix(2, 3, M=3, R=2, dtype=torch.float64)
    ax = plot_mixture(mix, X, plane=(P, c), names=['PC 1', 'PC 2'])
    np.testing.assert_allclose(ax.collections[0].get_offsets(), (X - c) @ P, rtol=1e-6)
    S = mix.flatten().covariance.numpy()                                        # reference: the projected covariances
    val = np.sort(np.linalg.eigvalsh(P.T @ S @ P), -1)
    np.testing.assert_allclose([e.width for e in ellipses(ax)], 4 * np.sqrt(val[:, 1]), rtol=1e-9)
    np.testing.assert_allclose([e.center for e in ellipses(ax)], (mix.mu.reshape(-1, 3).numpy() - c) @ P, atol=1e-9)
    with pytest.raises(ValueError, match='not both'): plot_mixture(mix, X, plane=(P, c), dims=(0, 1))
    with pytest.raises(ValueError, match=r'P \(M, 2\)'): plot_mixture(mix, X, plane=(P[:2], c))
    with pytest.raises(ValueError, match='N, M >= 2'): principal_plane(X[:, :1])


def test_samples_say_what_the_colours_are():
    mix, X = rand_mix(3, 4), torch.randn(30, 2)
    fig = plot_samples(mix, X, names=['a', 'b'])
    assert 'predicted cluster' in fig.get_suptitle() and 'the cluster that drew each sample' in fig.get_suptitle()
    assert fig.axes[0].get_xlabel() == 'a' and fig.axes[0].get_ylabel() == 'b'
    assert legend_texts(fig.axes[1]) == ['cluster 0', 'cluster 1', 'cluster 2']
    assert 'the labels' in plot_samples(mix, X, y=np.zeros(30, int)).get_suptitle()


def test_spaces_name_each_panel():
    fig = plot_spaces(np.random.RandomState(0).randn(5, 20, 2), n_panels=3)
    assert [a.get_title() for a in fig.axes] == ['v = 1.00', 'v = 0.50', 'v = 0.00']
    assert [a.get_xlabel() for a in fig.axes] == ['latent space N(0, I)', 'the flow at time v = 0.50', 'data space']
    assert "curriculum's spaces" in fig.get_suptitle()
