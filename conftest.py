"""Test-suite set-up shared by the unit tests and the nbval notebook runs.

- Points the dataset loader at the genuine copies in ``../shared/datasets`` when that folder
  exists and ``AEHELPERS_DATA_DIR`` is not already set (as CI does).
- Skips a notebook's cells, with a message saying how to get the data, when a dataset the
  notebook loads has no verified full copy on this machine (the notebooks are only tested
  on the full datasets; the unit tests always run).
- Ends the run by printing each notebook's duration.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SHARED_DATA = ROOT.parent / "shared" / "datasets"

if "AEHELPERS_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["AEHELPERS_DATA_DIR"] = str(SHARED_DATA)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["AEHELPERS_NO_CACHE"] = "1"   # the tests and the nbval kernels train fresh (aehelpers._cache)

# What a notebook calls -> the dataset it needs.
DATASET_CALLS = {"load_mnist(": "mnist", "load_fashion_mnist(": "fashion-mnist", "load_ecg5000(": "ecg5000"}
_durations: dict[str, float] = defaultdict(float)


def notebook_datasets(path: Path) -> list[str]:
    """The datasets a notebook loads, read from its code."""
    text = path.read_text(encoding="utf-8")
    return [name for call, name in DATASET_CALLS.items() if call in text]


def pytest_collection_modifyitems(config, items):
    from aehelpers.course import data as datasets

    missing_by_notebook: dict[Path, list[str]] = {}
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix != ".ipynb":
            continue
        if path not in missing_by_notebook:
            missing_by_notebook[path] = [n for n in notebook_datasets(path) if not datasets.available(n)]
        missing = missing_by_notebook[path]
        if missing:
            item.add_marker(pytest.mark.skip(reason=(
                f"{path.name} needs the full {', '.join(missing)} data, not found on this machine. "
                "Get it with `python -m aehelpers.course data fetch --all` (needs internet) or point "
                "AEHELPERS_DATA_DIR at a folder that has it."
            )))


def pytest_runtest_logreport(report):
    path = report.location[0] if report.location else ""
    if path.endswith(".ipynb") and not report.skipped:
        _durations[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _durations:
        return
    terminalreporter.write_sep("=", "notebook durations (this machine)")
    for path, seconds in sorted(_durations.items()):
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
