"""Instant re-runs: what ``training.fit`` trained, cached on disk under a key of everything that decides it.

The key hashes the model's config (auto-numbered names replaced by their order, so a second *Run all* in
one kernel matches), the code of its non-Keras layers and Python loss, its compile config, initial
variables and optimizer state, the global random states, the data, the ``fit`` arguments, Keras' version
and backend. An entry is ``KEY.npz`` (variables) + ``KEY.json`` (key, the npz's SHA-256, history), written
atomically; an entry that does not match is never loaded. Off in CI, under pytest, in the course runner
and with ``AEHELPERS_NO_CACHE=1``; ``AEHELPERS_RETRAIN=1`` retrains. Folder: ``$AEHELPERS_CACHE_DIR`` or
``~/.cache/aehelpers/weights``.
"""

import hashlib
import json
import os
import random
import re
import sys
from pathlib import Path

import numpy as np

from aehelpers._validation import sha256_file, walk_layers

FORMAT = 3
_ON = {"1", "true", "yes", "on"}

def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _ON

def cache_dir() -> Path:
    return Path(os.environ.get("AEHELPERS_CACHE_DIR", "").strip() or "~/.cache/aehelpers/weights").expanduser()

def enabled() -> bool:
    forced = os.environ.get("AEHELPERS_CACHE", "") == "force-on"      # the cache's own tests
    return not (_flag("AEHELPERS_NO_CACHE") or _flag("CI")) and (forced or "pytest" not in sys.modules)

def _code(obj, h, seen: set) -> None:
    """Feed the bytecode, constants, defaults and closure values of a function (or of every
    method of a class) into the hash ``h``."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, type):
        for value in vars(obj).values():
            if callable(value) or isinstance(value, (staticmethod, classmethod)):
                _code(getattr(value, "__func__", value), h, seen)
        return
    code = getattr(obj, "__code__", None)
    if code is None:      # a plain value is keyed by its repr; an object (e.g. a model) by its type
        simple = isinstance(obj, (int, float, str, bytes, bool, type(None), tuple))
        h.update((repr(obj) if simple else type(obj).__qualname__).encode())
        return
    stack = [code]
    while stack:
        c = stack.pop()
        h.update(c.co_code + repr(c.co_names).encode())
        for const in c.co_consts:
            stack.append(const) if hasattr(const, "co_code") else h.update(repr(const).encode())
    for value in [*(obj.__defaults__ or ()), *(cell.cell_contents for cell in obj.__closure__ or ())]:
        _arrays(h, [value]) if isinstance(value, np.ndarray) else _code(value, h, seen)

def _arrays(h, arrays) -> None:
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.view(np.uint8).reshape(-1).data if a.size else b"")

def key(model, data, settings: dict) -> str:
    """Return the cache key of training ``model`` (compiled, untrained state) on ``data``
    (arrays or None) with the ``fit`` arguments ``settings``; ValueError if it cannot be keyed."""
    import keras

    if settings.get("callbacks"):
        raise ValueError("a fit with callbacks is not cached")
    h = hashlib.sha256(f"{FORMAT} {keras.__version__} {keras.backend.backend()} {random.getstate()}".encode())
    _arrays(h, [np.random.get_state()[1]])      # the global seeds set_seed sets, and what was drawn since
    config = re.sub(r" at 0x[0-9a-f]+", "", json.dumps([model.get_config(), model.get_compile_config()],
                                                      sort_keys=True, default=repr))
    order = {n: i for i, n in enumerate(dict.fromkeys(re.findall(r'"name": "([^"]*)"', config)))}
    h.update(re.sub(r'"([^"]*)"', lambda m: f'"#{order[m.group(1)]}"' if m.group(1) in order else m.group(0),
                    config).encode())
    seen: set = set()
    for obj in [type(layer) for layer in walk_layers(model) if not type(layer).__module__.startswith("keras")] + [model.loss]:
        _code(obj, h, seen)
    _arrays(h, [keras.ops.convert_to_numpy(v) for v in _state(model)])
    _arrays(h, [np.asarray(a) for a in data if a is not None])
    h.update(repr(sorted(settings.items())).encode())
    return h.hexdigest()

def _state(model) -> list:
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)      # so its state is saved and restored too
    return [*model.variables, *model.optimizer.variables]

def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

def cached_fit(model, train, *, data, settings: dict, label: str, retrain: bool = False):
    """Return ``train()`` (the Keras History of fitting ``model``), or, when the cache holds an
    intact entry for the same key, load the trained variables and return the stored History."""
    import keras

    if not enabled():
        return train()
    try:
        k = key(model, data, settings)
    except ValueError as exc:
        print(f"not caching {label}: {exc}")
        return train()
    folder = cache_dir()
    arrays_path, meta_path = folder / f"{k}.npz", folder / f"{k}.json"
    state = _state(model)
    if meta_path.is_file() and not (retrain or _flag("AEHELPERS_RETRAIN")):
        initial = [keras.ops.convert_to_numpy(v) for v in state]
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta["key"] != k or meta["sha256"] != sha256_file(arrays_path):
                raise ValueError("the entry does not match its key or checksum")
            with np.load(arrays_path) as stored:
                values = [stored[f"v{i}"] for i in range(len(stored.files))]
            if [v.shape for v in values] != [tuple(v.shape) for v in state]:
                raise ValueError("stored variables do not fit the model")
            for variable, value in zip(state, values):
                variable.assign(value)
            print(f"loaded the trained weights of {label} from the cache ({arrays_path}); "
                  "set AEHELPERS_RETRAIN=1 or pass retrain=True to train again", flush=True)
            history = keras.callbacks.History()
            history.set_model(model)
            history.set_params(meta["params"])
            history.history, history.epoch = meta["history"], list(range(len(next(iter(meta["history"].values()), []))))
            return history
        except Exception as exc:  # noqa: BLE001 - anything wrong with an entry: never trust it
            for variable, value in zip(state, initial):
                variable.assign(value)
            print(f"the cached weights of {label} are unusable ({type(exc).__name__}: {exc}); training again")
    history = train()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        values = {f"v{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(_state(model))}
        _atomic(arrays_path, lambda p: np.savez(p, **values))   # p ends in .npz
        meta = {"key": k, "sha256": sha256_file(arrays_path),
                "history": {name: [float(x) for x in xs] for name, xs in history.history.items()},
                "params": {n: v for n, v in (history.params or {}).items() if isinstance(v, (int, float, str, type(None)))}}
        _atomic(meta_path, lambda p: p.write_text(json.dumps(meta), encoding="utf-8"))
    except OSError as exc:
        print(f"could not cache the weights of {label} ({exc}); the next run trains again")
    return history
