"""Tests for the download path of aehelpers.datasets, against a local HTTP server.

The ``mirror`` fixture (tests/conftest.py) serves a tmp folder in the mirror layout (mnist/,
fashion-mnist/, ecg5000/) of small synthetic files from a threaded ``http.server`` on 127.0.0.1,
with ``AEHELPERS_MIRROR_URL`` pointing at it and ``SHA256`` patched to the files' hashes; it can
also send a truncated response or a 404 for chosen files. Nothing here touches the network beyond
127.0.0.1. (``fetch --all`` from a shell is the tooling's: tests/course/test_data.py.)
"""

from __future__ import annotations

import hashlib
import urllib.error
import warnings

import numpy as np
import pytest

from aehelpers import datasets as ds

FASHION_TRAIN_IMAGES = "fashion-mnist/train-images-idx3-ubyte.gz"


def load_recording(load, **kwargs):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        data = load(**kwargs)
    return data, [w.category for w in record], record


def test_download_lands_in_keras_cache(mirror, data, capsys):
    ((x_train, y_train), (x_test, _)), kinds, _ = load_recording(ds.load_fashion_mnist)
    assert kinds == []
    assert x_train.shape == (9, 28, 28) and x_test.shape == (4, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.uint8
    out = capsys.readouterr().out
    assert f"Downloading {FASHION_TRAIN_IMAGES}" in out and "100%" in out and "\r" in out
    assert out.endswith("\n")
    for key in ds.FILES["fashion-mnist"]:
        assert hashlib.sha256((data.cache / key).read_bytes()).hexdigest() == ds.SHA256[key]
    assert not list(data.cache.rglob("*.part"))
    assert sorted(mirror.requests) == sorted(ds.FILES["fashion-mnist"])
    assert ds._find_local("fashion-mnist")[0].kind == "keras_cache"


def test_second_load_uses_cache_without_server(mirror, capsys):
    ds.load_mnist()
    assert len(mirror.requests) == 4
    ds.load_mnist()
    assert len(mirror.requests) == 4
    assert capsys.readouterr().out.count("Downloading mnist/train-images") == 1


def test_ecg_download_via_mirror(mirror, data):
    x, y = ds.load_ecg5000()
    assert x.shape == (4, 140) and x.dtype == np.float32 and y.tolist() == [1, 0, 1, 1]
    assert (data.cache / "ecg5000" / "ecg.csv").is_file()


def test_wrong_content_is_rejected_and_not_kept(mirror, data):
    data.write_idx(mirror.root / FASHION_TRAIN_IMAGES, np.zeros((9, 28, 28)))  # hash no longer matches
    with pytest.warns(ds.CorruptDataWarning) as record, pytest.raises(FileNotFoundError, match="sha256 mismatch"):
        ds.load_fashion_mnist()
    corrupt = str(record[0].message)
    assert FASHION_TRAIN_IMAGES in corrupt and ds.SHA256[FASHION_TRAIN_IMAGES] in corrupt
    assert not (data.cache / FASHION_TRAIN_IMAGES).exists() and not list(data.cache.rglob("*.part"))


def test_truncated_download_is_reported_and_removed(mirror, data, capsys):
    mirror.truncated.add(FASHION_TRAIN_IMAGES)
    with pytest.raises(FileNotFoundError, match="truncated"):
        ds.load_fashion_mnist()
    assert "truncated" in capsys.readouterr().out
    assert not (data.cache / FASHION_TRAIN_IMAGES).exists() and not list(data.cache.rglob("*.part"))


def test_http_404_is_reported(mirror, data, capsys):
    mirror.missing.add("mnist/t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="404"):
        ds.load_mnist()
    assert "404" in capsys.readouterr().out
    assert not (data.cache / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list(data.cache.rglob("*.part"))


def test_ecg_404_raises_file_not_found(mirror):
    mirror.missing.add("ecg5000/ecg.csv")
    with pytest.raises(FileNotFoundError, match="404"):
        ds.load_ecg5000()


def test_corrupt_cache_file_is_replaced_by_a_fresh_download(mirror, data):
    for key in ds.FILES["mnist"]:
        (data.cache / key).parent.mkdir(parents=True, exist_ok=True)
        (data.cache / key).write_bytes((mirror.root / key).read_bytes())
    data.write_idx(data.cache / "mnist" / "train-labels-idx1-ubyte.gz", np.zeros(9))
    with pytest.warns(ds.CorruptDataWarning, match="train-labels-idx1-ubyte.gz"):
        (_, y_train), _ = ds.load_mnist()
    assert y_train.tolist() == list(range(9))
    assert mirror.requests == ["mnist/train-labels-idx1-ubyte.gz"]  # only the bad one re-fetched


def test_canonical_urls_without_mirror(monkeypatch, data):
    urls = []

    def offline(url, timeout):
        urls.append(url)
        assert timeout == ds.DOWNLOAD_TIMEOUT
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setattr(ds.urllib.request, "urlopen", offline)
    for load in (ds.load_mnist, ds.load_fashion_mnist, ds.load_ecg5000):
        with pytest.raises(FileNotFoundError, match="offline"):
            load()
    assert urls == ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
                    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
                    "train-images-idx3-ubyte.gz",
                    "https://storage.googleapis.com/download.tensorflow.org/data/ecg.csv"]
    targets = []
    monkeypatch.setattr(ds, "_download", lambda key, url, target: targets.append(target) or "offline (test)")
    for name in ("ecg5000", "mnist"):
        ds._download_dataset(name)
    assert targets == [data.cache / "ecg5000" / "ecg.csv", data.cache / "mnist.npz"]

