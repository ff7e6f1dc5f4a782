import numpy as np
import pytest

from aehelpers import metrics


def test_per_image_mse_and_mse():
    x = np.zeros((3, 4, 4))
    x_hat = np.stack([np.full((4, 4), v) for v in (0.0, 0.1, 0.2)])
    np.testing.assert_allclose(metrics.per_image_mse(x, x_hat), [0.0, 0.01, 0.04])
    assert metrics.mse(x, x_hat) == pytest.approx(0.05 / 3)


def test_psnr_known_value():
    x = np.zeros((5, 28, 28), dtype=np.float32)
    x_hat = np.full_like(x, 0.1)  # MSE 0.01 -> 20 dB
    assert metrics.psnr(x, x_hat) == pytest.approx(20.0, abs=1e-4)
    assert metrics.per_image_psnr(x, x_hat).shape == (5,)


def test_psnr_mean_of_per_image_values():
    x = np.zeros((2, 10))
    x_hat = np.stack([np.full(10, 0.1), np.full(10, 0.01)])  # 20 dB and 40 dB
    assert metrics.psnr(x, x_hat) == pytest.approx(30.0)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"same shape; got \(2, 4\) and \(2, 5\)"):
        metrics.mse(np.zeros((2, 4)), np.zeros((2, 5)))


def test_uint8_range_is_rejected_with_hint():
    x = np.random.default_rng(0).integers(0, 256, (2, 28, 28)).astype(np.uint8)
    with pytest.raises(ValueError, match="divide uint8 pixels by 255"):
        metrics.psnr(x, x)


def test_nan_and_non_numeric_rejected():
    with pytest.raises(ValueError, match="NaN"):
        metrics.mse(np.zeros((2, 3)), np.array([[0, np.nan, 0], [0, 0, 0]]))
    with pytest.raises(ValueError, match="must hold numbers"):
        metrics.mse(np.array([["a", "b"]]), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        metrics.mse(np.zeros(3), np.zeros(3))


def test_perfect_reconstruction_psnr_is_explicit():
    x = np.full((2, 3), 0.5)
    assert np.isinf(metrics.per_image_psnr(x, x)).all()
    with pytest.raises(ValueError, match="infinite"):
        metrics.psnr(x, x)
    with pytest.raises(ValueError, match="data_range must be positive"):
        metrics.psnr(x, x, data_range=0)
