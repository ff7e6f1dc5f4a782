"""The trained-weights cache behind training.fit: hit, miss, forced retrain, corrupt entries."""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from aehelpers import cache, training, utils  # noqa: E402

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
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


def test_miss_then_hit_restores_weights_history_and_optimizer(on, monkeypatch, capsys):
    first = make()
    h1, n1 = run(first, monkeypatch, label="tiny")
    assert n1 == 1 and len(list(on.glob("*.weights.h5"))) == 1 and len(list(on.glob("*.json"))) == 1
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
    a, b = make(shift=0), make(shift=3)
    assert [layer.name for layer in a.layers] != [layer.name for layer in b.layers]
    run(a, monkeypatch)
    assert run(b, monkeypatch)[1] == 0 and same_weights(a, b)


@pytest.mark.parametrize("change", ["seed", "data", "epochs", "batch_size", "learning rate", "architecture"])
def test_anything_that_changes_training_misses(on, monkeypatch, change):
    run(make(), monkeypatch)
    model = make(seed=1 if change == "seed" else 0, lr=0.02 if change == "learning rate" else 0.01)
    kwargs = {"epochs": {"epochs": 3}, "batch_size": {"batch_size": 16}, "data": {"x": X[::-1].copy()}}.get(change, {})
    if change == "architecture":
        utils.set_seed(0)
        inputs = keras.Input((6,))
        model = keras.Model(inputs, keras.layers.Dense(6)(keras.layers.Dense(3, activation="tanh")(inputs)))
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    assert run(model, monkeypatch, **kwargs)[1] == 1
    assert len(list(on.glob("*.weights.h5"))) == 2


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


def test_forced_retrain_by_argument_and_by_environment(on, monkeypatch):
    run(make(), monkeypatch)
    assert run(make(), monkeypatch, retrain=True)[1] == 1
    monkeypatch.setenv("AEHELPERS_RETRAIN", "1")
    assert run(make(), monkeypatch)[1] == 1
    monkeypatch.delenv("AEHELPERS_RETRAIN")
    assert run(make(), monkeypatch)[1] == 0
    assert run(make(), monkeypatch, cache=False)[1] == 1


@pytest.mark.parametrize("damage", ["truncated weights", "garbage weights", "garbage sidecar", "key mismatch"])
def test_a_damaged_entry_retrains_with_a_notice_and_is_overwritten(on, monkeypatch, capsys, damage):
    reference = make()
    run(reference, monkeypatch)
    weights, sidecar = next(on.glob("*.weights.h5")), next(on.glob("*.json"))
    if damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:500])
    elif damage == "garbage weights":
        weights.write_bytes(b"not hdf5" * 100)
    elif damage == "garbage sidecar":
        sidecar.write_text("{not json", encoding="utf-8")
    else:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        meta["material"]["settings"]["epochs"] = 99
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


def test_bad_arguments_raise_clear_errors(on):
    with pytest.raises(ValueError, match="compiled keras.Model"):
        cache.training_key(keras.Sequential([keras.layers.Dense(1)]), [X], {})
    with pytest.raises(ValueError, match="settings must be a dict"):
        cache.training_key(make(), [X], ["epochs", 2])
    with pytest.raises(ValueError, match="train must be a function"):
        cache.cached_fit(make(), None, data=[X], settings={})


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("AEHELPERS_CACHE_DIR", raising=False)
    assert cache.cache_dir().parts[-3:] == (".cache", "aehelpers", "weights")
    monkeypatch.setenv("AEHELPERS_CACHE_DIR", str(tmp_path))
    assert cache.cache_dir() == tmp_path
