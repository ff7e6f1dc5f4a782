"""Private helpers shared by the teaching modules: input checks that raise clear ValueErrors instead
of cryptic traces, a file's SHA-256, and a walk over a model's nested layers."""

import hashlib
import math

import numpy as np

def as_array(x, name: str, *, min_ndim: int = 1, dtype=np.float64) -> np.ndarray:
    """Return ``x`` as a numpy array of ``dtype``; raise ValueError if it is not numeric,
    has fewer than ``min_ndim`` dimensions, or holds NaN/inf."""
    arr = np.asarray(x)
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

def check_positive_int(value, name: str) -> int:
    """Return ``value`` as int; raise ValueError unless it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)

def check_number(value, name: str, *, low: float = 0.0, high: float | None = None, strict: bool = False) -> float:
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
        raise ValueError(f"{name} must be {bound}; got {value!r}")
    return value

def sha256_file(path) -> str:
    """Return the hex SHA-256 of the file at ``path``, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

def walk_layers(model):
    """Yield every layer of ``model``, depth first, including the layers of nested models."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from walk_layers(layer)
