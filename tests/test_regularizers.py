"""Tests of the KL-sparsity and contractive penalties; they also run on the JAX backend (see test_backends.py)."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from aehelpers import regularizers  # noqa: E402


def _np(t):
    return keras.ops.convert_to_numpy(t)


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def test_kl_sparsity_matches_the_bernoulli_formula():
    h = np.random.default_rng(0).uniform(0.01, 0.99, (64, 7)).astype("float32")
    q = h.mean(0).astype(np.float64)
    p = 0.05
    expected = np.sum(p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q)))
    assert float(_np(regularizers.kl_sparsity(h, p))) == pytest.approx(expected, rel=1e-5)


def test_kl_sparsity_is_zero_at_the_target_and_positive_elsewhere():
    at_target = np.full((8, 4), 0.1, "float32")
    assert float(_np(regularizers.kl_sparsity(at_target, 0.1))) == pytest.approx(0.0, abs=1e-6)
    assert float(_np(regularizers.kl_sparsity(at_target * 3, 0.1))) > 0.01
    saturated = np.ones((8, 4), "float32")  # clipped inside, so finite
    assert np.isfinite(float(_np(regularizers.kl_sparsity(saturated, 0.1))))


@pytest.mark.parametrize("target", [0, 1, -0.1, 1.5, "a"])
def test_kl_sparsity_rejects_a_bad_target(target):
    with pytest.raises(ValueError, match="target"):
        regularizers.kl_sparsity(np.full((4, 3), 0.5, "float32"), target)
    with pytest.raises(ValueError, match="target"):
        regularizers.KLSparsity(target)


def test_kl_sparsity_rejects_a_code_that_is_not_a_batch_of_vectors():
    with pytest.raises(ValueError, match=r"\(batch, units\)"):
        regularizers.kl_sparsity(np.full((4, 3, 2), 0.5, "float32"))


def test_kl_sparsity_layer_adds_its_loss_and_returns_its_input():
    x_in = keras.Input((5,))
    out = regularizers.KLSparsity(0.2, weight=3.0)(keras.layers.Dense(6, activation="sigmoid")(x_in))
    model = keras.Model(x_in, out)
    x = np.random.default_rng(1).normal(size=(16, 5)).astype("float32")
    h = _np(model(x))
    assert len(model.losses) == 1
    expected = 3.0 * float(_np(regularizers.kl_sparsity(h, 0.2)))
    assert float(_np(model.losses[0])) == pytest.approx(expected, rel=1e-5)


def test_kl_sparsity_training_moves_mean_activation_to_the_target():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(2).normal(size=(512, 10)).astype("float32")
    x_in = keras.Input((10,))
    h = regularizers.KLSparsity(0.05, weight=1.0)(keras.layers.Dense(20, activation="sigmoid")(x_in))
    model = keras.Model(x_in, h)
    before = _np(model(x)).mean()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=lambda y, p: 0.0 * keras.ops.mean(p))
    model.fit(x, x[:, :1], epochs=30, batch_size=128, verbose=0)
    after = _np(model(x)).mean()
    assert before > 0.3 and abs(after - 0.05) < 0.02


def test_contractive_penalty_is_the_jacobian_norm():
    rng = np.random.default_rng(3)
    w, b = rng.normal(size=(6, 4)), rng.normal(size=4)
    x = rng.normal(size=(5, 6))
    h = _sigmoid(x @ w + b)
    closed = _np(regularizers.contractive_penalty(h.astype("float32"), w.astype("float32")))
    jac = regularizers.finite_difference_jacobian(lambda v: _sigmoid(v @ w + b), x, eps=1e-5)
    assert jac.shape == (5, 4, 6)
    np.testing.assert_allclose(closed, (jac**2).sum(axis=(1, 2)), rtol=1e-5)


def test_contractive_penalty_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same units"):
        regularizers.contractive_penalty(np.zeros((2, 3), "float32"), np.zeros((5, 4), "float32"))


def test_contractive_dense_adds_weighted_mean_penalty_and_is_sigmoid():
    layer = regularizers.ContractiveDense(4, weight=0.5)
    x_in = keras.Input((6,))
    model = keras.Model(x_in, layer(x_in))
    x = np.random.default_rng(4).normal(size=(8, 6)).astype("float32")
    h = _np(model(x))
    w, b = (np.asarray(v, np.float64) for v in layer.get_weights())
    np.testing.assert_allclose(h, _sigmoid(x @ w + b), rtol=1e-5, atol=1e-6)
    expected = 0.5 * np.mean(((h * (1 - h)) ** 2 * (w**2).sum(0)).sum(1))
    assert len(model.losses) == 1
    assert float(_np(model.losses[0])) == pytest.approx(expected, rel=1e-4)


def test_contractive_dense_training_contracts_the_encoder():
    x = np.random.default_rng(5).normal(size=(512, 8)).astype("float32")
    norms = {}
    for weight in (0.0, 1.0):
        keras.utils.set_random_seed(0)
        x_in = keras.Input((8,))
        enc = regularizers.ContractiveDense(16, weight=weight)
        out = keras.layers.Dense(8)(enc(x_in))
        model = keras.Model(x_in, out)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        model.fit(x, x, epochs=20, batch_size=64, verbose=0)
        h = _np(enc(x))
        norms[weight] = float(np.mean(_np(regularizers.contractive_penalty(h, enc.kernel))))
    assert norms[1.0] < 0.5 * norms[0.0]


def test_contractive_dense_refuses_another_activation_and_a_negative_weight():
    with pytest.raises(ValueError, match="sigmoid"):
        regularizers.ContractiveDense(4, activation="relu")
    with pytest.raises(ValueError, match="weight"):
        regularizers.ContractiveDense(4, weight=-1)


def test_layers_survive_a_config_round_trip():
    for layer in (regularizers.KLSparsity(0.1, 2.0), regularizers.ContractiveDense(3, weight=0.2)):
        clone = layer.__class__.from_config(layer.get_config())
        assert clone.weight == layer.weight


def test_finite_difference_jacobian_of_a_linear_map_is_its_matrix():
    a = np.arange(6.0).reshape(2, 3)
    jac = regularizers.finite_difference_jacobian(lambda v: v @ a.T, np.ones((4, 3)))
    np.testing.assert_allclose(jac, np.broadcast_to(a, (4, 2, 3)), atol=1e-8)
    with pytest.raises(ValueError, match="2-D"):
        regularizers.finite_difference_jacobian(lambda v: v, np.ones(3))
    with pytest.raises(ValueError, match="eps"):
        regularizers.finite_difference_jacobian(lambda v: v, np.ones((2, 3)), eps=0)
