"cpmm.model: scikit-learn's own estimator checks, the thread setting, the random state, checkpoints and the README's ecosystem examples."
import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks
from cpmm.model import CPMM, CPMMClassifier

SMALL = dict(n_components=3, epochs=2, batch_size=32, init='kmeans')   # quick: no 'path' distillation


def _X():
    return np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)


@parametrize_with_checks([CPMM(n_clusters=2, rank=1, **SMALL), CPMMClassifier(rank=1, **SMALL)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_fit_restores_thread_count():
    before = torch.get_num_threads()
    CPMM(2, 3, 1, epochs=1).fit(_X())
    assert torch.get_num_threads() == before


@pytest.mark.parametrize('bad', [0, -1, 1.5, True])
def test_bad_n_threads(bad):
    with pytest.raises(ValueError, match='n_threads'):
        CPMM(2, 3, 1, epochs=1, n_threads=bad).fit(_X())
    assert torch.get_num_threads() >= 1


def test_fit_leaves_global_random_state_alone():
    torch.manual_seed(7); expected = torch.rand(4)
    torch.manual_seed(7); CPMM(2, 3, 1, epochs=1).fit(_X()); CPMMClassifier(3, 1, epochs=1).fit(_X(), np.arange(200) % 2)
    assert torch.equal(torch.rand(4), expected)


def test_same_random_state_same_model():
    a, b = (CPMM(2, 3, 1, epochs=2, random_state=3).fit(_X()).score_samples(_X()) for _ in range(2))
    assert np.array_equal(a, b)


def test_scale_invariance():
    "Fitting a·X + b gives the same clusters and log-densities lower by sum(log a)."
    X = _X() + np.repeat([[0, 0], [4, 4]], 100, 0)
    a, b = np.array([300., 0.02]), np.array([1e4, -7.])
    m1, m2 = CPMM(2, 5, 1, epochs=5).fit(X), CPMM(2, 5, 1, epochs=5).fit(a * X + b)
    assert np.array_equal(m1.predict(X), m2.predict(a * X + b))
    np.testing.assert_allclose(m2.score_samples(a * X + b), m1.score_samples(X) - np.log(a).sum(), atol=1e-3)


def test_checkpoint_refuses_other_settings(tmp_path):
    ck = tmp_path / 'ck.pt'
    CPMM(2, 3, 1, epochs=1, checkpoint=str(ck)).fit(_X())
    with pytest.raises(ValueError, match='other settings'):
        CPMM(2, 4, 1, epochs=2, checkpoint=str(ck), resume=True).fit(_X())
    CPMM(2, 3, 1, epochs=2, checkpoint=str(ck), resume=True).fit(_X())   # the same settings continue, with more epochs
    with pytest.warns(UserWarning, match='Overwriting the checkpoint'):   # a clone with other settings does not overwrite it silently
        CPMM(2, 3, 1, epochs=1, lr=1e-2, checkpoint=str(ck)).fit(_X())


def test_restarts_one_checkpoint_each(tmp_path):
    ck = tmp_path / 'ck.pt'
    CPMM(2, 3, 1, epochs=1, n_init=2, checkpoint=str(ck)).fit(_X())
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == '.pt') == ['ck-init0.pt', 'ck-init1.pt']


def test_images_accepted_as_nchw():
    X = np.random.default_rng(0).normal(size=(40, 1, 4, 4)).astype(np.float32)
    m = CPMM(2, 2, 1, epochs=1, image_shape=(1, 4, 4), net='conv').fit(X)
    assert m.n_features_in_ == 16 and m.score_samples(X).shape == (40,)
    assert np.array_equal(m.score_samples(X), m.score_samples(X.reshape(40, 16)))


def test_rank_auto_is_chosen_on_held_out_rows_for_the_mlp_field_only():
    "rank='auto': `select_rank` for the MLP field (its scores kept), the count rule `auto_rank` for the conv field of images."
    from cpmm.fitting import auto_rank
    X = np.random.default_rng(0).normal(size=(200, 1, 4, 4)).astype(np.float32)
    conv = CPMM(2, 2, epochs=0, image_shape=(1, 4, 4), net='conv').fit(X)
    assert conv.rank_scores_ is None and conv.rank_ == auto_rank(180, 16, 2)
    mlp = CPMM(2, 2, epochs=0).fit(X.reshape(200, 16))
    assert mlp.rank_ in mlp.rank_scores_ and list(mlp.rank_scores_)[0] == 1


def test_pipeline_and_search():
    from sklearn.datasets import load_iris
    from sklearn.decomposition import PCA
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = load_iris(return_X_y=True)
    small = dict(n_components=4, epochs=3, init='kmeans')
    assert make_pipeline(StandardScaler(), PCA(2), CPMM(3, **small)).fit(X).predict(X).shape == (150,)
    assert GridSearchCV(CPMM(**small), {'n_clusters': [2, 3]}, cv=2).fit(X).best_params_['n_clusters'] in (2, 3)
    assert GridSearchCV(CPMMClassifier(**small), {'rank': [0, 1]}, cv=2).fit(X, y).best_params_['rank'] in (0, 1)
    assert cross_val_score(CPMMClassifier(**small), X, y, cv=3).mean() > 0.8


def test_moving_average_of_the_weights():
    "`ema` (default `cpmm.fitting.EMA`): the fit keeps the moving average of the weights; None keeps the last step's; a bad decay is named."
    from cpmm.fitting import EMA
    X = np.random.RandomState(0).randn(300, 2) * [1, 3]
    assert CPMM().ema == EMA and CPMMClassifier().ema == EMA
    a, b = CPMM(2, 5, epochs=3, random_state=0).fit(X), CPMM(2, 5, epochs=3, ema=None, random_state=0).fit(X)
    assert not np.allclose(a.score_samples(X), b.score_samples(X))
    for bad in (0., 1., -0.5, True, 'yes'):
        with pytest.raises(ValueError, match='`ema` must be a decay'):
            CPMM(2, 5, epochs=1, ema=bad).fit(X)
