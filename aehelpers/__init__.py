"""aehelpers: the thin helper package behind the autoencoders-course notebooks.

Importing ``aehelpers`` is cheap: it imports no Keras or TensorFlow. It only quiets
TensorFlow's C++ logging (unless you set ``TF_CPP_MIN_LOG_LEVEL`` yourself), so import it
*before* ``keras`` in a notebook. Submodules load on first use, one module per concept:

==================  =====================================================  ===========
module              what it holds                                          introduced
==================  =====================================================  ===========
``datasets``        offline-safe, checksum-verified MNIST/Fashion/ECG5000  notebook 01
``utils``           ``set_seed``, ``setup_notebook`` (seed, versions)      notebook 01
``models``          dense and convolutional autoencoder builders           notebook 01
``training``        compact one-line-per-epoch training with a loss curve  notebook 01
``plotting``        image grids, latent scatter, training curves           notebook 01
``metrics``         per-image MSE, PSNR in dB                              notebook 01
``results``         ``record``/``check`` metrics with goals, wall time     notebook 01
``noise``           corruptions for denoising: Gaussian, masking, s&p      notebook 02
``regularizers``    KL sparsity, contractive penalty, finite differences   notebook 03
``baselines``       non-neural baselines: PCA reconstruction               notebook 02
``latent``          decoding off the training codes: perturbation,         notebook 05
                    interpolation, random codes, concept vectors
``vae``             KL divergences, reparameterized sampling, MLP VAE,     notebook 06
                    negative ELBO in nats
``notation``        the course LaTeX macros and their sync into notebooks  notebook 01
``course``          ``python -m aehelpers.course run``: the course runner  README
``cache``           trained weights cached for instant re-runs             README
``diagrams``        the architecture diagrams in ``images/`` (matplotlib)  README
``export``          HTML pages, index and reveal.js slides; slide rules    README
``flow``            Colab badge and guard, prev/next links, solutions      README
==================  =====================================================  ===========
"""

from __future__ import annotations

import importlib
import os
import time

__version__ = "0.1.0"

# When the notebook's Setup cell imported aehelpers (before Keras/TensorFlow load): the start
# of the notebook's wall-time clock (see aehelpers.utils.setup_notebook).
IMPORTED_AT = time.perf_counter()

# TensorFlow reads this when it is first imported; 2 hides its INFO and WARNING lines
# (oneDNN notices, CPU-feature notices) but keeps errors. A user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_SUBMODULES = (
    "baselines",
    "cache",
    "course",
    "datasets",
    "diagrams",
    "export",
    "flow",
    "latent",
    "metrics",
    "models",
    "noise",
    "notation",
    "plotting",
    "regularizers",
    "results",
    "training",
    "utils",
    "vae",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    """Import a submodule on first attribute access (``aehelpers.datasets`` etc.)."""
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'aehelpers' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
