"""Variational autoencoders, reused after notebook 06 has written each piece in its own cells: the KL
terms, the ``GaussianSampling`` layer (KL via ``add_loss``: every backend), the Bernoulli term, an MLP
(conditional) VAE builder, training with dynamic binarization, and the negative ELBO and importance-
sampled −log p(x) of binary images, in nats."""

import math
import time

import keras
import numpy as np
from keras import layers, ops

from aehelpers._validation import as_array, check_number, check_positive_int, check_range, walk_layers

# log σ² is clipped to this range before exp(): σ between about 0.007 and 148, never inf or NaN.
LOGVAR_RANGE = (-10.0, 10.0)

def kl_to_standard_normal(mean, log_var):
    """Return KL( N(mean, diag exp(log_var)) || N(0, I) ) = ½ Σ (σ² + μ² − 1 − log σ²) per example
    (``keras.ops``: any backend). Introduced in notebook 06."""
    return 0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1)

def kl_normal(mean_q, log_var_q, mean_p, log_var_p):
    """Return KL( N(mean_q, exp(log_var_q)) || N(mean_p, exp(log_var_p)) ) per example, diagonal
    Gaussians: ½ Σ (log σ_p² − log σ_q² + (σ_q² + (μ_q − μ_p)²) / σ_p² − 1). Introduced in notebook 08."""
    return 0.5 * ops.sum(log_var_p - log_var_q + (ops.exp(log_var_q) + ops.square(mean_q - mean_p)) / ops.exp(log_var_p)
                         - 1.0, axis=-1)

def bernoulli_nll_from_logits(x, logits):
    """Return the binary cross-entropy of ``x`` under ``logits``, summed per example (stable): for binary
    ``x`` the Bernoulli −log p(x | z) in nats; for grey ``x`` only a loss. Introduced in notebook 06."""
    elementwise = ops.relu(logits) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.sum(ops.reshape(elementwise, (ops.shape(elementwise)[0], -1)), axis=-1)

@keras.saving.register_keras_serializable(package="aehelpers")
class GaussianSampling(layers.Layer):
    """Reparameterized sampling ``z = μ + σ ⊙ ε`` from ``[mean, log_var]`` (clipped to ``LOGVAR_RANGE``);
    adds ``beta`` × the batch-mean KL to N(0, I) with ``add_loss``; ``sample=False`` returns the mean.
    Introduced in notebook 06."""

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
    """Build an MLP VAE (encoder ``input -> hidden -> [μ, log σ²]``, ``sampling`` layer, default
    ``GaussianSampling(beta)``, decoder ``z -> hidden -> logits``) and return ``(vae, encoder, decoder)``:
    ``vae`` maps images to logits, compiled so its loss is the negative ELBO in nats; ``decoder`` gives
    images in [0, 1]; the logits model is ``vae.get_layer(f"{name}_decoder_logits")``. With ``n_classes``
    it is a conditional VAE (notebook 08): the one-hot label is concatenated to every Dense layer's input,
    and the models take ``[x, labels]``. Introduced in notebook 06."""
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

    if sampling is not None and not isinstance(sampling, layers.Layer):
        raise ValueError(f"sampling must be a Keras layer mapping [mean, log_var] to z; got {type(sampling).__name__}")
    z = (sampling or GaussianSampling(beta, name="sampling"))(encoder(vae_inputs))
    vae = keras.Model(vae_inputs, decoder_logits(z if x_label is None else [z, x_label]), name=name)
    vae.compile(optimizer="adam", loss=bernoulli_nll_from_logits)
    return vae, encoder, decoder

def binarize(x, rng) -> np.ndarray:
    """Return one binary sample of grey images ``x`` in [0, 1] (pixel is 1 with probability its grey
    level; float32 0/1): redrawn each epoch it is dynamic binarization; one fixed sample of the test set
    is the literature's evaluation data. ``rng``: a Generator or int seed. Introduced in notebook 06."""
    arr = as_array(x, "x", min_ndim=2, dtype=np.float32)
    check_range(arr, "x", 0.0, 1.0)
    return (np.random.default_rng(rng).random(arr.shape, dtype=np.float32) < arr).astype(np.float32)

