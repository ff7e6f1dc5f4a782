"""The trained-weights cache behind training.fit and fit_side_by_side (aehelpers._cache): hit, miss,
forced retrain, damaged entries, info/clear. (Its command line and the runner's fresh training are
tested with the tooling, tests/course.)"""

import json
import os

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from aehelpers import _cache as cache  # noqa: E402
from aehelpers import training, utils  # noqa: E402

X = np.random.default_rng(0).random((64, 6)).astype("float32")


@pytest.fixture
def on(tmp_path, monkeypatch):
    """The cache switched on (it is off under pytest) and kept in tmp_path."""
    for name in ("CI", "AEHELPERS_NO_CACHE", "AEHELPERS_RETRAIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AEHELPERS_CACHE", "force-on")
    monkeypatch.setenv("AEHELPERS_CACHE_DIR", str(tmp_path))
    return tmp_path


def make(seed=0, shift=0, lr=0.01):
    """A compiled tiny AE; ``shift`` unnamed layers built first change Keras' auto names."""
    for _ in range(shift):
        keras.layers.Dense(2)
    utils.set_seed(seed)
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(6)(keras.layers.Dense(3, activation="relu")(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
    return model


def run(model, monkeypatch, x=X, **kwargs):
    """training.fit that also returns how many times Keras' own fit ran."""
    calls, keras_fit = [], model.fit
    monkeypatch.setattr(model, "fit", lambda *a, **k: calls.append(1) or keras_fit(*a, **k))
    history = training.fit(model, x, **{"epochs": 2, "batch_size": 32, "plot": False, **kwargs})
    return history, len(calls)


def same_weights(a, b):
    return len(a.variables) == len(b.variables) and all(
        np.array_equal(keras.ops.convert_to_numpy(u), keras.ops.convert_to_numpy(v)) for u, v in zip(a.variables, b.variables))


def test_miss_then_hit_restores_weights_history_and_optimizer(on, monkeypatch, capsys):
    first = make()
    h1, n1 = run(first, monkeypatch, label="tiny")
    assert n1 == 1 and len(list(on.glob("*.npz"))) == 1 and len(list(on.glob("*.json"))) == 1
    second = make()
    capsys.readouterr()
    h2, n2 = run(second, monkeypatch, label="tiny")
    assert n2 == 0, "a hit must not train"
    out = capsys.readouterr().out
    assert out.startswith("loaded the trained weights of tiny from the cache (") and "AEHELPERS_RETRAIN=1" in out
    assert same_weights(first, second) and h2.history == h1.history and h2.epoch == [0, 1]
    assert int(second.optimizer.iterations.numpy()) == int(first.optimizer.iterations.numpy()) == 4
    assert not list(on.glob(".*tmp*")), "no temporary file is left behind"


def test_same_architecture_with_other_auto_names_hits(on, monkeypatch):
    a = make(shift=0)
    run(a, monkeypatch)
    b = make(shift=3)   # built (and seeded) after a trained: on JAX, fit itself draws from NumPy's global state
    assert [layer.name for layer in a.layers] != [layer.name for layer in b.layers]
    assert run(b, monkeypatch)[1] == 0 and same_weights(a, b)


@pytest.mark.parametrize("change", ["seed", "data", "epochs", "batch_size", "steps", "validation data", "learning rate",
                                    "architecture", "trained before", "shuffle seed only"])
def test_anything_that_changes_training_misses(on, monkeypatch, change):
    run(make(), monkeypatch, validation_data=(X[:8], X[:8]))
    model = make(seed=1 if change == "seed" else 0, lr=0.02 if change == "learning rate" else 0.01)
    kwargs = {"epochs": {"epochs": 3}, "batch_size": {"batch_size": 16}, "data": {"x": X[::-1].copy()},
              "steps": {"steps_per_epoch": 1}, "validation data": {"validation_data": (X[8:16], X[8:16])}
              }.get(change, {"validation_data": (X[:8], X[:8])})
    if change == "trained before":
        model.fit(X, X, epochs=1, verbose=0)
    if change == "shuffle seed only":      # the same initial weights, another global seed (another batch order)
        keras.utils.set_random_seed(7)
    if change == "architecture":
        utils.set_seed(0)
        inputs = keras.Input((6,))
        model = keras.Model(inputs, keras.layers.Dense(6)(keras.layers.Dense(3, activation="tanh")(inputs)))
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    assert run(model, monkeypatch, **kwargs)[1] == 1
    assert len(list(on.glob("*.npz"))) == 2


def test_a_python_loss_is_keyed_by_its_code(on, monkeypatch):
    def loss(t, p):
        return keras.ops.mean(keras.ops.square(t - p))
    model = make()
    model.compile(optimizer="adam", loss=loss)
    run(model, monkeypatch)

    def loss(t, p):  # the same name, another body
        return keras.ops.mean(keras.ops.abs(t - p))
    model = make()
    model.compile(optimizer="adam", loss=loss)
    assert run(model, monkeypatch)[1] == 1


def test_a_closure_loss_is_keyed_by_the_values_it_closes_over(on, monkeypatch):
    def weighted(w):
        def loss(t, p):
            return w * keras.ops.mean(keras.ops.square(t - p))
        return loss
    for w, trains in ((1.0, 1), (1.0, 0), (2.0, 1)):
        model = make()
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=weighted(w))
        assert run(model, monkeypatch)[1] == trains, w


def test_forced_retrain_by_argument_and_by_environment(on, monkeypatch):
    run(make(), monkeypatch)
    assert run(make(), monkeypatch, retrain=True)[1] == 1
    monkeypatch.setenv("AEHELPERS_RETRAIN", "1")
    assert run(make(), monkeypatch)[1] == 1
    monkeypatch.delenv("AEHELPERS_RETRAIN")
    assert run(make(), monkeypatch)[1] == 0
    assert run(make(), monkeypatch, cache=False)[1] == 1


@pytest.mark.parametrize("damage", ["truncated weights", "garbage weights", "truncated sidecar", "garbage sidecar",
                                    "key mismatch"])
def test_a_damaged_entry_retrains_with_a_notice_and_is_overwritten(on, monkeypatch, capsys, damage):
    reference = make()
    run(reference, monkeypatch)
    weights, sidecar = next(on.glob("*.npz")), next(on.glob("*.json"))
    if damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:500])
    elif damage == "garbage weights":
        weights.write_bytes(b"not an npz" * 100)
    elif damage == "truncated sidecar":
        sidecar.write_bytes(sidecar.read_bytes()[:100])
    elif damage == "garbage sidecar":
        sidecar.write_text("{not json", encoding="utf-8")
    else:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        meta["key"] = "0" * 64
        sidecar.write_text(json.dumps(meta), encoding="utf-8")
    capsys.readouterr()
    model = make()
    _, trained = run(model, monkeypatch)
    out = capsys.readouterr().out
    assert trained == 1 and "are unusable" in out and "training again" in out
    assert same_weights(model, reference), "training starts from the initial weights, not a half-loaded file"
    assert run(make(), monkeypatch)[1] == 0, "the entry was rewritten"


