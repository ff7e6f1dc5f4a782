import numpy as np
import pytest
from sklearn.decomposition import PCA

from aehelpers.baselines import pca_reconstruct


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3, 4)) @ np.diag([3.0, 1.0, 0.2, 0.1])  # images (3, 4)
    return x, PCA(n_components=6).fit(x.reshape(200, -1))


def test_matches_sklearn_and_keeps_the_shape(fitted):
    x, pca = fitted
    flat = x.reshape(len(x), -1)
    for k in (1, 3, 6):
        expected = PCA(n_components=k).fit(flat)
        expected = expected.inverse_transform(expected.transform(flat)).reshape(x.shape)
        out = pca_reconstruct(pca, x, k)
        assert out.shape == x.shape and out.dtype == np.float32
        np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_allclose(pca_reconstruct(pca, x), pca_reconstruct(pca, x, 6))


def test_error_shrinks_with_k_and_clip_bounds(fitted):
    x, pca = fitted
    errors = [np.mean((pca_reconstruct(pca, x, k) - x) ** 2) for k in range(1, 7)]
    assert all(a > b for a, b in zip(errors, errors[1:]))
    clipped = pca_reconstruct(pca, x, 2, clip=(-0.5, 0.5))
    assert clipped.min() >= -0.5 and clipped.max() <= 0.5


def test_bad_inputs_raise_clear_errors(fitted):
    x, pca = fitted
    with pytest.raises(ValueError, match="fitted sklearn.decomposition.PCA"):
        pca_reconstruct(PCA(2), x)
    with pytest.raises(ValueError, match="has 10 features .* fitted on 12"):
        pca_reconstruct(pca, np.zeros((5, 10)))
    with pytest.raises(ValueError, match="k=7 exceeds the 6 fitted components"):
        pca_reconstruct(pca, x, 7)
    with pytest.raises(ValueError, match="positive integer"):
        pca_reconstruct(pca, x, 0)
    with pytest.raises(ValueError, match="NaN"):
        pca_reconstruct(pca, np.full((2, 12), np.nan))
