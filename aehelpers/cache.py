"""Instant re-runs: trained weights cached on disk, keyed by everything that decides them.

:func:`aehelpers.training.fit` and :func:`aehelpers.training.fit_side_by_side` train through
:func:`cached_fit`. Outside CI and the test suite, the first run saves the trained weights (one
Keras ``.weights.h5``, optimizer state included) and a JSON sidecar (the key material, the
weights file's SHA-256 and the training history) in the user cache; the next run with the same
key loads them instead of training and prints that it did.

The key is a SHA-256 over a canonical JSON of: the model's architecture (its config with every
layer and model name replaced by its order of appearance, since Keras numbers auto-named layers
by how many were built before: ``dense_3``); the code of its non-Keras classes and of Python
functions it uses (bytecode, constants, defaults, closure values); the compile config
(optimizer and its schedule, loss, metrics, ``steps_per_execution``, ``jit_compile``); hashes of
the model's INITIAL variables (weights and random-seed states) and optimizer state, so a model
trained before the call gets another key; the global random seed (which decides the shuffling);
the data (bytes, shapes and dtypes of x, y and the validation data); the ``fit`` arguments
(epochs, batch size, steps, ...); and the Keras version and backend. A ``fit`` argument the key
cannot describe (a callback, a ``tf.data.Dataset``) trains without the cache, with a notice.

Settings (environment variables): ``AEHELPERS_CACHE_DIR`` (default
``~/.cache/aehelpers/weights``); ``AEHELPERS_RETRAIN=1`` trains again and overwrites;
``AEHELPERS_NO_CACHE=1`` turns the cache off (``python -m aehelpers.course run`` sets it). It is
always off when ``CI`` is true, and under pytest unless ``AEHELPERS_CACHE=force-on`` (for the
cache's own tests). A corrupt file or a key that does not match is never loaded: the model
trains and the entry is overwritten.

Command line: ``python -m aehelpers.cache info`` (folder, entries, size) and
``python -m aehelpers.cache clear`` (delete the entries). Introduced in the README (instant re-runs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

FORMAT = 2                      # bump when the key or the stored files change meaning
TRUE = {"1", "true", "yes", "on"}
ENTRY = re.compile(r"^(\.tmp-\d+-)?[0-9a-f]{64}\.(weights\.h5|json)$")   # the cache's files (and stale temporaries)


def cache_dir() -> Path:
    """The folder of the weights cache: ``$AEHELPERS_CACHE_DIR``, else ``~/.cache/aehelpers/weights``.
    Introduced in the README (instant re-runs)."""
    env = os.environ.get("AEHELPERS_CACHE_DIR", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "aehelpers" / "weights"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in TRUE


def enabled() -> bool:
    """True if training may load and save cached weights: not when ``AEHELPERS_NO_CACHE=1``,
    not when ``CI`` is true, and not under pytest unless ``AEHELPERS_CACHE=force-on``.
    Introduced in the README (instant re-runs)."""
    if _flag("AEHELPERS_NO_CACHE") or _flag("CI"):
        return False
    return "PYTEST_CURRENT_TEST" not in os.environ or os.environ.get("AEHELPERS_CACHE") == "force-on"


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def _code(fn) -> str:
    """A hash of a function's bytecode, constants, names, defaults, closure values and the
    simple globals it reads (a nested function's or a closed-over function's code included)."""
    code, parts = fn.__code__, []

    def value(v):
        return _code(v) if hasattr(v, "__code__") else repr(v) if isinstance(v, (int, float, str, bool, tuple, type(None))) \
            else type(v).__qualname__

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
    parts += [value(v) for v in (*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).values())]
    parts += [value(cell.cell_contents) for cell in (fn.__closure__ or ()) if cell.cell_contents is not fn]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _class_code(cls) -> dict:
    """Hashes of the methods a class defines outside Keras (a notebook's own layers and models)."""
    return {f"{k.__qualname__}.{name}": _code(f) for k in cls.__mro__
            if not k.__module__.startswith(("keras", "builtins"))
            for name, f in sorted(vars(k).items()) if hasattr(f, "__code__")}


def _canon(value):
    """``value`` as plain JSON: arrays become hashes, functions their code hash."""
    import keras

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
    raise ValueError(f"the cache key cannot describe a {type(value).__name__}")


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
    layers = list(model._flatten_layers(include_self=True))
    try:
        config = model.get_config()
    except NotImplementedError:  # a subclassed model without get_config: its layers' configs
        config = [[type(layer).__qualname__, layer.get_config()] for layer in layers[1:]]
    names = {op.name for layer in layers for op in [layer, *getattr(layer, "operations", ())]}   # keras.ops nodes too
    return {"config": _renamed(_canon(config), names),
            "class": type(model).__qualname__,
            "code": {k: v for layer in layers for k, v in _class_code(type(layer)).items()}}


def _global_seed():
    """The seed last given to ``keras.utils.set_random_seed`` (``utils.set_seed`` calls it):
    it decides the shuffling. Read from Keras' global state, else from :mod:`aehelpers.utils`."""
    try:
        from keras.src.utils.rng_utils import get_random_seed
        return get_random_seed()
    except ImportError:  # pragma: no cover - another Keras layout
        from aehelpers import utils
        return utils.LAST_SEED


def training_key(model, data, settings: dict) -> tuple[str, dict]:
    """Return ``(sha256 hex digest, key material)`` for training the compiled ``model`` on
    ``data`` (arrays, lists of arrays or None) with the ``fit`` arguments ``settings``.
    Introduced in the README (instant re-runs)."""
    import keras

    if not isinstance(model, keras.Model) or getattr(model, "optimizer", None) is None:
        raise ValueError(f"model must be a compiled keras.Model; got {type(model).__name__}")
    material = {
        "format": FORMAT, "keras": keras.__version__, "backend": keras.backend.backend(),
        "architecture": _architecture(model),
        "compile": _renamed(_canon(model.get_compile_config()), {model.optimizer.name}),
        "loss_code": _canon(model.loss) if callable(model.loss) else None,
        "initial_variables": _digest(*(keras.ops.convert_to_numpy(v) for v in model.variables)),
        "optimizer_state": _digest(*(keras.ops.convert_to_numpy(v) for v in model.optimizer.variables)),
        "seed": _global_seed(),
        "data": _canon(data),
        "settings": _canon(settings),
    }
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest(), json.loads(blob)


def _paths(key: str) -> tuple[Path, Path]:
    return cache_dir() / f"{key}.weights.h5", cache_dir() / f"{key}.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(model, key: str, material: dict) -> dict | None:
    """Load the cached weights of ``key`` into ``model``; return the stored sidecar
    (``history``, ``params``), or None if there is no entry. Raises if the entry is corrupt or
    its key material differs. Introduced in the README (instant re-runs)."""
    weights, sidecar = _paths(key)
    if not sidecar.exists():
        return None
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    if meta["key"] != key or meta["material"] != material:
        raise ValueError("the sidecar's key material differs from this run's")
    if meta["weights_sha256"] != _sha256(weights):
        raise ValueError("the weights file does not match its recorded hash")
    model.load_weights(weights)
    return meta


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")   # same folder (os.replace is atomic), same suffix (Keras wants it)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save(model, key: str, material: dict, history) -> Path:
    """Store ``model``'s weights (and optimizer state), then a JSON sidecar with the key
    material, the weights file's hash and the Keras ``History``'s ``history`` and ``params``;
    each written to a temporary file and renamed into place (the sidecar last: an entry without
    it is never read). Returns the weights path. Introduced in the README (instant re-runs)."""
    weights, sidecar = _paths(key)
    weights.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(weights, model.save_weights)
    meta = {"key": key, "material": material, "weights_sha256": _sha256(weights),
            "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
            "params": {k: v for k, v in (history.params or {}).items() if isinstance(v, (int, float, str, type(None)))}}
    _write_atomic(sidecar, lambda p: p.write_text(json.dumps(meta), encoding="utf-8"))
    return weights


def cached_fit(model, train, *, data, settings: dict, label: str = "", retrain: bool = False):
    """Call ``train()`` (which fits the compiled ``model`` and returns its Keras ``History``)
    unless the cache holds weights for the same key: then load them and return a ``History``
    with the stored ``history``, ``epoch`` and ``params``. ``data`` and ``settings`` are what
    the key adds to the model (see the module docstring). Off as :func:`enabled` says;
    ``retrain=True`` or ``AEHELPERS_RETRAIN=1`` trains again and overwrites.
    Introduced in the README (instant re-runs)."""
    import keras

    if not enabled():
        return train()
    label = label or model.name
    try:
        key, material = training_key(model, data, settings)
    except Exception as exc:  # noqa: BLE001 - e.g. a callback the key cannot describe: train, uncached
        print(f"not caching {label}: {exc}")
        return train()
    if not (retrain or _flag("AEHELPERS_RETRAIN")):
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)   # so its saved state loads too
        state = [*model.variables, *model.optimizer.variables]
        initial = [keras.ops.convert_to_numpy(v) for v in state]
        try:
            stored = load(model, key, material)
        except Exception as exc:  # noqa: BLE001 - anything wrong with the entry: never trust it
            for v, value in zip(state, initial):
                v.assign(value)
            stored = None
            print(f"the cached weights of {label} are unusable ({type(exc).__name__}: {exc}); training again")
        if stored is not None:
            print(f"loaded the trained weights of {label} from the cache ({_paths(key)[0]}); "
                  "set AEHELPERS_RETRAIN=1 or pass retrain=True to train again", flush=True)
            history = keras.callbacks.History()
            history.set_model(model)
            history.set_params(stored["params"])
            history.history = stored["history"]
            history.epoch = list(range(len(next(iter(history.history.values()), []))))
            return history
    history = train()
    try:
        save(model, key, material, history)
    except OSError as exc:
        print(f"could not cache the weights of {label} ({exc}); the next run trains again")
    return history


