"""Instant re-runs: trained weights cached on disk, keyed by everything that decides them.

:func:`aehelpers.training.fit` trains through :func:`cached_fit`. Outside CI and the test
suite, the first run saves the trained weights (one Keras ``.weights.h5``, optimizer state
included) and a JSON sidecar (the key material and the training history) in the user cache;
the next run with the same key loads them instead of training and prints that it did.

The key is a SHA-256 over a canonical JSON of the model's architecture (its config with every
layer and model name replaced by its order of appearance, since Keras numbers auto-named layers
by how many were built before: ``dense_3``), the bytecode of its non-Keras classes and of a
Python-function loss, the compile config (optimizer, loss, metrics), the INITIAL weights and
optimizer state (a hash: it captures the seed and the initialisation exactly), the seed last
given to :func:`aehelpers.utils.set_seed`, the data (bytes, shapes and dtypes of x, y and the
validation data), the ``fit`` arguments, and the Keras version and backend.

Settings (environment variables): ``AEHELPERS_CACHE_DIR`` (default
``~/.cache/aehelpers/weights``); ``AEHELPERS_RETRAIN=1`` trains again and overwrites;
``AEHELPERS_NO_CACHE=1`` turns the cache off. It is always off when ``CI`` is true, and under
pytest unless ``AEHELPERS_CACHE=force-on`` (for the cache's own tests). A corrupt file or a key
that does not match is never loaded: the model trains and the entry is overwritten.

Introduced in the README (instant re-runs).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import keras
import numpy as np

FORMAT = 1                      # bump when the key or the stored files change meaning
TRUE = {"1", "true", "yes", "on"}


def cache_dir() -> Path:
    """The folder of the weights cache: ``$AEHELPERS_CACHE_DIR``, else ``~/.cache/aehelpers/weights``.
    Introduced in the README (instant re-runs)."""
    env = os.environ.get("AEHELPERS_CACHE_DIR", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "aehelpers" / "weights"


def enabled() -> bool:
    """True if training may load and save cached weights: not when ``AEHELPERS_NO_CACHE=1``,
    not when ``CI`` is true, and not under pytest unless ``AEHELPERS_CACHE=force-on``.
    Introduced in the README (instant re-runs)."""
    if os.environ.get("AEHELPERS_NO_CACHE", "").strip().lower() in TRUE:
        return False
    if os.environ.get("CI", "").strip().lower() in TRUE:
        return False
    return "PYTEST_CURRENT_TEST" not in os.environ or os.environ.get("AEHELPERS_CACHE") == "force-on"


class _Uncacheable(Exception):
    """A fit argument the key cannot describe (e.g. a tf.data.Dataset): train without the cache."""


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def _code(fn) -> str:
    """A hash of a function's bytecode, constants, names and the simple globals it reads."""
    code, parts = fn.__code__, []

    def walk(c):
        parts.append(c.co_code.hex() + repr(c.co_names))
        for const in c.co_consts:
            if hasattr(const, "co_code"):
                walk(const)
            else:
                parts.append(repr(const))

    walk(code)
    g = getattr(fn, "__globals__", {})
    parts += [f"{n}={g[n]!r}" for n in code.co_names if isinstance(g.get(n), (int, float, str, bool, tuple))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _class_code(cls) -> dict:
    """Hashes of the methods a class defines outside Keras (a notebook's own layers and models)."""
    return {f"{k.__qualname__}.{name}": _code(f) for k in cls.__mro__
            if not k.__module__.startswith(("keras", "builtins"))
            for name, f in sorted(vars(k).items()) if hasattr(f, "__code__")}


def _canon(value):
    """``value`` as plain JSON: arrays become hashes, functions their bytecode hash."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    if isinstance(value, np.ndarray) or hasattr(value, "__array__") and hasattr(value, "shape"):
        return {"array": _digest(keras.ops.convert_to_numpy(value))}
    if hasattr(value, "__code__"):
        return {"function": getattr(value, "__qualname__", "?"), "code": _code(value)}
    if hasattr(value, "get_config"):
        return {"class": type(value).__qualname__, "config": _canon(value.get_config()),
                "code": _class_code(type(value))}
    raise _Uncacheable(f"cannot key a {type(value).__name__}")


def _renamed(config, names: set):
    """``config`` with each of ``names`` (auto-numbered: ``dense_3``, ``adam_1``) replaced by
    its order of first appearance, wherever Keras refers to a layer or object by name."""
    order: dict[str, str] = {}

    def rename(name):
        return order.setdefault(name, f"layer_{len(order)}") if name in names else name

    def walk(node):
        if isinstance(node, dict):
            return {k: (rename(v) if k == "name" and isinstance(v, str) else
                        [rename(v[0]), *v[1:]] if k == "keras_history" else
                        walk(v)) for k, v in node.items()}
        if isinstance(node, list):
            if len(node) == 3 and isinstance(node[0], str) and all(isinstance(i, int) for i in node[1:]):
                return [rename(node[0]), *node[1:]]        # input_layers / output_layers entries
            return [walk(v) for v in node]
        return node

    return walk(config)


def _architecture(model) -> dict:
    """The model's config (names made stable), class and non-Keras code."""
    try:
        config = model.get_config()
    except NotImplementedError:  # a subclassed model without get_config: its layers' configs
        config = [[type(layer).__qualname__, layer.get_config()] for layer in model._flatten_layers(include_self=False)]
    return {"config": _renamed(_canon(config), {layer.name for layer in model._flatten_layers(include_self=True)}),
            "class": type(model).__qualname__,
            "code": {k: v for layer in model._flatten_layers(include_self=True) for k, v in _class_code(type(layer)).items()}}


def training_key(model, data, settings: dict) -> tuple[str, dict]:
    """Return ``(sha256 hex digest, key material)`` for training ``model`` on ``data`` (a
    tuple of arrays, lists of arrays or None) with the ``fit`` arguments ``settings``.
    Raises ValueError if ``model`` is not a compiled Keras model. Introduced in the README
    (instant re-runs)."""
    from aehelpers import utils

    if not isinstance(model, keras.Model) or getattr(model, "optimizer", None) is None:
        raise ValueError(f"model must be a compiled keras.Model; got {type(model).__name__}")
    if not isinstance(settings, dict):
        raise ValueError(f"settings must be a dict of fit arguments; got {type(settings).__name__}")
    material = {
        "format": FORMAT, "keras": keras.__version__, "backend": keras.backend.backend(),
        "architecture": _architecture(model),
        "compile": _renamed(_canon(model.get_compile_config()), {model.optimizer.name}),
        "loss_code": _canon(model.loss) if callable(model.loss) else None,
        "initial_weights": _digest(*model.get_weights()),
        "optimizer_state": _digest(*(keras.ops.convert_to_numpy(v) for v in model.optimizer.variables)),
        "seed": utils.LAST_SEED,
        "data": _canon(data),
        "settings": _canon(settings),
    }
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest(), json.loads(blob)


def _paths(key: str) -> tuple[Path, Path]:
    return cache_dir() / f"{key}.weights.h5", cache_dir() / f"{key}.json"


def load(model, key: str, material: dict) -> dict | None:
    """Load the cached weights of ``key`` into ``model`` and return the stored training
    history, or None if there is no entry. Raises if the entry is corrupt or does not match
    (the sidecar's key material, the weights file's hash or the weight shapes). Introduced in
    the README (instant re-runs)."""
    weights, sidecar = _paths(key)
    if not sidecar.exists():
        return None
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    if meta["key"] != key or meta["material"] != material:
        raise ValueError("the sidecar's key material differs from this run's")
    if meta["weights_sha256"] != hashlib.sha256(weights.read_bytes()).hexdigest():
        raise ValueError("the weights file does not match its recorded hash")
    if meta["shapes"] != [list(w.shape) for w in model.get_weights()]:
        raise ValueError("the cached weight shapes differ from the model's")
    model.load_weights(weights)
    return {k: [float(v) for v in vals] for k, vals in meta["history"].items()}


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{os.getpid()}.tmp.{path.name}")      # same folder: os.replace is atomic
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save(model, key: str, material: dict, history: dict) -> Path:
    """Store ``model``'s weights (and optimizer state) and a JSON sidecar with the key
    material and ``history`` (``{metric: [per-epoch values]}``), each written to a temporary
    file and renamed into place. Returns the weights path. Introduced in the README (instant
    re-runs)."""
    weights, sidecar = _paths(key)
    weights.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(weights, model.save_weights)
    meta = {"key": key, "material": material, "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
            "shapes": [list(w.shape) for w in model.get_weights()],
            "history": {k: [float(v) for v in vals] for k, vals in history.items()}}
    _write_atomic(sidecar, lambda p: p.write_text(json.dumps(meta), encoding="utf-8"))
    return weights


def cached_fit(model, train, *, data, settings: dict, label: str = "", retrain: bool = False):
    """Call ``train()`` (which fits ``model`` and returns a Keras ``History``) unless the cache
    holds weights for the same key: then load them and return a ``History`` whose ``.history``
    is the stored one. ``data`` and ``settings`` are what the key adds to the model (see the
    module docstring). Off as :func:`enabled` says; ``retrain=True`` or
    ``AEHELPERS_RETRAIN=1`` trains again and overwrites. Introduced in the README (instant
    re-runs)."""
    if not callable(train):
        raise ValueError(f"train must be a function that fits the model; got {type(train).__name__}")
    if not enabled():
        return train()
    label = label or model.name
    try:
        key, material = training_key(model, data, settings)
    except _Uncacheable as exc:
        print(f"not caching {label}: {exc}")
        return train()
    retrain = retrain or os.environ.get("AEHELPERS_RETRAIN", "").strip().lower() in TRUE
    if not retrain:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)   # so its saved state loads too
        initial = [keras.ops.convert_to_numpy(v) for v in (*model.variables, *model.optimizer.variables)]
        try:
            stored = load(model, key, material)
        except Exception as exc:  # noqa: BLE001 - anything wrong with the entry: never trust it
            for v, value in zip((*model.variables, *model.optimizer.variables), initial):
                v.assign(value)
            stored = None
            print(f"the cached weights of {label} are unusable ({type(exc).__name__}: {exc}); training again")
        if stored is not None:
            print(f"loaded the trained weights of {label} from the cache ({_paths(key)[0]}); "
                  "set AEHELPERS_RETRAIN=1 or pass retrain=True to train again")
            history = keras.callbacks.History()
            history.history, history.epoch = stored, list(range(len(next(iter(stored.values()), []))))
            history.set_model(model)
            return history
    history = train()
    try:
        save(model, key, material, history.history)
    except OSError as exc:
        print(f"could not cache the weights of {label} ({exc}); the next run trains again")
    return history
