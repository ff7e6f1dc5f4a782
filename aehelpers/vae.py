"""Variational autoencoders (notebook 06; notebook 07 reuses them for the conditional VAE).

Notebook 06 writes the sampling layer and the loss in its own cells, as the ideas it teaches;
this module holds the same pieces for reuse: the Gaussian KL divergences, the
reparameterized ``GaussianSampling`` layer (which adds the KL term with ``add_loss``, so it
trains on every Keras backend), the Bernoulli reconstruction term, an MLP VAE builder and the
test negative ELBO in nats.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from aehelpers._validation import as_array, check_number, check_positive_int, check_range

# log σ² is clipped to this range before exp(): σ between about 0.007 and 148, never inf or NaN.
LOGVAR_RANGE = (-10.0, 10.0)


def kl_to_standard_normal(mean, log_var):
    """Return KL( N(mean, diag exp(log_var)) || N(0, I) ) per example, summed over the latent
    dimensions: ½ Σ (σ² + μ² − 1 − log σ²). Works on tensors of any backend (``keras.ops``).
    Introduced in notebook 06."""
    return 0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1)


def kl_normal(mean_q, log_var_q, mean_p, log_var_p):
    """Return KL( N(mean_q, exp(log_var_q)) || N(mean_p, exp(log_var_p)) ) per example for
    diagonal Gaussians, summed over the last axis:
    ½ Σ (log σ_p² − log σ_q² + (σ_q² + (μ_q − μ_p)²) / σ_p² − 1). Introduced in notebook 06."""
    return 0.5 * ops.sum(log_var_p - log_var_q + (ops.exp(log_var_q) + ops.square(mean_q - mean_p)) / ops.exp(log_var_p)
                         - 1.0, axis=-1)


def bernoulli_nll_from_logits(x, logits):
    """Return −log p(x | z) per example for a Bernoulli decoder with ``logits``: the binary
    cross-entropy summed over all pixels (nats; ``x`` in [0, 1]), computed stably from logits.
    Introduced in notebook 06."""
    elementwise = ops.relu(logits) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.sum(ops.reshape(elementwise, (ops.shape(elementwise)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package="aehelpers")
class GaussianSampling(layers.Layer):
    """Reparameterized sampling ``z = μ + σ ⊙ ε``, ε ~ N(0, I), from ``[mean, log_var]``.

    In training it adds ``beta`` × the batch mean of KL(q(z|x) ‖ N(0, I)) to the model's losses
    (``add_loss``); ``log_var`` is clipped to ``LOGVAR_RANGE`` first. ``sample=False`` returns
    the mean instead of a sample (a deterministic encoder). Introduced in notebook 06."""

    def __init__(self, beta: float = 1.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.initial_beta = check_number(beta, "beta")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # A (non-trainable) variable, not a Python float: β can change after the model is
        # compiled (KL annealing, or negative_elbo evaluating with β = 1).
        self.beta = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_beta),
                                    trainable=False, name="beta")

    def call(self, inputs, sample: bool = True):
        mean, log_var = inputs
        log_var = ops.clip(log_var, *LOGVAR_RANGE)
        self.add_loss(self.beta * ops.mean(kl_to_standard_normal(mean, log_var)))
        if not sample:
            return mean
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def get_config(self):
        return {**super().get_config(), "beta": self.initial_beta, "seed": self.seed}


def build_mlp_vae(input_shape=(28, 28), latent_dim: int = 2, hidden=(512, 256), *, beta: float = 1.0,
                  activation: str = "relu", sampling=None, n_classes: int | None = None, name: str = "vae"):
    """Build an MLP VAE for images in [0, 1]: encoder ``input -> hidden... -> (μ, log σ²)``,
    a sampling layer, decoder ``z -> ...hidden -> logits``. The sampling layer is
    ``GaussianSampling(beta)`` unless ``sampling`` gives another layer that maps
    ``[mean, log_var]`` to ``z`` and adds the KL term (notebook 06 passes its own).

    Returns ``(vae, encoder, decoder)``: ``vae`` maps images to logits, carries the KL term and is
    compiled with the summed Bernoulli reconstruction term, so its loss is the negative ELBO in
    nats; ``encoder`` maps images to ``[mean, log_var]``; ``decoder`` maps codes to images in
    [0, 1] (sigmoid of the logits), ready for ``aehelpers.latent``. The decoder's logits model is
    ``vae.get_layer(f"{name}_decoder_logits")``.

    With ``n_classes`` it is a **conditional** VAE (notebook 07): a one-hot label ``c`` of that
    length is concatenated to the input of every Dense layer (the flattened image, the code and
    each hidden layer), so ``vae`` and ``encoder`` take ``[images, labels]`` and ``decoder`` takes
    ``[codes, labels]``; the prior stays N(0, I). Introduced in notebook 06.
    """
    from aehelpers.models import _shape

    shape = _shape(input_shape)
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    hidden = tuple(check_positive_int(h, "hidden sizes") for h in hidden)
    if n_classes is not None:
        n_classes = check_positive_int(n_classes, "n_classes")
    n_in = int(np.prod(shape))

    def with_label(tensor, label, tag):
        # a CVAE feeds the one-hot label to every Dense layer: tensor ⊕ label; a VAE: tensor
        return tensor if label is None else layers.Concatenate(name=f"{tag}_and_label")([tensor, label])

    x_in = keras.Input(shape, name="x")
    x_label = None if n_classes is None else keras.Input((n_classes,), name="label")
    h = with_label(layers.Flatten(name="flatten")(x_in), x_label, "x")
    for i, units in enumerate(hidden):
        h = with_label(layers.Dense(units, activation=activation, name=f"enc_{i}")(h), x_label, f"enc_{i}")
    mean = layers.Dense(latent_dim, name="z_mean")(h)
    log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    vae_inputs = x_in if x_label is None else [x_in, x_label]
    encoder = keras.Model(vae_inputs, [mean, log_var], name=f"{name}_encoder")

    z_in = keras.Input((latent_dim,), name="z")
    z_label = None if n_classes is None else keras.Input((n_classes,), name="z_label")
    h = with_label(z_in, z_label, "z")
    for i, units in enumerate(reversed(hidden)):
        h = with_label(layers.Dense(units, activation=activation, name=f"dec_{i}")(h), z_label, f"dec_{i}")
    logits = layers.Reshape(shape, name="logits")(layers.Dense(n_in, name="dec_out")(h))
    decoder_inputs = z_in if z_label is None else [z_in, z_label]
    decoder_logits = keras.Model(decoder_inputs, logits, name=f"{name}_decoder_logits")
    decoder = keras.Model(decoder_inputs, layers.Activation("sigmoid", name="image")(decoder_logits(decoder_inputs)),
                          name=f"{name}_decoder")

    if sampling is None:
        sampling = GaussianSampling(beta, name="sampling")
    elif not isinstance(sampling, layers.Layer):
        raise ValueError(f"sampling must be a Keras layer mapping [mean, log_var] to z; got {type(sampling).__name__}")
    z = sampling(encoder(vae_inputs))
    vae = keras.Model(vae_inputs, decoder_logits(z if x_label is None else [z, x_label]), name=name)
    vae.compile(optimizer="adam", loss=bernoulli_nll_from_logits)
    return vae, encoder, decoder


def negative_elbo(vae, x, labels=None, *, batch_size: int = 1000) -> float:
    """Return the mean negative ELBO of ``x`` in nats (summed Bernoulli reconstruction term +
    KL with weight 1, one z sample per image) for a ``vae`` from :func:`build_mlp_vae` (or any
    model compiled with the summed reconstruction loss whose KL term comes from one sampling
    layer with a ``beta`` attribute). A model trained with β ≠ 1 is evaluated at β = 1, so the
    number is a true bound on −log p(x); that needs ``beta`` to be a Keras variable, as in
    ``GaussianSampling``. ``x`` must lie in [0, 1]. A conditional VAE (``n_classes``) also needs
    the one-hot ``labels`` ``(N, n_classes)``. Introduced in notebook 06."""
    arr = as_array(x, "x", min_ndim=2, dtype=np.float32)
    check_range(arr, "x", 0.0, 1.0)
    batch_size = check_positive_int(batch_size, "batch_size")
    inputs = arr
    if len(vae.inputs) == 2:
        if labels is None:
            raise ValueError(f"{vae.name!r} is a conditional VAE: pass the one-hot labels, negative_elbo(vae, x, labels)")
        labels = as_array(labels, "labels", min_ndim=1, dtype=np.float32)
        n_classes = vae.inputs[1].shape[-1]
        if labels.shape != (len(arr), n_classes):
            raise ValueError(f"labels must be one-hot with shape ({len(arr)}, {n_classes}); got {labels.shape}. "
                             f"Fix: np.eye({n_classes}, dtype='float32')[y]")
        inputs = [arr, labels]
    elif labels is not None:
        raise ValueError(f"{vae.name!r} is not conditional: call negative_elbo(vae, x) without labels")
    samplers = [layer for layer in vae._flatten_layers() if hasattr(layer, "beta")]
    if len(samplers) != 1:
        raise ValueError(f"negative_elbo needs a VAE with exactly one sampling layer that has a beta (KL weight); "
                         f"{vae.name!r} has {len(samplers)}")
    beta = samplers[0].beta
    if not isinstance(beta, keras.Variable):
        if float(beta) != 1.0:
            raise ValueError(f"layer {samplers[0].name!r} weights the KL term by beta={float(beta)} as a Python number, so "
                             "the loss is not the ELBO and cannot be switched to beta=1 after compiling; use "
                             "aehelpers.vae.GaussianSampling, whose beta is a variable")
        return float(vae.evaluate(inputs, arr, batch_size=batch_size, verbose=0))
    trained_beta = float(ops.convert_to_numpy(beta))
    beta.assign(1.0)
    try:
        return float(vae.evaluate(inputs, arr, batch_size=batch_size, verbose=0))
    finally:
        beta.assign(trained_beta)
