"""Reconstruction metrics on numpy arrays. Introduced in notebook 01."""

import numpy as np

from aehelpers._validation import as_array, check_range

def _pair(x, x_hat, data_range: float | None):
    # float32 is exact enough for pixel differences; the means below accumulate in float64.
    x = as_array(x, "x", min_ndim=2, dtype=np.float32)
    x_hat = as_array(x_hat, "x_hat", min_ndim=2, dtype=np.float32)
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape; got {x.shape} and {x_hat.shape}")
    if data_range is not None:
        check_range(x, "x", 0.0, data_range)
        check_range(x_hat, "x_hat", 0.0, data_range)
    return x.reshape(len(x), -1), x_hat.reshape(len(x_hat), -1)

def per_image_mse(x, x_hat) -> np.ndarray:
    """Return the mean squared error of each example of two same-shape batches, shape ``(N,)``.
    Introduced in notebook 04."""
    x, x_hat = _pair(x, x_hat, None)
    return np.mean(np.square(x - x_hat), axis=1, dtype=np.float64)

def mse(x, x_hat) -> float:
    """Return the mean squared error over all examples and values (a float). Introduced in notebook 01."""
    return float(np.mean(per_image_mse(x, x_hat)))

def per_image_psnr(x, x_hat, data_range: float = 1.0) -> np.ndarray:
    """Return each image's PSNR = 10 log10(data_range² / MSE) in dB, shape ``(N,)`` (both batches in
    [0, data_range]; a perfect reconstruction gives +inf). Introduced in notebook 02."""
    if not data_range > 0:
        raise ValueError(f"data_range must be positive (1.0 for images in [0, 1]); got {data_range!r}")
    x, x_hat = _pair(x, x_hat, data_range)
    err = np.mean(np.square(x - x_hat), axis=1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(data_range**2 / err)

def psnr(x, x_hat, data_range: float = 1.0) -> float:
    """Return the mean per-image PSNR in dB (the course's "test PSNR"). Introduced in notebook 02."""
    values = per_image_psnr(x, x_hat, data_range)
    if np.isinf(values).any():
        raise ValueError("psnr is infinite: some reconstructions equal their input exactly; use per_image_psnr to inspect them")
    return float(np.mean(values))
