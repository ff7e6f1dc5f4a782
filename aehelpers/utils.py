"""Seeding and the notebook Setup cell."""

import os
import platform
import random

import numpy as np

DEFAULT_SEED = 42

def set_seed(seed: int = DEFAULT_SEED) -> np.random.Generator:
    """Seed Python's ``random``, NumPy and the Keras backend with ``seed`` and return a Generator seeded
    with it (the course's one seeding idiom: call it before building a model). Introduced in notebook 01."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses started later
    random.seed(seed)
    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)  # Python, NumPy and the backend (TF/JAX/torch)
    return np.random.default_rng(seed)

def _versions() -> dict[str, str]:
    """The versions that matter for reproducing a notebook: Python, NumPy, Keras, its backend, aehelpers."""
    import keras

    import aehelpers

    backend = keras.backend.backend()
    return {"python": platform.python_version(), "numpy": np.__version__, "keras": keras.__version__,
            "backend": backend, backend: getattr(__import__(backend), "__version__", "?"), "aehelpers": aehelpers.__version__}

def setup_notebook(seed: int = DEFAULT_SEED) -> np.random.Generator:
    """Every notebook's Setup: check Keras 3, start the clock (at the import of ``aehelpers``), seed with
    :func:`set_seed`, set figure defaults, print the versions; return the seeded Generator.
    Introduced in notebook 01."""
    import keras
    import matplotlib as mpl

    import aehelpers
    from aehelpers import results

    if int(keras.__version__.split(".")[0]) < 3:
        raise RuntimeError(f"This course needs Keras 3; found {keras.__version__}. Fix: pip install -r requirements.txt")
    results._start_timer(at=aehelpers.IMPORTED_AT)
    rng = set_seed(seed)
    mpl.rcParams.update({"figure.dpi": 90, "axes.grid": False, "figure.autolayout": False})
    print(" | ".join(f"{k} {v}" for k, v in _versions().items()) + f" | seed {seed}")
    return rng
