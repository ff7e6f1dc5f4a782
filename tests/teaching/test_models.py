"""Builder tests; they also run on the JAX backend (see test_backends.py)."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from aehelpers import models, training  # noqa: E402


def test_dense_autoencoder_shapes_and_shared_layers():
    ae, enc, dec = models.build_dense_autoencoder((28, 28), code_size=8, hidden=(32,))
    x = np.random.default_rng(0).random((4, 28, 28)).astype("float32")
    z = enc.predict(x, verbose=0)
    assert z.shape == (4, 8)
    assert dec.predict(z, verbose=0).shape == (4, 28, 28)
    np.testing.assert_allclose(ae.predict(x, verbose=0), dec.predict(z, verbose=0), rtol=1e-5, atol=1e-6)
    out = ae.predict(x, verbose=0)
    assert out.min() >= 0 and out.max() <= 1  # sigmoid output


def test_linear_autoencoder_is_linear():
    ae, enc, dec = models.build_dense_autoencoder((10,), code_size=3, hidden=(), activation=None, output_activation=None)
    a, b = np.random.default_rng(1).normal(size=(2, 1, 10)).astype("float32")
    f = lambda v: ae.predict(v, verbose=0)  # noqa: E731
    bias = f(np.zeros((1, 10), "float32"))
    np.testing.assert_allclose(f(a + b) - bias, (f(a) - bias) + (f(b) - bias), atol=1e-4)


def test_linear_autoencoder_learns_a_low_rank_subspace():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(20, 2)))[0]
    x = (rng.normal(size=(2048, 2)) @ basis.T).astype("float32")
    ae, _, dec = models.build_dense_autoencoder((20,), code_size=2, hidden=(), activation=None, output_activation=None)
    ae.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    ae.fit(x, x, epochs=30, batch_size=128, verbose=0)
    err = float(np.mean((ae.predict(x, verbose=0) - x) ** 2))
    assert err < 1e-3 * float(np.mean(x**2))
    w = dec.get_layer("dec_out").get_weights()[0]  # (2, 20): its rows span the decoder's subspace
    q = np.linalg.qr(w.T)[0]
    cosines = np.linalg.svd(q.T @ basis, compute_uv=False)
    assert cosines.min() > np.cos(np.deg2rad(2.0))


@pytest.mark.parametrize("kwargs, message", [
    (dict(input_shape=(28, 28), code_size=0), "code_size must be a positive integer"),
    (dict(input_shape=(28, 28), code_size=2.5), "code_size must be a positive integer"),
    (dict(input_shape=(28, -1)), "input_shape must be a tuple of positive ints"),
    (dict(input_shape=None), "input_shape must be a tuple of positive ints"),
    (dict(input_shape=(28, 28), hidden=(0,)), "hidden sizes must be a positive integer"),
])
def test_dense_builder_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.build_dense_autoencoder(**kwargs)


def test_fit_prints_compact_lines_and_returns_history(capsys):
    ae, _, _ = models.build_dense_autoencoder((6,), code_size=2, hidden=(4,))
    ae.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).random((64, 6)).astype("float32")
    history = training.fit(ae, x, epochs=25, batch_size=32, validation_data=(x, x), label="tiny", plot=False, max_lines=5)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert 2 <= len(lines) <= 6
    assert lines[0].startswith("tiny · epoch  1/25 · loss") and "val_loss" in lines[0]
    assert lines[-1].startswith("tiny · epoch 25/25")
    assert len(history.history["loss"]) == 25


def test_fit_numbers_epochs_of_a_run_split_over_several_calls(capsys):
    ae, _, _ = models.build_dense_autoencoder((6,), code_size=2, hidden=(4,))
    ae.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).random((64, 6)).astype("float32")
    for epoch in range(3):
        training.fit(ae, x, epochs=epoch + 1, initial_epoch=epoch, of=3, batch_size=32, label="split", plot=False)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert [ln.split(" · ")[1] for ln in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]


def test_fit_requires_compiled_model():
    ae, _, _ = models.build_dense_autoencoder((6,), code_size=2, hidden=())
    with pytest.raises(ValueError, match="not compiled"):
        training.fit(ae, np.zeros((4, 6), "float32"), epochs=1, plot=False)


def _assert_trained_like_alone(together, fresh, x, y, *, loss, rate, epochs):
    # each model of a side-by-side fit ends with the weights it gets when trained alone on the same batches;
    # fresh[label] is a new copy of together[label] with the same initial weights
    for label, model in together.items():
        alone = fresh[label]
        alone.compile(optimizer=keras.optimizers.SGD(rate), loss=loss)   # a name or a Keras loss object
        alone.fit(x, y, epochs=epochs, batch_size=32, shuffle=False, verbose=0)
        for a, b in zip(alone.get_weights(), model.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_fit_side_by_side_equals_separate_training(capsys):
    x = np.random.default_rng(0).random((96, 6)).astype("float32")

    def make(k):
        keras.utils.set_random_seed(k)  # same initial weights for both runs
        return models.build_dense_autoencoder((6,), code_size=k, hidden=(), activation=None,
                                               output_activation=None, name=f"lin_{k}")[0]

    together = {f"k={k}": make(k) for k in (1, 2)}
    curves = training.fit_side_by_side(together, x, optimizer=keras.optimizers.SGD(0.1), epochs=3,
                                       batch_size=32, plot=False, shuffle=False, label="two codes")
    assert set(curves) == {"k=1", "k=2"} and len(curves["k=2"]["loss"]) == 3
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert len(lines) == 3 and lines[0].startswith("two codes · epoch 1/3")
    assert "k=1 " in lines[0] and "k=2 " in lines[0] and "sum " in lines[0]
    assert curves["k=1"]["loss"][-1] < curves["k=1"]["loss"][0]
    _assert_trained_like_alone(together, {f"k={k}": make(k) for k in (1, 2)}, x, x, loss="mse", rate=0.1, epochs=3)


def test_fit_side_by_side_trains_classifiers_like_separate_training():
    rng = np.random.default_rng(0)
    x = rng.random((96, 5)).astype("float32")
    y = (x[:, 0] > x[:, 1]).astype("int64") + 2 * (x[:, 2] > 0.5)     # 4 classes

    def make(units, activation):
        keras.utils.set_random_seed(units)
        inputs = keras.Input((5,))
        return keras.Model(inputs, keras.layers.Dense(4, activation=activation)(keras.layers.Dense(units, activation="relu")(inputs)))

    for from_logits, activation in ((False, "softmax"), (True, None)):    # probabilities, or logits
        together = {f"{u} units": make(u, activation) for u in (3, 8)}
        curves = training.fit_side_by_side(together, x, y, loss="sparse_categorical_crossentropy", from_logits=from_logits,
                                           optimizer=keras.optimizers.SGD(0.5), epochs=4, batch_size=32, plot=False,
                                           shuffle=False)
        assert curves["8 units"]["loss"][-1] < curves["8 units"]["loss"][0]
        _assert_trained_like_alone(together, {f"{u} units": make(u, activation) for u in (3, 8)}, x, y,
                                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits), rate=0.5, epochs=4)
    with pytest.raises(ValueError, match=r"integer class ids of shape \(N,\)"):
        training.fit_side_by_side(together, x, y.astype("float32"), loss="sparse_categorical_crossentropy", optimizer="sgd", epochs=1)
    with pytest.raises(ValueError, match="loss must be 'mse' or"):
        training.fit_side_by_side(together, x, y, loss="mae", optimizer="sgd", epochs=1)
    with pytest.raises(ValueError, match=r"class ids in y must lie in 0\.\.3 for model '3 units' \(4 classes\); got 0\.\.4"):
        training.fit_side_by_side(together, x, np.where(y == 3, 4, y), loss="sparse_categorical_crossentropy",
                                  optimizer="sgd", epochs=1)
    with pytest.raises(ValueError, match="from_logits=True needs loss='sparse_categorical_crossentropy'"):
        training.fit_side_by_side(together, x, y, from_logits=True, optimizer="sgd", epochs=1)


def test_fit_side_by_side_rejects_bad_input():
    a = models.build_dense_autoencoder((6,), code_size=1, hidden=(), name="a")[0]
    c = models.build_dense_autoencoder((7,), code_size=2, hidden=(), name="c")[0]
    x = np.zeros((4, 6), "float32")
    with pytest.raises(ValueError, match=r"model 'c' maps \(7,\) -> \(7,\); every model must map \(6,\) -> \(6,\)"):
        training.fit_side_by_side({"a": a, "c": c}, x, optimizer="sgd", epochs=1)
    with pytest.raises(ValueError, match="same number of examples"):
        training.fit_side_by_side({"a": a}, x, np.zeros((3, 6)), optimizer="sgd", epochs=1)
    with pytest.raises(ValueError, match="non-empty dict"):
        training.fit_side_by_side({}, x, optimizer="sgd", epochs=1)


def test_run_returns_numpy_in_batches_and_checks_shape():
    ae, enc, _ = models.build_dense_autoencoder((28, 28), code_size=4, hidden=(8,))
    x = np.random.default_rng(0).random((10, 28, 28)).astype("float32")
    out = models.run(ae, x, batch_size=3)
    assert isinstance(out, np.ndarray) and out.shape == (10, 28, 28)
    np.testing.assert_allclose(out, ae.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert models.run(enc, x).shape == (10, 4)
    with pytest.raises(ValueError, match=r"expects input 'x' of shape \(N, 28, 28\); got \(10, 784\)"):
        models.run(ae, x.reshape(10, -1))


def test_run_takes_a_list_for_a_model_with_several_inputs():
    a_in, b_in = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    model = keras.Model([a_in, b_in], keras.layers.Concatenate()([a_in, b_in]), name="pair")
    a, b = np.arange(15, dtype="float32").reshape(5, 3), -np.ones((5, 2), "float32")
    np.testing.assert_array_equal(models.run(model, [a, b], batch_size=2), np.concatenate([a, b], axis=1))
    with pytest.raises(ValueError, match=r"has 2 inputs: pass a list of arrays"):
        models.run(model, a)
    with pytest.raises(ValueError, match=r"expects input 'b' of shape \(N, 2\).*got \(5, 3\)"):
        models.run(model, [a, a])
    with pytest.raises(ValueError, match="one N for all inputs"):
        models.run(model, [a, b[:4]])


def test_space_to_depth_folds_patches_and_depth_to_space_inverts_it():
    x_in = keras.Input((4, 6, 2))
    folded = models.space_to_depth(x_in, 2)
    assert tuple(folded.shape[1:]) == (2, 3, 8)
    fold = keras.Model(x_in, folded)
    roundtrip = keras.Model(x_in, models.depth_to_space(folded, 2))
    x = np.arange(2 * 4 * 6 * 2, dtype="float32").reshape(2, 4, 6, 2)
    out = models.run(fold, x)
    # channel order inside a patch: (row in patch, column in patch, original channel)
    np.testing.assert_array_equal(out[1, 1, 2], x[1, 2:4, 4:6, :].reshape(-1))
    np.testing.assert_array_equal(models.run(roundtrip, x), x)


def test_space_to_depth_rejects_sizes_that_do_not_divide():
    with pytest.raises(ValueError, match=r"divisible by block=2; got shape \(5, 6, 1\)"):
        models.space_to_depth(keras.Input((5, 6, 1)), 2)
    with pytest.raises(ValueError, match=r"channels divisible by block²=4"):
        models.depth_to_space(keras.Input((4, 4, 6)), 2)
    with pytest.raises(ValueError, match=r"block must be a positive integer"):
        models.space_to_depth(keras.Input((4, 4, 1)), 0)


def test_noise_before_sigmoid_is_noisy_in_training_only():
    layer = models.NoiseBeforeSigmoid(4.0, seed=0)
    a = np.zeros((256, 16), "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(a)), 0.5)              # inference: sigmoid(0)
    noisy = keras.ops.convert_to_numpy(layer(a, training=True))
    assert noisy.min() >= 0 and noisy.max() <= 1 and noisy.std() > 0.3                # sigmoid(N(0, 16)) spreads to 0 and 1


def test_balanced_bits_adds_the_stated_penalty_and_passes_its_input():
    x_in = keras.Input((2,))
    model = keras.Model(x_in, models.BalancedBits(0.5)(x_in))
    a = np.array([[10.0, 0.0], [10.0, 0.0]], "float32")                                # bit 1 always on, bit 2 balanced
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(a)), a)
    mean_on = 1 / (1 + np.exp(-10.0))
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(model.losses[0])), 0.5 * (mean_on - 0.5) ** 2, rtol=1e-5)


def test_hashing_layers_match_notebook_03s_written_out_code(repo_root):
    # Notebook 03 writes the two layers out (the idea); notebook 09 imports them from models. Same code, or this fails.
    import ast
    import inspect
    import json

    def bodies(tree):
        found = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in ("NoiseBeforeSigmoid", "BalancedBits"):
                if isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
                    node.body = node.body[1:]                                          # drop the docstring
                found[node.name] = ast.dump(node)
        return found

    nb = json.loads((repo_root / "notebooks" / "03_regularized_autoencoders.ipynb").read_text())
    cells = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    in_notebook = bodies(ast.parse("\n".join(l for l in cells.splitlines() if not l.lstrip().startswith(("%", "!")))))
    in_package = bodies(ast.parse(inspect.getsource(models)))
    assert set(in_notebook) == set(in_package) == {"NoiseBeforeSigmoid", "BalancedBits"}
    for name in in_package:
        assert in_notebook[name] == in_package[name], f"{name} in notebook 03 and in aehelpers.models differ: change both"
