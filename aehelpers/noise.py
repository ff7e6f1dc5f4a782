"""Corruption processes C(x̃ | x) for denoising autoencoders (notebook 02): each takes a batch ``x`` in
[0, 1], a noise level and a ``rng`` (Generator or int seed) and returns a new float32 batch in [0, 1].
"""

import numpy as np

from aehelpers._validation import as_array, check_number, check_range

def _inputs(x, rng, level, name: str, high: float | None):
    x = as_array(x, "x", min_ndim=2, dtype=np.float32)
    if x.size == 0:
        raise ValueError(f"x must be a non-empty batch of shape (N, ...); got shape {x.shape}")
    check_range(x, "x", 0.0, 1.0)
    level = check_number(level, name, high=high)
    if not isinstance(rng, (np.random.Generator, int, np.integer)) or isinstance(rng, bool) or \
            (not isinstance(rng, np.random.Generator) and rng < 0):
        raise ValueError("rng must be a numpy.random.Generator (e.g. the one setup_notebook returns) or an int seed >= 0, "
                         f"so the noise is reproducible; got {rng!r}")
    return x, np.random.default_rng(rng), level

def gaussian(x, std, rng) -> np.ndarray:
    """Return ``clip(x + std * ε, 0, 1)``, ``ε ~ N(0, I)`` (the TensorFlow tutorial's "noise factor" is
    ``std``). Introduced in notebook 02."""
    x, rng, std = _inputs(x, rng, std, "std (the noise standard deviation)", None)
    noisy = x + np.float32(std) * rng.standard_normal(x.shape, dtype=np.float32)
    return np.clip(noisy, 0.0, 1.0, out=noisy)

def masking(x, fraction, rng) -> np.ndarray:
    """Return ``x`` with each value set to 0 with probability ``fraction``. Introduced in notebook 02."""
    x, rng, fraction = _inputs(x, rng, fraction, "fraction (the probability of masking a pixel)", 1.0)
    keep = rng.random(x.shape, dtype=np.float32) >= fraction
    return np.where(keep, x, np.float32(0.0))

def salt_and_pepper(x, fraction, rng) -> np.ndarray:
    """Return ``x`` with each value replaced, with probability ``fraction``, by 0 or 1 (equally likely).
    Introduced in notebook 02."""
    x, rng, fraction = _inputs(x, rng, fraction, "fraction (the probability of corrupting a pixel)", 1.0)
    u = rng.random(x.shape, dtype=np.float32)
    out = x.copy()
    out[u < fraction / 2] = 0.0
    out[(u >= fraction / 2) & (u < fraction)] = 1.0
    return out
