"cpmm.model.CPMM: the thread setting of fit."
import numpy as np
import pytest
import torch
from cpmm.model import CPMM


def _X():
    return np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)


def test_fit_restores_thread_count():
    before = torch.get_num_threads()
    CPMM(2, 3, 1, init='kmeans', epochs=1).fit(_X())
    assert torch.get_num_threads() == before


@pytest.mark.parametrize('bad', [0, -1, 1.5, True])
def test_bad_n_threads(bad):
    with pytest.raises(ValueError, match='n_threads'):
        CPMM(2, 3, 1, init='kmeans', epochs=1, n_threads=bad).fit(_X())
    assert torch.get_num_threads() >= 1
