"Property and bad-input tests for the 2-D toys of cpmm.toys (the notebook 01a_toys holds the worked checks)."
import math
import numpy as np
import pytest
import torch
from cpmm.toys import broken_circles, spiral


@pytest.mark.parametrize('make', [broken_circles, spiral])
def test_toy_shapes_dtypes_and_seeds(make):
    X, y = make(301)
    assert X.shape == (301, 2) and X.dtype == torch.float32 and y.shape == (301,) and y.dtype == torch.int64
    assert torch.equal(make(301, seed=4)[0], make(301, seed=4)[0])
    assert torch.equal(make(301, seed=4)[1], make(301, seed=4)[1])
    assert not torch.equal(make(301, seed=4)[0], make(301, seed=5)[0])
    assert 0.5 < X.std(0).min() and X.std(0).max() < 1.5                          # roughly unit spread
    assert torch.isfinite(X).all()


def test_toy_leaves_global_rng_alone():
    torch.manual_seed(0); np.random.seed(0)
    a, b = torch.rand(1), np.random.rand()
    torch.manual_seed(0); np.random.seed(0)
    broken_circles(50); spiral(50)
    assert torch.rand(1) == a and np.random.rand() == b


@pytest.mark.parametrize('seed', range(3))
def test_broken_circles_radius_separates_classes(seed):
    X, y = broken_circles(4000, seed=seed)
    r = X.norm(dim=1)
    assert abs(r[y == 0].mean().item() - 1.0) < 0.005 and abs(r[y == 1].mean().item() - 1.1) < 0.005
    assert abs(r[y == 1].std().item() - r[y == 0].std().item()) < 0.003           # same thickness
    assert ((r > 1.05) == (y == 1)).float().mean() > 0.99
    assert torch.bincount(y).tolist() == [2000, 2000]


def test_broken_circles_gaps_on_opposite_sides():
    X, y = broken_circles(4000)
    ang = torch.atan2(X[:, 1], X[:, 0])
    assert not ((ang.abs() < math.pi / 4 - 0.01) & (y == 0)).any()                  # circle 0 misses the arc at 0
    assert not ((ang.abs() > 3 * math.pi / 4 + 0.01) & (y == 1)).any()              # circle 1 misses the arc at π
    for a in (math.pi / 2, -math.pi / 2):                                           # elsewhere both are present
        near = (ang - a).abs() < 0.2
        assert set(y[near].tolist()) == {0, 1}
    # a classifier on the angle alone cannot be perfect
    assert set(y[(ang.abs() > math.pi / 4) & (ang.abs() < 3 * math.pi / 4)].tolist()) == {0, 1}


@pytest.mark.parametrize('n,outliers', [(1000, 0.05), (333, 0.05), (200, 0.1), (50, 0.)])
def test_spiral_outlier_count(n, outliers):
    y = spiral(n, outliers=outliers)[1]
    assert (y == -1).sum().item() == round(outliers * n)
    counts = torch.bincount(y[y >= 0], minlength=5)
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize('arms', [1, 3, 5, 7])
def test_spiral_labels_follow_arms(arms):
    X, y = spiral(3000, arms=arms, seed=2)
    assert set(y.tolist()) == set(range(-1, arms))
    r = X.norm(dim=1)
    phase = ((torch.atan2(X[:, 1], X[:, 0]) - math.pi * r) * arms / (2 * math.pi)) % arms
    far, a = r > 1.0, y >= 0
    assert (phase.round()[far & a] % arms == y[far & a]).float().mean() > 0.95
    frac = (phase - phase.round()).abs()
    assert frac[far & ~a].mean() > 0.3 and frac[far & a].mean() < 0.15            # outliers between the arms
    assert r.min() < 0.3 and 1.8 < r.max() < 2.3                                   # from near the origin outward


@pytest.mark.parametrize('call,msg', [
    (lambda: broken_circles(0), '`n` must be at least 1, got 0'),
    (lambda: broken_circles(-5), '`n` must be at least 1'),
    (lambda: broken_circles(3.0), '`n` must be an integer'),
    (lambda: broken_circles(True), '`n` must be an integer'),
    (lambda: broken_circles(10, noise=float('nan')), '`noise` must be a finite number'),
    (lambda: broken_circles(10, gap=-0.1), '`gap`'),
    (lambda: spiral(0), '`n` must be at least 1'),
    (lambda: spiral(10, arms=0), '`arms` must be at least 1, got 0'),
    (lambda: spiral(10, arms=2.5), '`arms` must be an integer'),
    (lambda: spiral(10, outliers=-0.1), '`outliers`'),
    (lambda: spiral(10, noise=-1), '`noise`'),
    (lambda: spiral(10, seed=None), '`seed` must be an integer'),
])
def test_toy_bad_input(call, msg):
    with pytest.raises(ValueError, match=None) as e: call()
    assert msg in str(e.value)


# ---------------------------------------------------------------- IDX parser


# ---------------------------------------------------------------- the registry

def test_registry_names_and_contract():
    from cpmm.toys import TOYS, Toy, make_toy
    assert list(TOYS) == ['moons', 'circles', 'broken_circles', 'spiral', 'pinwheel', 'checkerboard', 'eight_gaussians']
    for name, toy in TOYS.items():
        assert isinstance(toy, Toy) and toy.description
        X, y = toy.make(200, seed=1)
        assert X.shape == (200, 2) and X.dtype == torch.float32 and y.shape == (200,) and y.dtype == torch.int64
        assert torch.equal(make_toy(name, 200, seed=1)[0], X) and torch.equal(toy.make(200, 1)[0], X)
        assert len(torch.unique(y[y >= 0])) == toy.n_clusters
    with pytest.raises(ValueError, match="Unknown toy 'spirals'; choose from 'moons'"): make_toy('spirals', 10)


def test_sklearn_toys_are_the_panels():
    "moons and circles are scikit-learn's generators with the parameters of the README's panel."
    from sklearn.datasets import make_circles, make_moons
    from cpmm.toys import make_toy
    np.testing.assert_array_equal(make_toy('moons', 300, 4)[0].numpy(), make_moons(300, noise=0.06, random_state=4)[0].astype(np.float32))
    np.testing.assert_array_equal(make_toy('circles', 300, 4)[0].numpy(),
                                  make_circles(300, noise=0.05, factor=0.5, random_state=4)[0].astype(np.float32))
