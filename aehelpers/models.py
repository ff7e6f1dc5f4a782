"""Autoencoder builders reused across the course (Keras 3 functional models).
Introduced in notebook 01.

Each builder returns ``(autoencoder, encoder, decoder)``: three functional models that
share layers, so training the autoencoder trains the other two.
"""

from __future__ import annotations

import keras
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
                            output_activation: str | None = "sigmoid", name: str = "dense_ae"):
    """Build a fully-connected autoencoder ``input -> hidden... -> code -> ...hidden -> input``.

    The input (e.g. a 28x28 image) is flattened; the decoder mirrors the encoder's hidden
    sizes and reshapes back to ``input_shape``. ``hidden=()`` with ``activation=None``,
    ``output_activation=None`` gives the *linear* autoencoder that learns PCA's subspace.
    Returns ``(autoencoder, encoder, decoder)``. Introduced in notebook 01.
    """
    shape = _shape(input_shape)
    code_size = check_positive_int(code_size, "code_size")
    hidden = tuple(check_positive_int(h, "hidden sizes") for h in hidden)
    n_in = 1
    for d in shape:
        n_in *= d

    x_in = keras.Input(shape=shape, name="x")
    h = layers.Flatten(name="flatten")(x_in)
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation=activation, name=f"enc_{i}")(h)
    z = layers.Dense(code_size, activation=code_activation, name="code")(h)
    encoder = keras.Model(x_in, z, name=f"{name}_encoder")

    z_in = keras.Input(shape=(code_size,), name="z")
    h = z_in
    for i, units in enumerate(reversed(hidden)):
        h = layers.Dense(units, activation=activation, name=f"dec_{i}")(h)
    h = layers.Dense(n_in, activation=output_activation, name="dec_out")(h)
    x_out = layers.Reshape(shape, name="reshape")(h)
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