def test_off_in_ci_with_no_cache_and_under_pytest(on, monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert not cache.enabled()
    run(make(), monkeypatch)
    assert run(make(), monkeypatch)[1] == 1 and not any(on.iterdir())
    monkeypatch.setenv("CI", "false")
    assert cache.enabled()
    monkeypatch.setenv("AEHELPERS_NO_CACHE", "1")
    assert not cache.enabled()
    monkeypatch.delenv("AEHELPERS_NO_CACHE")
    monkeypatch.delenv("AEHELPERS_CACHE")
    assert not cache.enabled(), "off under pytest by default"


def test_uncacheable_arguments_train_without_the_cache(on, monkeypatch, capsys):
    _, trained = run(make(), monkeypatch, callbacks=[keras.callbacks.Callback()])
    assert trained == 1 and "not caching" in capsys.readouterr().out and not any(on.iterdir())


def side_by_side(monkeypatch, x=X, **kwargs):
    """Two tiny AEs trained by fit_side_by_side; returns (models, curves, how many times Keras' fit ran)."""
    utils.set_seed(0)
    pair = {}
    for name in ("a", "b"):
        inputs = keras.Input((6,))
        pair[name] = keras.Model(inputs, keras.layers.Dense(6)(keras.layers.Dense(2)(inputs)))
    calls, keras_fit = [], keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda self, *a, **k: calls.append(1) or keras_fit(self, *a, **k))
    curves = training.fit_side_by_side(pair, x, optimizer=keras.optimizers.Adam(0.01), epochs=2, batch_size=32,
                                       plot=False, **kwargs)
    monkeypatch.setattr(keras.Model, "fit", keras_fit)
    return pair, curves, len(calls)


def test_fit_side_by_side_is_one_entry_restoring_every_model_and_the_curves(on, monkeypatch, capsys):
    first, curves1, n1 = side_by_side(monkeypatch, label="pair")
    assert n1 == 1 and len(list(on.glob("*.json"))) == 1
    capsys.readouterr()
    second, curves2, n2 = side_by_side(monkeypatch, label="pair")
    assert n2 == 0 and "loaded the trained weights of pair from the cache" in capsys.readouterr().out
    assert curves2 == curves1 and list(curves2) == ["a", "b"] and len(curves2["a"]["loss"]) == 2
    for name in first:
        assert same_weights(first[name], second[name]), name
    assert side_by_side(monkeypatch, x=X[::-1].copy())[2] == 1, "other data: a miss"
    assert side_by_side(monkeypatch, retrain=True)[2] == 1


def test_info_and_clear(on, monkeypatch, capsys):
    run(make(), monkeypatch)
    run(make(seed=1), monkeypatch)
    (on / "notes.txt").write_text("not the cache's", encoding="utf-8")
    from aehelpers.course.cli import cache_clear, cache_info

    found = cache_info()
    assert found["entries"] == 2 and found["bytes"] > 0 and found["folder"] == on
    assert cache_clear() == found
    assert [p.name for p in on.iterdir()] == ["notes.txt"] and cache_info()["entries"] == 0
    assert run(make(), monkeypatch)[1] == 1, "cleared: trains again"


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("AEHELPERS_CACHE_DIR", raising=False)
    assert cache.cache_dir().parts[-3:] == (".cache", "aehelpers", "weights")
    monkeypatch.setenv("AEHELPERS_CACHE_DIR", str(tmp_path))
    assert cache.cache_dir() == tmp_path
