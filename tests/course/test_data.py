"""The datasets from a shell (aehelpers.course.data): ``python -m aehelpers.course data fetch|verify``,
and ``available``/``status`` used by the test suite and the runner. The synthetic files, the clean
data environment and the local mirror are the ``data``/``mirror``/``serve`` fixtures of tests/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aehelpers import datasets as ds
from aehelpers.course import data as cli

ROOT = Path(__file__).resolve().parents[2]
GENUINE = ROOT.parent / "shared" / "datasets"
needs_genuine = pytest.mark.skipif(not GENUINE.is_dir(), reason=f"genuine datasets not found at {GENUINE}")
pytestmark = pytest.mark.usefixtures("data")


def run_cli(*args, env_extra: dict, keras_home: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEHELPERS_")}
    env.update(KERAS_HOME=str(keras_home), **env_extra)
    return subprocess.run([sys.executable, "-m", "aehelpers.course", "data", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("call", [cli.locate, cli.available, cli.fetch])
def test_unknown_dataset_name_raises(call):
    with pytest.raises(ValueError, match="mnist, fashion-mnist, ecg5000"):
        call("cifar10")


def test_locate_accepts_the_underscore_spelling(data, tmp_path):
    data.patch_hashes(data.idx_dataset(tmp_path / "d" / "fashion-mnist", "fashion-mnist"))
    assert cli.locate("fashion_mnist", tmp_path / "d").kind == "data_dir"
    assert cli.available("fashion-mnist", tmp_path / "d") and not cli.available("mnist", tmp_path / "d")
    assert cli.status() == {"mnist": "missing: fallback or error", "fashion-mnist": "missing: fallback or error",
                            "ecg5000": "missing: fallback or error"}


def test_verify_rows_report_genuine_corrupt_and_missing(data, tmp_path, monkeypatch):
    data.patch_hashes(data.idx_dataset(tmp_path / "mnist", "mnist"))
    monkeypatch.setitem(ds.SHA256, "mnist/t10k-images-idx3-ubyte.gz", "0" * 64)
    rows = {(name, key): (path, genuine) for name, key, path, genuine in cli.verify(tmp_path)}
    assert rows["mnist", "mnist/train-images-idx3-ubyte.gz"] == (tmp_path / "mnist" / "train-images-idx3-ubyte.gz", True)
    assert rows["mnist", "mnist/t10k-images-idx3-ubyte.gz"][1] is False
    assert rows["ecg5000", "ecg5000/ecg.csv"] == (None, False) and rows["mnist", "mnist.npz"] == (None, False)


def test_fetch_downloads_every_file_of_a_dataset(mirror, data, capsys):
    paths = cli.fetch("fashion_mnist")
    assert paths == [data.cache / key for key in ds.FILES["fashion-mnist"]]
    assert all(p.is_file() for p in paths)
    assert cli.fetch("ecg5000") == [data.cache / "ecg5000" / "ecg.csv"]
    assert len(cli.fetch()) == 9  # all: only MNIST is still missing
    assert len(mirror.requests) == 9
    assert "already available" in capsys.readouterr().out
    cli.fetch("ecg5000", force=True)
    assert len(mirror.requests) == 10


def test_fetch_failure_raises_download_error(mirror):
    mirror.missing.add("ecg5000/ecg.csv")
    with pytest.raises(cli.DownloadError, match="ecg5000.*404"):
        cli.fetch("ecg5000")


@needs_genuine
def test_genuine_verify_and_available():
    rows = [row for row in cli.verify(GENUINE) if row[1] != "mnist.npz"]
    assert len(rows) == 9 and all(genuine for *_, genuine in rows)
    assert all(cli.available(name, GENUINE) for name in ds.DATASETS)


@needs_genuine
def test_cli_verify_genuine_exits_0(tmp_path):
    result = run_cli("verify", env_extra={ds.ENV_DATA_DIR: str(GENUINE)}, keras_home=tmp_path / "kh")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "genuine" in result.stdout and "CORRUPT" not in result.stdout and "Every dataset has" in result.stdout
    assert "RuntimeWarning" not in result.stderr


def test_cli_verify_nothing_exits_1(tmp_path):
    result = run_cli("verify", env_extra={}, keras_home=tmp_path / "kh")
    assert result.returncode == 1
    assert "missing" in result.stdout and "data fetch --all" in result.stdout


def test_cli_fetch_needs_names(tmp_path):
    result = run_cli("fetch", env_extra={}, keras_home=tmp_path / "kh")
    assert result.returncode == 2 and "--all" in result.stderr


@needs_genuine
def test_cli_fetch_all_from_genuine_mirror(serve, tmp_path):
    server = serve(GENUINE)  # served read-only from the shared folder; nothing copied to the repo
    env = {"AEHELPERS_MIRROR_URL": server.url}
    fetched = run_cli("fetch", "--all", env_extra=env, keras_home=tmp_path / "kh")
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert "100%" in fetched.stdout and len(server.requests) == 9
    checked = run_cli("verify", env_extra=env, keras_home=tmp_path / "kh")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert str(tmp_path / "kh" / "datasets" / "ecg5000" / "ecg.csv") in checked.stdout
