"""aehelpers: the thin helper package the autoencoders-course notebooks import.

Importing it is cheap (no Keras) and quiets TensorFlow's C++ logging, so import it before ``keras``.
One module per concept, loaded on first use: datasets, utils, results, models, training, plotting,
metrics, baselines, noise, latent, vae. The course tooling is ``aehelpers.course``.
"""

import importlib
import os
import time

__version__ = "0.2.0"
IMPORTED_AT = time.perf_counter()   # the start of a notebook's clock (utils.setup_notebook)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")   # hide TensorFlow's INFO/WARNING lines; a user's setting wins
_SUBMODULES = ("baselines", "datasets", "latent", "metrics", "models", "noise", "plotting", "results", "training",
               "utils", "vae")
__all__ = ["__version__", *_SUBMODULES]

def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'aehelpers' has no attribute {name!r}")

def __dir__():
    return sorted([*globals(), *_SUBMODULES])
