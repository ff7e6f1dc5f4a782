"""Autoencoder builders reused across the course (Keras 3 functional models).
Introduced in notebook 01.

Each builder returns ``(autoencoder, encoder, decoder)``: three functional models that
share layers, so training the autoencoder trains the other two.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

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
                            output_activation: str | None = "sigmoid", linear_shortcut: bool = False,
                            name: str = "dense_ae"):
    """Build a fully-connected autoencoder ``input -> hidden... -> code -> ...hidden -> input``.

    The input (e.g. a 28x28 image) is flattened; the decoder mirrors the encoder's hidden
    sizes and reshapes back to ``input_shape``. ``hidden=()`` with ``activation=None``,
    ``output_activation=None`` gives the *linear* autoencoder that learns PCA's subspace.
    ``linear_shortcut=True`` adds a bias-free linear path beside each nonlinear half
    (input -> code pre-activation, code -> output pre-activation), so the network is "a
    linear autoencoder plus a nonlinear correction": it contains PCA's solution and trains
    faster. The last decoder Dense layer is named ``"dec_out"``. Returns
    ``(autoencoder, encoder, decoder)``. Introduced in notebook 01.
    """
    shape = _shape(input_shape)
    code_size = check_positive_int(code_size, "code_size")
    hidden = tuple(check_positive_int(h, "hidden sizes") for h in hidden)
    if linear_shortcut and not hidden:
        raise ValueError("linear_shortcut=True needs at least one hidden layer (without one the model is already linear)")
    n_in = 1
    for d in shape:
        n_in *= d

    def shortcut_then_activate(pre, source, units, act, label):
        if linear_shortcut:
            pre = layers.Add(name=f"{label}_sum")([pre, layers.Dense(units, use_bias=False, name=f"{label}_shortcut")(source)])
        return pre if act is None else layers.Activation(act, name=f"{label}_act")(pre)

    x_in = keras.Input(shape=shape, name="x")
    flat = layers.Flatten(name="flatten")(x_in)
    h = flat
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation=activation, name=f"enc_{i}")(h)
    z = shortcut_then_activate(layers.Dense(code_size, name="code")(h), flat, code_size, code_activation, "code")
    encoder = keras.Model(x_in, z, name=f"{name}_encoder")

    z_in = keras.Input(shape=(code_size,), name="z")
    h = z_in
    for i, units in enumerate(reversed(hidden)):
        h = layers.Dense(units, activation=activation, name=f"dec_{i}")(h)
    out = shortcut_then_activate(layers.Dense(n_in, name="dec_out")(h), z_in, n_in, output_activation, "dec")
    x_out = layers.Reshape(shape, name="reshape")(out)
    decoder = keras.Model(z_in, x_out, name=f"{name}_decoder")

    autoencoder = keras.Model(x_in, decoder(encoder(x_in)), name=name)
    return autoencoder, encoder, decoder


def build_conv_autoencoder(input_shape=(28, 28, 1), code_size: int = 32, filters=(32, 64), *,
                           kernel_size: int = 3, activation: str = "relu",
                           output_activation: str | None = "sigmoid", name: str = "conv_ae"):
    """Build a convolutional autoencoder for ``(H, W, C)`` images.

    Each entry of ``filters`` adds a stride-2 ``Conv2D`` (halving H and W), then a Dense
    layer maps to the ``code_size`` code; the decoder mirrors it with ``Conv2DTranspose``.
    H and W must be divisible by ``2 ** len(filters)``. Returns
    ``(autoencoder, encoder, decoder)``. Introduced in notebook 01.
    """
    shape = _shape(input_shape)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), e.g. (28, 28, 1); got {input_shape!r}")
    code_size = check_positive_int(code_size, "code_size")
    filters = tuple(check_positive_int(f, "filters") for f in filters)
    if not filters:
        raise ValueError("filters must list at least one convolution width, e.g. (32, 64)")
    factor = 2 ** len(filters)
    height, width, channels = shape
    if height % factor or width % factor:
        raise ValueError(
            f"input height and width ({height}x{width}) must be divisible by 2**len(filters) = {factor}; "
            "use fewer conv layers or pad the images"
        )

    x_in = keras.Input(shape=shape, name="x")
    h = x_in
    for i, f in enumerate(filters):
        h = layers.Conv2D(f, kernel_size, strides=2, padding="same", activation=activation, name=f"enc_conv_{i}")(h)
    h = layers.Flatten(name="flatten")(h)
    z = layers.Dense(code_size, name="code")(h)
    encoder = keras.Model(x_in, z, name=f"{name}_encoder")

    small = (height // factor, width // factor, filters[-1])
    z_in = keras.Input(shape=(code_size,), name="z")
    h = layers.Dense(small[0] * small[1] * small[2], activation=activation, name="dec_dense")(z_in)
    h = layers.Reshape(small, name="dec_reshape")(h)
    for i, f in enumerate(reversed(filters)):
        h = layers.Conv2DTranspose(f, kernel_size, strides=2, padding="same", activation=activation, name=f"dec_deconv_{i}")(h)
    x_out = layers.Conv2D(channels, kernel_size, padding="same", activation=output_activation, name="dec_out")(h)
    decoder = keras.Model(z_in, x_out, name=f"{name}_decoder")

    autoencoder = keras.Model(x_in, decoder(encoder(x_in)), name=name)
    return autoencoder, encoder, decoder


def run(model, x, batch_size: int = 4096) -> np.ndarray:
    """Return ``model(x)`` as a numpy array, computed in batches by calling the model directly.

    For the small models of this course this is faster than ``model.predict`` and, unlike
    ``predict`` on many different models in a loop, it builds no per-model graph (so
    TensorFlow prints no "retracing" warnings). A model with several outputs returns a list
    of arrays, one per output; a model with several inputs (e.g. a conditional VAE's
    ``[images, labels]``) takes a list ``x`` with one array per input, all of the same length.
    Introduced in notebook 01.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    n_inputs = len(model.inputs)
    if n_inputs > 1:
        if not isinstance(x, (list, tuple)) or len(x) != n_inputs:
            raise ValueError(f"model {model.name!r} has {n_inputs} inputs ({', '.join(t.name for t in model.inputs)}): "
                             f"pass a list of {n_inputs} arrays, e.g. run(model, [images, labels])")
        inputs = [np.asarray(a) for a in x]
        expected_shapes = [tuple(shape[1:]) for shape in model.input_shape]
    else:
        inputs, expected_shapes = [np.asarray(x)], [tuple(model.input_shape[1:])]
    for arr, expected, tensor in zip(inputs, expected_shapes, model.inputs):
        if arr.ndim != len(expected) + 1 or any(e is not None and e != d for e, d in zip(expected, arr.shape[1:])):
            what = f"input {tensor.name!r}" if n_inputs > 1 else "inputs"
            raise ValueError(f"model {model.name!r} expects {what} of shape (N, {', '.join(map(str, expected))}); got {arr.shape}")
    n = len(inputs[0])
    if any(len(arr) != n for arr in inputs):
        raise ValueError(f"the inputs of model {model.name!r} must have the same length; got {[len(a) for a in inputs]}")
    several = len(model.outputs) > 1          # e.g. a VAE encoder's [mean, log_var]
    shapes = model.output_shape if several else [model.output_shape]
    parts = []                                  # per batch: one array per output
    for i in range(0, n, batch_size):
        batch = [arr[i:i + batch_size] for arr in inputs]
        out = model(batch if n_inputs > 1 else batch[0], training=False)
        parts.append([keras.ops.convert_to_numpy(t) for t in (out if isinstance(out, (list, tuple)) else [out])])
    arrays = [np.concatenate([p[k] for p in parts]) if parts else np.zeros((0, *shape[1:]), dtype="float32")
              for k, shape in enumerate(shapes)]
    return arrays if several else arrays[0]