def train_vae(model, x, *, epochs: int, labels=None, batch_size: int = 128, learning_rate: float = 2e-3,
              binarize_rng=None, loss=bernoulli_nll_from_logits, jit_compile="auto", label: str = "",
              max_lines: int = 3) -> float:
    """Compile ``model`` (logits out, KL via ``add_loss``) with Adam and cosine decay to 0, train it to
    reconstruct ``x`` (a CVAE also takes one-hot ``labels``; with ``binarize_rng`` each epoch on a fresh
    :func:`binarize` sample) and return the training seconds. Introduced in notebook 06."""
    from aehelpers.training import fit

    epochs, batch_size = check_positive_int(epochs, "epochs"), check_positive_int(batch_size, "batch_size")
    steps = epochs * math.ceil(len(x) / batch_size)
    rate = keras.optimizers.schedules.CosineDecay(check_number(learning_rate, "learning_rate", strict=True, high=1.0), steps)
    model.compile(optimizer=keras.optimizers.Adam(rate), loss=loss, steps_per_execution=20, jit_compile=jit_compile)
    rng = None if binarize_rng is None else np.random.default_rng(binarize_rng)   # one stream: a new sample each epoch
    start = time.perf_counter()
    for epoch in range(epochs) if rng is not None else [None]:
        data = x if epoch is None else binarize(x, rng)
        fit(model, data if labels is None else [data, labels], data, batch_size=batch_size, label=label, plot=False,
            max_lines=max_lines, of=epochs, epochs=epochs if epoch is None else epoch + 1, initial_epoch=epoch or 0)
    return time.perf_counter() - start

def _binary(x, name: str = "x") -> np.ndarray:
    arr = as_array(x, name, min_ndim=2, dtype=np.float32)
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError(f"{name} must be binary (0/1 pixels) for a likelihood in nats: a Bernoulli decoder gives a "
                         "normalised likelihood only for binary data. Fix: evaluate on aehelpers.vae.binarize(x, seed) "
                         "(one fixed binarization of the test set)")
    return arr

def _inputs(model, x, labels):
    if (len(model.inputs) == 2) != (labels is not None):
        raise ValueError(f"{model.name!r} is {'' if len(model.inputs) == 2 else 'not '}conditional: "
                         f"{'pass' if len(model.inputs) == 2 else 'call it without'} the one-hot labels")
    if labels is None:
        return x
    labels, n = as_array(labels, "labels", dtype=np.float32), model.inputs[1].shape[-1]
    if labels.shape != (len(x), n):
        raise ValueError(f"labels must be one-hot, shape ({len(x)}, {n}); got {labels.shape}. Fix: np.eye({n}, dtype='float32')[y]")
    return [x, labels]

def negative_elbo(vae, x, labels=None, *, batch_size: int = 1000) -> float:
    """Return the mean negative ELBO of binary images ``x`` in nats (Bernoulli term + KL at β = 1, one z
    per image), a bound above −log p(x), for a VAE compiled with the summed reconstruction loss whose KL
    comes from one sampling layer with a ``beta``; a CVAE needs ``labels``. Introduced in notebook 06."""
    arr = _binary(x)
    batch_size = check_positive_int(batch_size, "batch_size")
    inputs = _inputs(vae, arr, labels)
    samplers = [layer for layer in walk_layers(vae) if hasattr(layer, "beta")]
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

def importance_sampled_nll(encoder, decoder_logits, x, labels=None, *, k: int = 1000, rng=None,
                           chunk: int = 16) -> np.ndarray:
    """Return per binary image the importance-sampled −log p(x) in nats, ``−log (1/k) Σ p(x|z_j) p(z_j) /
    q(z_j|x)``, ``z_j ~ q(z|x)``, prior N(0, I) (Burda et al. 2016; decreases towards −log p(x) as ``k``
    grows), from ``encoder`` → ``[mean, log_var]`` and ``decoder_logits``. Introduced in notebook 07."""
    from aehelpers.models import run

    arr = _binary(x)
    k, chunk = check_positive_int(k, "k"), check_positive_int(chunk, "chunk")
    rng = np.random.default_rng(rng)
    mean, log_var = run(encoder, _inputs(encoder, arr, labels))
    log_var = np.clip(log_var, *LOGVAR_RANGE)
    flat, out, log2pi = arr.reshape(len(arr), -1), np.empty(len(arr)), np.log(2 * np.pi)
    for i in range(0, len(arr), chunk):
        eps = rng.standard_normal((*mean[i:i + chunk].shape[:1], k, mean.shape[1])).astype(np.float32)
        z = mean[i:i + chunk, None] + np.exp(0.5 * log_var[i:i + chunk, None]) * eps
        log_q = -0.5 * np.sum(eps**2 + log2pi + log_var[i:i + chunk, None], axis=-1)
        log_prior = -0.5 * np.sum(z**2 + log2pi, axis=-1)
        codes = z.reshape(-1, z.shape[-1])
        logits = run(decoder_logits, codes if labels is None else [codes, np.repeat(labels[i:i + chunk], k, axis=0)])
        logits = logits.reshape(len(z), k, -1)
        target = flat[i:i + chunk, None]
        log_px = -np.sum(np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits))), axis=-1)
        w = log_px + log_prior - log_q
        top = w.max(axis=1, keepdims=True)
        out[i:i + chunk] = -(top[:, 0] + np.log(np.mean(np.exp(w - top), axis=1)))
    return out
