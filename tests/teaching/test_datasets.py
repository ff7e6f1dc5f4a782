"""Tests for the loaders of aehelpers.datasets: resolution order, checksums, fallback, bad input.

Every test controls the environment (the ``data`` fixture of tests/conftest.py): no
AEHELPERS_DATA_DIR or mirror, KERAS_HOME in a fresh tmp folder, no Debian path; small synthetic
idx/csv files are written to tmp_path and ``SHA256`` is patched to their hashes. (The fetch/verify
command line is the tooling's: tests/course/test_data.py.)
"""

from __future__ import annotations

import gzip
import socket
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from aehelpers import datasets as ds

GENUINE = Path(__file__).resolve().parents[3] / "shared" / "datasets"
needs_genuine = pytest.mark.skipif(not GENUINE.is_dir(), reason=f"genuine datasets not found at {GENUINE}")
N_TRAIN, N_TEST = 12, 5
pytestmark = pytest.mark.usefixtures("data")       # every test starts from a clean data environment


def locate(name, data_dir=None):
    """The verified local source a loader would use (what ``python -m aehelpers.course data`` reports)."""
    return ds._find_local(name, data_dir)[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- resolution order
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_data_dir_beats_env_beats_keras_cache(name, tmp_path, data, monkeypatch):
    files = {}
    for root in (tmp_path / "arg", tmp_path / "env", data.cache):
        files = data.idx_dataset(root / name, name)
    data.patch_hashes(files)  # identical content everywhere, so one hash each
    monkeypatch.setenv(ds.ENV_DATA_DIR, str(tmp_path / "env"))

    assert locate(name, data_dir=tmp_path / "arg").kind == "data_dir"
    assert locate(name).kind == "env"
    monkeypatch.delenv(ds.ENV_DATA_DIR)
    src = locate(name)
    assert src.kind == "keras_cache" and src.paths[0].parent == data.cache / name


def test_loader_reads_the_resolved_source(tmp_path, data, monkeypatch):
    for root in (tmp_path / "arg", data.cache):
        files = data.idx_dataset(root / "fashion-mnist", "fashion-mnist")
    data.patch_hashes(files)
    reads = []
    original = ds._read_idx
    monkeypatch.setattr(ds, "_read_idx", lambda p: reads.append(p) or original(p))

    (x_train, y_train), (x_test, y_test) = ds.load_fashion_mnist(tmp_path / "arg", download=False)
    assert {p.parent for p in reads} == {tmp_path / "arg" / "fashion-mnist"}
    assert x_train.shape == (N_TRAIN, 28, 28) and x_test.shape == (N_TEST, 28, 28)
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() <= 1
    assert y_train.dtype == np.uint8 and list(y_test) == [0, 1, 2, 3, 4]

    reads.clear()
    (raw, _), _ = ds.load_fashion_mnist(download=False, as_float=False)  # no data_dir: data.cache
    assert {p.parent for p in reads} == {data.cache / "fashion-mnist"}
    assert raw.dtype == np.uint8 and raw.flags.writeable and np.allclose(raw / 255, x_train)


def test_keras_mnist_npz_in_cache(data, monkeypatch):
    data.cache.mkdir(parents=True)
    rng = np.random.default_rng(3)
    np.savez(data.cache / "mnist.npz", x_train=rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
             y_train=np.arange(7, dtype=np.uint8), x_test=np.zeros((3, 28, 28), np.uint8),
             y_test=np.arange(3, dtype=np.uint8))
    monkeypatch.setitem(ds.SHA256, "mnist.npz", data.sha(data.cache / "mnist.npz"))
    assert locate("mnist").files == {"mnist.npz": data.cache / "mnist.npz"}
    (x_train, y_train), (x_test, _) = ds.load_mnist(download=False)
    assert x_train.shape == (7, 28, 28) and x_test.shape == (3, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.uint8


# ---------------------------------------------------------------------------- checksums
def test_corrupt_file_in_first_source_warns_and_next_is_used(tmp_path, data, monkeypatch):
    for root in (tmp_path / "arg", data.cache):
        files = data.idx_dataset(root / "mnist", "mnist")
    data.patch_hashes(files)
    bad = tmp_path / "arg" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    data.write_idx(bad, np.arange(N_TEST) % 3)  # valid idx, wrong content

    with pytest.warns(ds.CorruptDataWarning) as record:
        src = locate("mnist", data_dir=tmp_path / "arg")
    assert src.kind == "keras_cache"
    message = str(record[0].message)
    assert str(bad) in message and ds.SHA256["mnist/t10k-labels-idx1-ubyte.gz"] in message
    assert data.sha(bad) in message and "Delete it" in message

    with pytest.warns(ds.CorruptDataWarning):
        _, (_, y_test) = ds.load_mnist(tmp_path / "arg", download=False)
    assert list(y_test) == [0, 1, 2, 3, 4]  # the genuine copy, not the corrupt one


def test_corrupt_everywhere_without_download_raises(tmp_path, data, monkeypatch):
    files = data.idx_dataset(data.cache / "fashion-mnist", "fashion-mnist")
    data.patch_hashes(files)
    monkeypatch.setitem(ds.SHA256, "fashion-mnist/train-images-idx3-ubyte.gz", "0" * 64)
    with pytest.warns(ds.CorruptDataWarning), pytest.raises(FileNotFoundError, match="sha256 mismatch"):
        ds.load_fashion_mnist(download=False)


# ---------------------------------------------------------------------------- no data: a clear error
@pytest.mark.parametrize("load, title", [(ds.load_mnist, "MNIST"), (ds.load_fashion_mnist, "Fashion-MNIST")])
def test_missing_data_raises_with_places_and_guidance(load, title, data):
    with pytest.raises(FileNotFoundError) as info:
        load(download=False)
    message = str(info.value)
    assert message.startswith(f"{title} not found") and "download=False" in message
    assert "fetch --all" in message and "AEHELPERS_DATA_DIR" in message and str(data.cache) in message


def test_unreachable_mirror_raises_and_leaves_no_part_file(monkeypatch, capsys, data):
    monkeypatch.setenv(ds.ENV_MIRROR, f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(FileNotFoundError, match="download http://127.0.0.1"):
        ds.load_fashion_mnist()
    assert "Download failed" in capsys.readouterr().out
    assert not list(data.cache.rglob("*.part"))


# ---------------------------------------------------------------------------- ECG5000
def test_ecg_missing_raises_with_places_and_url(data):
    with pytest.raises(FileNotFoundError) as info:
        ds.load_ecg5000(download=False)
    message = str(info.value)
    assert "ecg.csv" in message and "fetch --all" in message and str(data.cache / "ecg.csv") in message


@pytest.mark.parametrize("where", ["ecg5000/ecg.csv", "ecg.csv"])
def test_ecg_synthetic_csv_loads(where, data, monkeypatch):
    path = data.ecg(data.cache / where)
    monkeypatch.setitem(ds.SHA256, "ecg5000/ecg.csv", data.sha(path))
    x, y = ds.load_ecg5000(download=False)
    assert x.shape == (6, 140) and x.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 0, 1, 0, 1]
    assert (locate("ecg5000") is not None)


# ---------------------------------------------------------------------------- bad input
def test_missing_data_dir_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_dir .* not an existing directory"):
        ds.load_mnist(data_dir=tmp_path / "nope")


def test_env_pointing_to_missing_dir_raises(tmp_path, monkeypatch):
    monkeypatch.setenv(ds.ENV_DATA_DIR, str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="AEHELPERS_DATA_DIR"):
        ds.load_ecg5000(download=False)


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

