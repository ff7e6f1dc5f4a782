"""Model helpers reused across the course (Keras 3 functional models): the dense autoencoder
builder, batched inference, space-to-depth for fast convolutions on a CPU, and semantic
hashing's two code layers."""

import keras
import numpy as np
from keras import layers, ops

from aehelpers._validation import check_positive_int

def _shape(input_shape, name="input_shape") -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in input_shape)
    except TypeError as exc:
        raise ValueError(f"{name} must be a tuple of positive ints such as (28, 28); got {input_shape!r}") from exc
    if not shape or any(d < 1 for d in shape):
        raise ValueError(f"{name} must be a tuple of positive ints such as (28, 28); got {input_shape!r}")
    return shape

def build_dense_autoencoder(input_shape=(28, 28), code_size: int = 32, hidden=(256,), *,
                            activation: str | None = "relu", code_activation: str | None = None,
                            output_activation: str | None = "sigmoid", name: str = "dense_ae"):
    """Build a fully-connected autoencoder ``input -> hidden... -> code -> ...hidden -> input`` (flattened
    input, mirrored decoder, last Dense named ``"dec_out"``) and return ``(autoencoder, encoder, decoder)``.
    ``hidden=()`` with no activations is the linear autoencoder. Introduced in notebook 01."""
    shape = _shape(input_shape)
    code_size = check_positive_int(code_size, "code_size")
    hidden = tuple(check_positive_int(h, "hidden sizes") for h in hidden)

    def activate(h, act, label):
        return h if act is None else layers.Activation(act, name=f"{label}_act")(h)

    x_in = keras.Input(shape=shape, name="x")
    h = layers.Flatten(name="flatten")(x_in)
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation=activation, name=f"enc_{i}")(h)
    encoder = keras.Model(x_in, activate(layers.Dense(code_size, name="code")(h), code_activation, "code"),
                          name=f"{name}_encoder")
    z_in = keras.Input(shape=(code_size,), name="z")
    h = z_in
    for i, units in enumerate(reversed(hidden)):
        h = layers.Dense(units, activation=activation, name=f"dec_{i}")(h)
    out = activate(layers.Dense(int(np.prod(shape)), name="dec_out")(h), output_activation, "dec")
    decoder = keras.Model(z_in, layers.Reshape(shape, name="reshape")(out), name=f"{name}_decoder")
    return keras.Model(x_in, decoder(encoder(x_in)), name=name), encoder, decoder

def run(model, x, batch_size: int = 4096) -> np.ndarray:
    """Return ``model(x)`` as numpy, in batches, by calling the model (faster than ``predict`` for small
    models, and no per-model graph, so no "retracing" warnings). Several outputs give a list of arrays;
    several inputs (a CVAE's ``[images, labels]``) take a list ``x``. Introduced in notebook 01."""
    batch_size, several_in = check_positive_int(batch_size, "batch_size"), len(model.inputs) > 1
    if several_in and (not isinstance(x, (list, tuple)) or len(x) != len(model.inputs)):
        raise ValueError(f"model {model.name!r} has {len(model.inputs)} inputs: pass a list of arrays, e.g. "
                         "run(model, [images, labels])")
    inputs = [np.asarray(a) for a in x] if several_in else [np.asarray(x)]
    for arr, tensor in zip(inputs, model.inputs):
        expected = tuple(tensor.shape[1:])
        if arr.ndim != len(expected) + 1 or any(e not in (None, d) for e, d in zip(expected, arr.shape[1:])) \
                or len(arr) != len(inputs[0]):
            raise ValueError(f"model {model.name!r} expects input {tensor.name!r} of shape (N, {', '.join(map(str, expected))})"
                             f"{' (one N for all inputs)' if several_in else ''}; got {arr.shape}")
    several = len(model.outputs) > 1          # e.g. a VAE encoder's [mean, log_var]
    parts = []                                  # per batch: one array per output
    for i in range(0, max(len(inputs[0]), 1), batch_size):
        batch = [arr[i:i + batch_size] for arr in inputs]
        out = model(batch if several_in else batch[0], training=False)
        parts.append([keras.ops.convert_to_numpy(t) for t in (out if isinstance(out, (list, tuple)) else [out])])
    arrays = [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]
    return arrays if several else arrays[0]

def _block_size(block: int, shape, what: str, divide: bool) -> int:
    block = check_positive_int(block, "block")
    if len(shape) != 3 or None in shape or (divide and (shape[0] % block or shape[1] % block)):
        need = f" with height and width divisible by block={block}" if divide else ""
        raise ValueError(f"{what} needs a (height, width, channels) tensor{need}; got shape {tuple(shape)}")
    return block

def space_to_depth(x, block: int = 2):
    """Fold each ``block x block`` patch of a ``(H, W, C)`` Keras tensor into channels and return the
    ``(H/block, W/block, C*block²)`` tensor: convolutions after it run on ``block²`` times fewer
    positions, no pixel lost; :func:`depth_to_space` undoes it. Introduced in notebook 02."""
    h, w, c = x.shape[1:]
    block = _block_size(block, (h, w, c), "space_to_depth", divide=True)
    x = layers.Reshape((h // block, block, w // block, block, c))(x)
    x = layers.Permute((1, 3, 2, 4, 5))(x)
    return layers.Reshape((h // block, w // block, c * block * block))(x)

def depth_to_space(x, block: int = 2):
    """Return the ``(H*block, W*block, C)`` tensor that :func:`space_to_depth` folded. Introduced in notebook 02."""
    h, w, c = x.shape[1:]
    block = _block_size(block, (h, w, c), "depth_to_space", divide=False)
    if c % (block * block):
        raise ValueError(f"depth_to_space needs channels divisible by block²={block * block}; got shape {tuple(x.shape[1:])}")
    x = layers.Reshape((h, w, block, block, c // (block * block)))(x)
    x = layers.Permute((1, 3, 2, 4, 5))(x)
    return layers.Reshape((h * block, w * block, c // (block * block)))(x)

class NoiseBeforeSigmoid(layers.Layer):
    """Semantic hashing's code layer (written out in notebook 03): returns ``sigmoid(a + eps)``,
    ``eps ~ N(0, std**2)``, in training and ``sigmoid(a)`` otherwise. Introduced in notebook 09."""
    def __init__(self, std, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.std, self.seed_generator = float(std), keras.random.SeedGenerator(seed)

    def call(self, a, training=False):
        if training:
            a = a + self.std * keras.random.normal(ops.shape(a), seed=self.seed_generator)
        return ops.sigmoid(a)

class BalancedBits(layers.Layer):
    """Returns its input ``a`` unchanged and adds ``gamma * sum_j (batch mean of sigmoid(a_j) - 1/2)**2`` to
    the loss, so each bit is on for about half the images (written out in notebook 03). Introduced in notebook 09."""
    def __init__(self, gamma, **kwargs):
        super().__init__(**kwargs)
        self.gamma = float(gamma)

    def call(self, a):
        self.add_loss(self.gamma * ops.sum(ops.square(ops.mean(ops.sigmoid(a), axis=0) - 0.5)))
        return a
