"""Checksum-verified loaders for MNIST, Fashion-MNIST and ECG5000.

Each loader takes the first source that works: ``data_dir=``, then ``$AEHELPERS_DATA_DIR`` (both laid
out as ``mnist/*.gz``, ``fashion-mnist/*.gz``, ``ecg5000/ecg.csv``), then the Keras cache
(``~/.keras/datasets``); then a download into that cache (from ``$AEHELPERS_MIRROR_URL`` if set); else a ``FileNotFoundError`` says where it
looked and how to get the data. A file whose SHA-256 is wrong gets a ``CorruptDataWarning``, never used.
"""

import gzip
import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from aehelpers._validation import sha256_file as _sha256

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

DATASETS = ("mnist", "fashion-mnist", "ecg5000")
_IDX = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
FILES = {"mnist": tuple(f"mnist/{n}" for n in _IDX), "fashion-mnist": tuple(f"fashion-mnist/{n}" for n in _IDX),
         "ecg5000": ("ecg5000/ecg.csv",)}
SHA256 = {
    "mnist/train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "mnist/train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "mnist/t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "mnist/t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "fashion-mnist/train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "fashion-mnist/train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "fashion-mnist/t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "ecg5000/ecg.csv": "72ce7b040ca0c6ed36c3368e570c6ac4ddf20100476e47373c63b2395e012df1",
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",  # Keras' packaging
}
KERAS_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
ECG_URL = "https://storage.googleapis.com/download.tensorflow.org/data/ecg.csv"
ENV_DATA_DIR, ENV_MIRROR = "AEHELPERS_DATA_DIR", "AEHELPERS_MIRROR_URL"
DOWNLOAD_TIMEOUT = 30  # seconds, per network operation
HOW_TO_GET = (f"To get the full data run `python -m aehelpers.course data fetch --all` (needs internet once), "
              f"or set {ENV_DATA_DIR} to a folder holding mnist/, fashion-mnist/, ecg5000/.")

class CorruptDataWarning(UserWarning):
    """A data file is present but its sha256 is wrong; it is ignored."""

class DataSource(NamedTuple):
    """Where a dataset was found (``kind``: "data_dir", "env" or "keras_cache"); ``files`` maps each
    checksum key (e.g. "mnist/t10k-labels-idx1-ubyte.gz") to its path."""
    dataset: str
    kind: str
    root: Path
    files: dict

    @property
    def paths(self) -> list[Path]:
        return list(self.files.values())

def _warn(message: str, category) -> None:
    frame, level = sys._getframe(1), 2          # point the warning at the first caller outside this module
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)

def _keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "datasets"

def _existing_dir(value, what: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"{what} is {str(value)!r}, which is not an existing directory. Point it at a folder "
                                "laid out as mnist/*.gz, fashion-mnist/*.gz, ecg5000/ecg.csv, or leave it unset.")
    return path

def _candidates(name: str, data_dir=None) -> tuple[list[DataSource], list[str]]:
    """The local sources to try for ``name``, in order, and notes on the places skipped."""
    def layout(kind, root):
        return DataSource(name, kind, root, {key: root / key for key in FILES[name]})

    cands, notes, cache = [], [], _keras_cache()
    if data_dir is not None:
        cands.append(layout("data_dir", _existing_dir(data_dir, "data_dir")))
    env = os.environ.get(ENV_DATA_DIR, "").strip()
    if env:
        cands.append(layout("env", _existing_dir(env, f"${ENV_DATA_DIR}")))
    else:
        notes.append(f"${ENV_DATA_DIR} not set")
    if name == "mnist":
        cands.append(DataSource(name, "keras_cache", cache, {"mnist.npz": cache / "mnist.npz"}))
    cands.append(layout("keras_cache", cache))
    if name == "ecg5000":
        cands.append(DataSource(name, "keras_cache", cache, {"ecg5000/ecg.csv": cache / "ecg.csv"}))
    return cands, notes

def _problem(src: DataSource, warn: bool = True) -> str | None:
    """None if every file of ``src`` exists and is genuine, else a short reason."""
    missing = [p.name for p in src.paths if not p.is_file()]
    if missing:
        return "not there" if len(missing) == len(src.files) else "missing " + ", ".join(missing)
    bad = [(key, path, actual) for key, path in src.files.items() if (actual := _sha256(path)) != SHA256[key]]
    for key, path, actual in bad if warn else ():
        _warn(f"{path} is corrupt: expected sha256 {SHA256[key]}, got {actual}. It is not used. Delete it and "
              "re-fetch (python -m aehelpers.course data fetch --all).", CorruptDataWarning)
    return f"sha256 mismatch in {', '.join(p.name for _, p, _ in bad)}" if bad else None

def _find_local(name: str, data_dir=None, warn: bool = True) -> tuple[DataSource | None, list[str]]:
    cands, reasons = _candidates(name, data_dir)
    for src in cands:
        problem = _problem(src, warn)
        if problem is None:
            return src, reasons
        reasons.append(f"{src.kind} {src.paths[0] if len(src.paths) == 1 else src.paths[0].parent}: {problem}")
    return None, reasons

