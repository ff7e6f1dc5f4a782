"""Seeding and the notebook Setup cell. Introduced in notebook 01."""

from __future__ import annotations

import os
import platform
import random

import numpy as np

DEFAULT_SEED = 42
LAST_SEED: int | None = None    # the seed of the last set_seed call (part of the weights cache's key)


def set_seed(seed: int = DEFAULT_SEED) -> np.random.Generator:
    """Seed Python's ``random``, NumPy and the Keras backend with one number.

    Returns a ``numpy.random.Generator`` seeded with ``seed`` for the notebook's own
    sampling. Every notebook calls this (via :func:`setup_notebook`) so reruns give the same
    figures within noise. Introduced in notebook 01.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    global LAST_SEED
    seed = LAST_SEED = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses started later
    random.seed(seed)
    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)  # Python, NumPy and the backend (TF/JAX/torch)
    return np.random.default_rng(seed)


def versions() -> dict[str, str]:
    """Return the versions that matter for reproducing a notebook (Python, NumPy, Keras,
    the Keras backend and its version, aehelpers). Introduced in notebook 01."""
    import keras

    import aehelpers

    backend = keras.backend.backend()
    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "keras": keras.__version__,
        "backend": backend,
    }
    try:
        module = __import__({"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend, backend))
        info[backend] = getattr(module, "__version__", "?")
    except ImportError:  # pragma: no cover - the backend is importable if keras imported
        pass
    info["aehelpers"] = aehelpers.__version__
    return info


def setup_notebook(seed: int = DEFAULT_SEED, *, min_keras: str = "3.0") -> np.random.Generator:
    """The common Setup of every notebook: check Keras 3, seed everything, start the
    notebook's wall-time clock (see :mod:`aehelpers.results`) from the moment ``aehelpers``
    was imported, set readable figure defaults and print one line of library versions.

    Returns the seeded ``numpy.random.Generator`` from :func:`set_seed`.
    Introduced in notebook 01.
    """
    import keras
    import matplotlib as mpl

    import aehelpers
    from aehelpers import results

    have = tuple(int(p) for p in keras.__version__.split(".")[:2])
    need = tuple(int(p) for p in min_keras.split(".")[:2])
    if have < need:
        raise RuntimeError(
            f"This course needs Keras >= {min_keras} (Keras 3); found {keras.__version__}. "
            "Fix: pip install -r requirements.txt (or pip install -U keras)."
        )
    results.start_timer(at=aehelpers.IMPORTED_AT)
    rng = set_seed(seed)
    mpl.rcParams.update({"figure.dpi": 90, "axes.grid": False, "figure.autolayout": False})
    print(" | ".join(f"{k} {v}" for k, v in versions().items()) + f" | seed {seed}")
    return rng
