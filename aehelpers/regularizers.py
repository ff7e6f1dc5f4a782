"""Penalties that regularize an autoencoder's code: KL sparsity and the contractive penalty.
Introduced in notebook 03.

Both are written with ``keras.ops`` only, so they run on every Keras backend, and both add
their penalty with ``add_loss`` inside a layer's ``call``: Keras adds it to the training loss
of any model that contains the layer, whatever the backend.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from aehelpers._validation import check_number


def kl_sparsity(h, target: float = 0.05, eps: float = 1e-6):
    """Return the KL-sparsity penalty ``sum_j KL(target || rho_hat_j)`` of a batch of codes.

    ``h`` has shape ``(batch, units)`` with activations in [0, 1] (sigmoid units);
    ``rho_hat_j`` is unit j's mean activation over the batch and
    ``KL(p || q) = p log(p/q) + (1-p) log((1-p)/(1-q))`` is the divergence between two
    Bernoulli distributions. It is 0 when every unit fires on average with probability
    ``target`` and grows as a unit's mean activation moves away from it. Works on Keras
    tensors of any backend and on numpy arrays; returns a scalar. Introduced in notebook 03.
    """
    target = check_number(target, "target", high=1.0, strict=True, hint=" (a target mean activation such as 0.05)")
    if len(ops.shape(h)) != 2:
        raise ValueError(f"h must be a batch of codes shaped (batch, units); got shape {tuple(ops.shape(h))}")
    rho_hat = ops.clip(ops.mean(h, axis=0), eps, 1.0 - eps)
    kl = target * ops.log(target / rho_hat) + (1.0 - target) * ops.log((1.0 - target) / (1.0 - rho_hat))
    return ops.sum(kl)


@keras.saving.register_keras_serializable(package="aehelpers")
class KLSparsity(layers.Layer):
    """Identity layer that adds ``weight * kl_sparsity(h, target)`` to the model's loss.

    Put it right after a sigmoid code layer: ``h = KLSparsity(0.05, 1.0)(h)``. The penalty
    depends on the whole batch (each unit's mean activation), so it is a layer and not a
    per-example ``activity_regularizer`` (Keras divides those by the batch size). Returns
    its input unchanged. Introduced in notebook 03.
    """

    def __init__(self, target: float = 0.05, weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.target = check_number(target, "target", high=1.0, strict=True, hint=" (a target mean activation such as 0.05)")
        self.weight = check_number(weight, "weight")

    def call(self, h):
        if self.weight:
            self.add_loss(self.weight * kl_sparsity(h, self.target))
        return h

    def get_config(self):
        return {**super().get_config(), "target": self.target, "weight": self.weight}


def contractive_penalty(h, kernel):
    """Return ``||J||_F^2`` per example for a sigmoid dense encoder ``h = sigmoid(x W + b)``.

    The encoder's Jacobian is ``J = diag(h * (1 - h)) W^T``, so its squared Frobenius norm
    has the closed form ``sum_j (h_j (1 - h_j))^2 * sum_i W_ij^2``: no automatic
    differentiation, hence the same code on every backend. ``h`` is ``(batch, units)`` (the
    sigmoid outputs), ``kernel`` is ``W`` shaped ``(inputs, units)``. Returns a
    ``(batch,)`` tensor. Introduced in notebook 03.
    """
    h_shape, k_shape = tuple(ops.shape(h)), tuple(ops.shape(kernel))
    if len(h_shape) != 2 or len(k_shape) != 2 or h_shape[1] != k_shape[1]:
        raise ValueError(f"h must be (batch, units) and kernel (inputs, units) with the same units; "
                         f"got h {h_shape} and kernel {k_shape}")
    slope = h * (1.0 - h)                                     # sigmoid'(a) = h (1 - h)
    return ops.sum(ops.square(slope) * ops.sum(ops.square(kernel), axis=0), axis=-1)


@keras.saving.register_keras_serializable(package="aehelpers")
class ContractiveDense(layers.Dense):
    """A sigmoid ``Dense`` layer that adds ``weight * mean_batch ||J||_F^2`` to the loss.

    ``J`` is the Jacobian of this layer's output with respect to its input, computed in
    closed form by :func:`contractive_penalty`. Used as the encoder of a contractive
    autoencoder: ``h = ContractiveDense(256, weight=0.1)(x)``. The activation is always
    sigmoid (the closed form depends on it). Introduced in notebook 03.
    """

    def __init__(self, units: int, weight: float = 0.1, **kwargs):
        if kwargs.get("activation", "sigmoid") not in ("sigmoid", keras.activations.sigmoid):
            raise ValueError("ContractiveDense is always a sigmoid layer (its closed-form penalty assumes it); "
                             f"do not pass activation={kwargs['activation']!r}")
        kwargs["activation"] = "sigmoid"
        super().__init__(units, **kwargs)
        self.weight = check_number(weight, "weight")

    def call(self, inputs, training=None):
        h = super().call(inputs)
        if self.weight:
            self.add_loss(self.weight * ops.mean(contractive_penalty(h, self.kernel)))
        return h

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}


def finite_difference_jacobian(fn, x, eps: float = 1e-4) -> np.ndarray:
    """Return the Jacobian of ``fn`` at each row of ``x`` by central finite differences.

    ``fn`` maps a float64 array ``(n, d)`` to ``(n, k)``; ``x`` is ``(n, d)``. The result is
    ``(n, k, d)`` with ``J[:, :, i] = (fn(x + eps e_i) - fn(x - eps e_i)) / (2 eps)``. It
    costs ``2 d`` calls of ``fn`` on ``n`` rows, so it is meant for checking an analytic
    Jacobian on a few examples. Introduced in notebook 03.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D array (examples, features); got shape {x.shape}")
    if not eps > 0:
        raise ValueError(f"eps must be positive; got {eps!r}")
    n, d = x.shape
    step = np.eye(d)[:, None, :] * eps                              # (d, 1, d)
    plus = np.asarray(fn((x[None] + step).reshape(d * n, d)), dtype=np.float64).reshape(d, n, -1)
    minus = np.asarray(fn((x[None] - step).reshape(d * n, d)), dtype=np.float64).reshape(d, n, -1)
    return np.moveaxis((plus - minus) / (2 * eps), 0, -1)           # (n, k, d)