def _download(key: str, url: str, target: Path) -> str | None:
    """Download ``url`` to ``target.part`` (one progress line), check its sha256 and rename it into
    place; None on success, else the reason."""
    part = target.with_name(target.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as resp, open(part, "wb") as out:
            length = resp.headers.get("Content-Length", "")
            total, done, digest = (int(length) if length.isdigit() else None), 0, hashlib.sha256()
            while chunk := resp.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                sys.stdout.write(f"\rDownloading {key}  {done / 1e6:.1f} MB" + (f"  {100 * done // total:3d}%" if total else ""))
            sys.stdout.write("\n")
        if total is not None and done < total:
            raise http.client.IncompleteRead(b"", total - done)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        part.unlink(missing_ok=True)
        if isinstance(exc, urllib.error.HTTPError):
            exc.close()
        if isinstance(exc, http.client.IncompleteRead):
            exc = f"truncated response ({exc.expected} bytes missing)"
        print(f"Download failed: {url}: {exc}")
        return f"download {url} failed ({exc})"
    except BaseException:  # Ctrl-C: leave no half-written .part behind
        part.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != SHA256[key]:
        part.unlink(missing_ok=True)
        _warn(f"Downloaded {url} but its sha256 is {digest.hexdigest()}, expected {SHA256[key]}; the file was "
              f"discarded (not used). Check ${ENV_MIRROR} or try again later.", CorruptDataWarning)
        return f"download {url}: sha256 mismatch"
    os.replace(part, target)
    return None

def _download_dataset(name: str, force: bool = False) -> tuple[DataSource | None, str | None]:
    """Download the missing files of ``name`` into the Keras cache: (source, None) or (None, reason)."""
    cache, mirror = _keras_cache(), os.environ.get(ENV_MIRROR, "").strip().rstrip("/")
    if mirror:
        plan = [(key, f"{mirror}/{key}", cache / key) for key in FILES[name]]
    elif name == "mnist":
        plan = [("mnist.npz", KERAS_BASE_URL + "mnist.npz", cache / "mnist.npz")]
    elif name == "ecg5000":
        plan = [("ecg5000/ecg.csv", ECG_URL, cache / "ecg5000" / "ecg.csv")]
    else:
        plan = [(key, KERAS_BASE_URL + Path(key).name, cache / key) for key in FILES[name]]
    for key, url, target in plan:
        if force or not (target.is_file() and _sha256(target) == SHA256[key]):
            if reason := _download(key, url, target):
                return None, reason
    return DataSource(name, "keras_cache", cache, {k: t for k, _, t in plan}), None

def _resolve(name: str, data_dir, download: bool) -> tuple[DataSource | None, list[str]]:
    src, reasons = _find_local(name, data_dir)
    if src is None:
        src, reason = _download_dataset(name) if download else (None, "download=False")
        reasons.append(reason or "")
    return src, [r for r in reasons if r]

def _read_idx(path: Path) -> np.ndarray:
    """Parse a gzipped idx file (its checksum was verified, so it is genuine) into a uint8 array."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]                                   # the magic number's last byte: 3 images, 1 labels
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape).copy()

def _not_found(name: str, title: str, data_dir, reasons: list[str]):
    places = [str(p) for c in _candidates(name, data_dir)[0] for p in c.paths]
    return FileNotFoundError(f"{title} not found: no genuine copy in {', '.join(places)} ({'; '.join(reasons)}). {HOW_TO_GET}")

def _load_images(name: str, title: str, data_dir, download: bool, as_float: bool):
    src, reasons = _resolve(name, data_dir, download)
    if src is None:
        raise _not_found(name, title, data_dir, reasons)
    if "mnist.npz" in src.files:
        with np.load(src.files["mnist.npz"], allow_pickle=False) as npz:
            x_train, y_train, x_test, y_test = (npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    else:
        x_train, y_train, x_test, y_test = (_read_idx(p) for p in src.paths)
    if as_float:
        x_train, x_test = (x.astype(np.float32) / np.float32(255) for x in (x_train, x_test))
    return (x_train, y_train.astype(np.uint8)), (x_test, y_test.astype(np.uint8))

def load_mnist(data_dir=None, *, download=True, as_float=True):
    """Return MNIST as ``(x_train, y_train), (x_test, y_test)``: x (60000|10000, 28, 28) float32 in [0, 1]
    (uint8 with ``as_float=False``), y uint8 digits. Introduced in notebook 03."""
    return _load_images("mnist", "MNIST", data_dir, download, as_float)

def load_fashion_mnist(data_dir=None, *, download=True, as_float=True):
    """Return Fashion-MNIST like :func:`load_mnist`; y indexes ``FASHION_MNIST_CLASSES``. Introduced in notebook 01."""
    return _load_images("fashion-mnist", "Fashion-MNIST", data_dir, download, as_float)

def load_ecg5000(data_dir=None, *, download=True):
    """Return ECG5000 unsplit as ``(x, y)``: x float32 (4998, 140) heartbeats, y int64, 1 = normal,
    0 = abnormal. Introduced in notebook 04."""
    src, reasons = _resolve("ecg5000", data_dir, download)
    if src is None:
        raise _not_found("ecg5000", "ECG5000 (ecg.csv)", data_dir, reasons)
    data = np.loadtxt(src.paths[0], delimiter=",", dtype=np.float64, ndmin=2)   # checksum-verified: 141 columns
    return data[:, :-1].astype(np.float32), data[:, -1].astype(np.int64)