def _files() -> list[Path]:
    folder = cache_dir()
    return sorted(p for p in folder.iterdir() if p.is_file() and ENTRY.match(p.name)) if folder.is_dir() else []


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e5 else f"{n_bytes / 1e3:.1f} kB"


def info() -> dict:
    """Return ``{"folder", "entries", "bytes"}`` of the weights cache (an entry is one trained
    model: a weights file and its sidecar). Introduced in the README (instant re-runs)."""
    files = _files()
    return {"folder": cache_dir(), "entries": sum(p.name.endswith(".json") and not p.name.startswith(".") for p in files),
            "bytes": sum(p.stat().st_size for p in files)}


def clear() -> dict:
    """Delete every entry of the weights cache (only the cache's own files, so a shared
    ``AEHELPERS_CACHE_DIR`` keeps everything else); return what :func:`info` said before.
    Introduced in the README (instant re-runs)."""
    before = info()
    for path in _files():
        path.unlink(missing_ok=True)
    return before


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``info`` / ``clear`` subcommand to ``parser`` (for ``python -m aehelpers.cache``
    and a course command). Introduced in the README (instant re-runs)."""
    parser.add_argument("action", choices=("info", "clear"),
                        help="info: the cache folder, its entries and size; clear: delete the entries")


def run(args: argparse.Namespace) -> int:
    """Do what the parsed ``args`` say (see :func:`add_arguments`), print it and return 0.
    Introduced in the README (instant re-runs)."""
    if args.action == "info":
        found = info()
        print(f"weights cache: {found['folder']}\n{found['entries']} entries, {_size(found['bytes'])}"
              + ("" if enabled() else "\n(the cache is off here: CI, AEHELPERS_NO_CACHE or pytest)"))
    else:
        freed = clear()
        print(f"deleted {freed['entries']} entries from {freed['folder']}, freed {_size(freed['bytes'])}")
    return 0


def main(argv=None) -> int:
    """``python -m aehelpers.cache info|clear``; return the exit code. Introduced in the README (instant re-runs)."""
    parser = argparse.ArgumentParser(prog="python -m aehelpers.cache", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
