"""Fixtures shared by the tests: the teaching room's (``tests/teaching/``) and the tooling room's
(``tests/course/``), each in its own section below. The suite-wide set-up (data folder, notebook
skips, durations) is the repository's top-level ``conftest.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# --- tooling room: tests/course/ ---------------------------------------------------------------

@pytest.fixture
def repo_root() -> Path:
    """This checkout (its notebooks, README and results), for the drift checks of the real course."""
    return REPO


@pytest.fixture
def course_root(tmp_path) -> Path:
    """An empty course checkout in ``tmp_path``: a copy of ``Latex_macros.ipynb`` and an empty
    ``notebooks/`` folder, so the course tools (``repo_root``, ``%run ../Latex_macros.ipynb``) work."""
    shutil.copy(REPO / "Latex_macros.ipynb", tmp_path)
    (tmp_path / "notebooks").mkdir()
    return tmp_path


@pytest.fixture
def write_notebook(course_root):
    """``write_notebook(name, cells)``: write ``notebooks/<name>`` of :func:`course_root` (cells:
    nbformat cells, or strings, which become code cells); returns its path."""
    import nbformat

    def write(name: str, cells) -> Path:
        cells = [nbformat.v4.new_code_cell(c) if isinstance(c, str) else c for c in cells]
        path = course_root / "notebooks" / name
        nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
        return path

    return write


# --- end of the tooling room's fixtures --------------------------------------------------------


# --- teaching room: the datasets (tests/teaching/test_datasets.py, test_download.py, tests/course/test_data.py)

N_TRAIN, N_TEST = 12, 5


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_idx(path: Path, array, magic: int | None = None) -> Path:
    """A gzipped idx file: magic 2051 + (n, rows, cols) for images, 2049 + (n,) for labels."""
    import gzip

    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.asarray(array)
    magic = magic or (2051 if array.ndim == 3 else 2049)
    header = b"".join(v.to_bytes(4, "big") for v in (magic, *array.shape))
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0))
    return path


class DataFiles:
    """Synthetic dataset files for the loaders, with ``SHA256`` patched to their hashes."""

    sha, write_idx, n_train, n_test = staticmethod(_sha), staticmethod(_write_idx), N_TRAIN, N_TEST

    def __init__(self, monkeypatch, tmp_path):
        self.monkeypatch, self.cache = monkeypatch, tmp_path / "keras_home" / "datasets"

    def idx_dataset(self, folder: Path, prefix: str) -> dict[str, Path]:
        """The four idx files of ``prefix`` (deterministic content) in ``folder``: key -> path."""
        import numpy as np

        rng, out = np.random.default_rng(1), {}
        for split, n in (("train", N_TRAIN), ("t10k", N_TEST)):
            out[f"{prefix}/{split}-images-idx3-ubyte.gz"] = _write_idx(folder / f"{split}-images-idx3-ubyte.gz",
                                                                        rng.integers(0, 256, (n, 28, 28)))
            out[f"{prefix}/{split}-labels-idx1-ubyte.gz"] = _write_idx(folder / f"{split}-labels-idx1-ubyte.gz",
                                                                        np.arange(n) % 10)
        return out

    def ecg(self, path: Path, rows: int = 6, cols: int = 141) -> Path:
        import numpy as np

        path.parent.mkdir(parents=True, exist_ok=True)
        data = np.round(np.random.default_rng(2).normal(size=(rows, cols)), 4)
        if cols == 141:
            data[:, -1] = np.arange(rows) % 2
        np.savetxt(path, data, delimiter=",", fmt="%.4f")
        return path

    def patch_hashes(self, files: dict[str, Path]) -> None:
        from aehelpers import datasets as ds

        for key, path in files.items():
            self.monkeypatch.setitem(ds.SHA256, key, _sha(path))


@pytest.fixture
def data(monkeypatch, tmp_path) -> DataFiles:
    """A clean data environment (no AEHELPERS_DATA_DIR or mirror, an empty Keras cache in tmp_path,
    ``SHA256`` restored afterwards) and a :class:`DataFiles` to fill it."""
    from aehelpers import datasets as ds

    monkeypatch.delenv(ds.ENV_DATA_DIR, raising=False)
    monkeypatch.delenv(ds.ENV_MIRROR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(ds, "SHA256", dict(ds.SHA256))
    return DataFiles(monkeypatch, tmp_path)


@pytest.fixture
def serve():
    """``serve(folder)``: a threaded HTTP server on 127.0.0.1 for ``folder``, with ``.url``,
    ``.requests``, and ``.truncated`` / ``.missing`` sets of paths it answers badly."""
    import functools
    import http.server
    import threading

    class Handler(http.server.SimpleHTTPRequestHandler):
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

    servers = []

    def start(folder: Path):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        server.requests, server.truncated, server.missing = [], set(), set()
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mirror(data, tmp_path, monkeypatch, serve):
    """A running mirror of small synthetic files in the AEHELPERS_DATA_DIR layout (``SHA256`` patched
    to them) and ``AEHELPERS_MIRROR_URL`` pointing at it; the server has ``.root`` too."""
    import numpy as np

    from aehelpers import datasets as ds

    root, rng = tmp_path / "mirror", np.random.default_rng(5)
    for name in ("mnist", "fashion-mnist"):
        for split, n in (("train", 9), ("t10k", 4)):
            _write_idx(root / name / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
            _write_idx(root / name / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    (root / "ecg5000").mkdir()
    ecg = np.round(rng.normal(size=(4, 141)), 3)
    ecg[:, -1] = [1, 0, 1, 1]
    np.savetxt(root / "ecg5000" / "ecg.csv", ecg, delimiter=",", fmt="%.3f")
    data.patch_hashes({p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()})
    server = serve(root)
    server.root = root
    monkeypatch.setenv(ds.ENV_MIRROR, server.url + "/")
    return server


# --- end of the teaching room's fixtures -------------------------------------------------------
