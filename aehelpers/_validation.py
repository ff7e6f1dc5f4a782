"""Input checks shared by the helpers: clear ValueErrors instead of cryptic traces."""

from __future__ import annotations

import math

import numpy as np


def as_array(x, name: str, *, min_ndim: int = 1, dtype=np.float64) -> np.ndarray:
    """Return ``x`` as a numpy array of ``dtype``; raise ValueError if it is not numeric,
    has fewer than ``min_ndim`` dimensions, or holds NaN/inf."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise ValueError(f"{name} must be array-like (a numpy array or tensor); got {type(x).__name__}") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must hold numbers; got dtype {arr.dtype}. Convert it with np.asarray(..., dtype='float32').")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions (a batch: (N, ...)); got shape {arr.shape}")
    arr = arr.astype(dtype, copy=False)
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf values; check the model's output (e.g. a diverged loss)")
    return arr


def check_range(arr: np.ndarray, name: str, low: float, high: float, *, tol: float = 1e-4) -> None:
    """Raise ValueError unless every value of ``arr`` lies in [low, high] (within ``tol``)."""
    lo, hi = float(arr.min(initial=low)), float(arr.max(initial=high))
    if lo < low - tol or hi > high + tol:
        hint = " Did you forget to divide uint8 pixels by 255?" if hi > 1.5 and high == 1.0 else ""
        raise ValueError(f"{name} must lie in [{low}, {high}]; got values in [{lo:.4g}, {hi:.4g}].{hint}")


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape; got {a.shape} and {b.shape}")


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as int; raise ValueError unless it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_number(value, name: str, *, low: float = 0.0, high: float | None = None, strict: bool = False,
                 hint: str = "") -> float:
    """Return ``value`` as a float; raise ValueError unless it is a finite number in [low, high]
    (``high=None``: no upper bound), or strictly between them with ``strict=True``."""
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number; got {value!r}") from exc
    inside = low < value < high if strict else value >= low and (high is None or value <= high)
    if not math.isfinite(value) or not inside:
        bound = (f"strictly between {low:g} and {high:g}" if strict else
                 f"in [{low:g}, {high:g}]" if high is not None else f"a finite number >= {low:g}")
        raise ValueError(f"{name} must be {bound}{hint}; got {value!r}")
    return value