def _block_size(block: int, shape, what: str, divide: bool) -> int:
    block = check_positive_int(block, "block")
    if len(shape) != 3 or None in shape or (divide and (shape[0] % block or shape[1] % block)):
        need = f" with height and width divisible by block={block}" if divide else ""
        raise ValueError(f"{what} needs a (height, width, channels) tensor{need}; got shape {tuple(shape)}")
    return block


def space_to_depth(x, block: int = 2):
    """Fold each ``block x block`` patch of a ``(H, W, C)`` Keras tensor into channels and return
    a ``(H/block, W/block, C*block²)`` tensor (a functional-API step made of Reshape and Permute).

    Convolutions after it run on ``block²`` times fewer positions, so they are that much cheaper on a
    CPU, while no pixel is thrown away; :func:`depth_to_space` undoes it exactly.
    Introduced in notebook 02.
    """
    h, w, c = x.shape[1:]
    block = _block_size(block, (h, w, c), "space_to_depth", divide=True)
    x = layers.Reshape((h // block, block, w // block, block, c))(x)
    x = layers.Permute((1, 3, 2, 4, 5))(x)
    return layers.Reshape((h // block, w // block, c * block * block))(x)


def depth_to_space(x, block: int = 2):
    """Unfold channels back into ``block x block`` patches: the inverse of :func:`space_to_depth`,
    mapping a ``(H, W, C*block²)`` Keras tensor to ``(H*block, W*block, C)``. Introduced in notebook 02.
    """
    h, w, c = x.shape[1:]
    block = _block_size(block, (h, w, c), "depth_to_space", divide=False)
    if c % (block * block):
        raise ValueError(f"depth_to_space needs channels divisible by block²={block * block}; got shape {tuple(x.shape[1:])}")
    x = layers.Reshape((h, w, block, block, c // (block * block)))(x)
    x = layers.Permute((1, 3, 2, 4, 5))(x)
    return layers.Reshape((h * block, w * block, c // (block * block)))(x)


class DenseTranspose(layers.Layer):
    """A decoder layer that reuses an encoder ``Dense`` layer's kernel, transposed (tied weights).

    ``DenseTranspose(enc)(h)`` computes ``activation(h @ enc.kernel.T + bias)`` with its own
    bias of size ``enc``'s input width; it has no kernel of its own, so training it trains
    ``enc``. Tied weights halve the parameters and, for a contractive autoencoder, stop the
    encoder from shrinking its weights while the decoder grows its own to compensate. Call
    it after ``enc`` has been built (i.e. after ``enc`` was applied to a tensor).
    Introduced in notebook 03.
    """

    def __init__(self, dense, activation=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dense, layers.Dense):
            raise ValueError(f"DenseTranspose ties its weights to a keras.layers.Dense layer; got {type(dense).__name__}")
        self.dense = dense
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        if not self.dense.built:
            raise ValueError(f"build the tied layer {self.dense.name!r} first: apply it to a tensor before DenseTranspose")
        if input_shape[-1] != self.dense.units:
            raise ValueError(f"DenseTranspose of {self.dense.name!r} expects codes of width {self.dense.units}; "
                             f"got input shape {tuple(input_shape)}")
        self.bias = self.add_weight(shape=(self.dense.kernel.shape[0],), initializer="zeros", name="bias")

    def call(self, h):
        return self.activation(keras.ops.matmul(h, keras.ops.transpose(self.dense.kernel)) + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.dense.kernel.shape[0])
