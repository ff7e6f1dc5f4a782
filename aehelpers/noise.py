"""Corruption processes C(x̃ | x) for denoising autoencoders, on numpy batches of images
in [0, 1]. Introduced in notebook 02.

Every function takes a batch ``x`` of shape ``(N, ...)`` with values in [0, 1], a noise
level, and a ``rng`` (the ``numpy.random.Generator`` returned by
:func:`aehelpers.utils.setup_notebook`, or an int seed), and returns a new float32 array
of the same shape, still in [0, 1]. ``x`` itself is never modified.
"""

from __future__ import annotations

import numpy as np

from aehelpers._validation import as_array, check_number, check_range


def _inputs(x, rng, level, name: str, high: float | None):
    x = as_array(x, "x", min_ndim=2, dtype=np.float32)
    if x.size == 0:
        raise ValueError(f"x must be a non-empty batch of shape (N, ...); got shape {x.shape}")
    check_range(x, "x", 0.0, 1.0)
    level = check_number(level, name, high=high)
    if rng is None or isinstance(rng, (bool, float)):
        raise ValueError("rng must be a numpy.random.Generator (e.g. the one setup_notebook returns) or an int seed, "
                         f"so the noise is reproducible; got {rng!r}")
    if not isinstance(rng, np.random.Generator):
        try:
            rng = np.random.default_rng(rng)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"rng must be a numpy.random.Generator or an int seed; got {rng!r}") from exc
    return x, rng, level


def gaussian(x, std, rng) -> np.ndarray:
    """Return ``clip(x + std * ε, 0, 1)`` with ``ε ~ N(0, I)``: additive Gaussian noise,
    clipped back to the valid pixel range (the TensorFlow tutorial's "noise factor" is
    ``std``). Introduced in notebook 02."""
    x, rng, std = _inputs(x, rng, std, "std (the noise standard deviation)", None)
    noisy = x + np.float32(std) * rng.standard_normal(x.shape, dtype=np.float32)
    return np.clip(noisy, 0.0, 1.0, out=noisy)


def masking(x, fraction, rng) -> np.ndarray:
    """Return ``x`` with a random ``fraction`` of its values set to 0 (masking noise: each
    pixel is dropped independently with probability ``fraction``). Introduced in notebook 02."""
    x, rng, fraction = _inputs(x, rng, fraction, "fraction (the probability of masking a pixel)", 1.0)
    keep = rng.random(x.shape, dtype=np.float32) >= fraction
    return np.where(keep, x, np.float32(0.0))


def salt_and_pepper(x, fraction, rng) -> np.ndarray:
    """Return ``x`` with a random ``fraction`` of its values replaced by 0 or 1 (pepper or
    salt, with equal probability). Introduced in notebook 02."""
    x, rng, fraction = _inputs(x, rng, fraction, "fraction (the probability of corrupting a pixel)", 1.0)
    u = rng.random(x.shape, dtype=np.float32)
    out = x.copy()
    out[u < fraction / 2] = 0.0
    out[(u >= fraction / 2) & (u < fraction)] = 1.0
    return out


CORRUPTIONS = {"gaussian": gaussian, "masking": masking, "salt_and_pepper": salt_and_pepper}
"""The corruption functions by name, for loops over corruption kinds."""


def corrupt(x, kind: str, level, rng) -> np.ndarray:
    """Return ``CORRUPTIONS[kind](x, level, rng)``: one entry point for a corruption chosen by
    name (``"gaussian"``, ``"masking"`` or ``"salt_and_pepper"``). Introduced in notebook 02."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {kind!r}; choose one of {sorted(CORRUPTIONS)}")
    return CORRUPTIONS[kind](x, level, rng)
