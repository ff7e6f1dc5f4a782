"""Record measured metrics with their goals, so the course runner can collect them.

A notebook calls :func:`record` (a measured number, optionally with a goal) or
:func:`check` (the same, and it raises :class:`CheckFailed` when the goal is missed).
Each call prints one line and also leaves a machine-readable copy of the metric in the
cell's output (MIME type :data:`METRIC_MIME`). ``python -m aehelpers.course run`` reads
those outputs from the executed notebooks and writes ``results/RESULTS.md`` and
``results/results.json``. Introduced in notebook 01.
"""

from __future__ import annotations

import math
import operator
import re
import time

METRIC_MIME = "application/vnd.aehelpers.metric+json"

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_GOAL_RE = re.compile(r"^\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_START: float | None = None
_LAST_WALL: float | None = None  # when record_wall_time last recorded: where a part's clock starts


class CheckFailed(Exception):
    """Raised by :func:`check` when a notebook's quantitative claim does not hold."""


class Record(dict):
    """A recorded metric (a dict). It has already printed itself, so a notebook cell that
    ends with ``record(...)`` or ``check(...)`` does not echo it a second time."""

    def _ipython_display_(self):
        pass


def parse_goal(goal: str) -> tuple[str, float]:
    """Return ``(operator, threshold)`` from a goal such as ``"<= 5"`` or ``">= 22.5"``.

    Raises ValueError for anything else. Introduced in notebook 01.
    """
    match = _GOAL_RE.match(goal) if isinstance(goal, str) else None
    if not match:
        raise ValueError(f"goal must look like '<= 5', '>= 22.5', '< 0.1' or '> 0'; got {goal!r}")
    return match.group(1), float(match.group(2))


def record(name: str, value, goal: str | None = None, unit: str = "") -> dict:
    """Record a measured metric (and whether it meets ``goal``); print it; return the record.

    ``name`` is a snake_case identifier unique within the notebook, ``value`` a finite
    number, ``goal`` an optional comparison such as ``"<= 5"``. Returns a dict with
    ``name, value, goal, unit, passed`` (``passed`` is None without a goal).
    Introduced in notebook 01.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"metric name must be snake_case (letters, digits, '_'), e.g. 'test_mse_k32'; got {name!r}")
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metric {name!r}: value must be a number; got {value!r}") from exc
    if not math.isfinite(value):
        raise ValueError(f"metric {name!r}: value must be finite; got {value}")
    passed = None
    if goal is not None:
        op, threshold = parse_goal(goal)
        passed = bool(_OPS[op](value, threshold))
    entry = Record(name=name, value=value, goal=goal, unit=unit, passed=passed)
    _emit(entry)
    return entry


def check(name: str, value, goal: str, unit: str = "") -> dict:
    """Record a metric with its goal (see :func:`record`) and raise :class:`CheckFailed`
    with a readable message if the goal is not met. Returns the record.
    Introduced in notebook 01."""
    if goal is None:
        raise ValueError("check() needs a goal such as '<= 5'; use record() for a metric without one")
    entry = record(name, value, goal, unit)
    if not entry["passed"]:
        raise CheckFailed(f"Check failed: {name} = {format_value(entry['value'])}{unit} does not meet the goal {goal}{unit}.")
    return entry


def start_timer(at: float | None = None) -> None:
    """Start (or restart) this notebook's wall-time clock, now or at an earlier
    ``time.perf_counter()`` reading ``at``; :func:`setup_notebook` starts it at the moment
    ``aehelpers`` was imported, so the import of Keras/TensorFlow counts. Introduced in notebook 01."""
    global _START, _LAST_WALL
    _START = time.perf_counter() if at is None else float(at)
    _LAST_WALL = None


def record_wall_time(goal: str | None = None, part: str | None = None) -> dict:
    """Record the seconds since :func:`start_timer` as the metric ``wall_time_s``; with ``part``
    (e.g. ``"solutions"``), the seconds since the previous ``record_wall_time`` as
    ``<part>_wall_time_s`` (the notebooks time their lesson, then their exercise solutions).

    The goal (e.g. ``"<= 90"``) is reported with pass/fail but never raises: a slower
    laptop is not an error. Returns the record. Introduced in notebook 01.
    """
    global _LAST_WALL
    if _START is None:
        raise ValueError("the notebook clock was not started: run the Setup cell (aehelpers.utils.setup_notebook) first")
    now = time.perf_counter()
    if part is None:
        entry = record("wall_time_s", now - _START, goal, unit="s")
    elif _LAST_WALL is None:
        raise ValueError(f"record_wall_time(part={part!r}) times the cells since the previous "
                         "record_wall_time(); run that cell (the lesson's wall time) first")
    else:
        entry = record(f"{part}_wall_time_s", now - _LAST_WALL, goal, unit="s")
    _LAST_WALL = now
    return entry


def format_value(value: float) -> str:
    """Return a compact human-readable number (4 significant digits). Introduced in notebook 01."""
    return f"{value:.4g}"


def describe(entry: dict) -> str:
    """Return the one-line text form of a record, e.g.
    ``✔ linear_ae_angle_deg = 1.3° (goal <= 5°)``. Introduced in notebook 01."""
    mark = {True: "✔", False: "✘", None: "•"}[entry["passed"]]
    unit = entry.get("unit") or ""
    text = f"{mark} {entry['name']} = {format_value(entry['value'])}{unit}"
    if entry["goal"] is not None:
        text += f"  (goal {entry['goal']}{unit}: {'pass' if entry['passed'] else 'FAIL'})"
    return text


def _emit(entry: dict) -> None:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython comes with the course tools
        shell = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import display

        display({METRIC_MIME: dict(entry), "text/plain": describe(entry)}, raw=True)
    else:
        print(describe(entry))


def collect(notebook) -> list[dict]:
    """Return every metric recorded in an executed notebook (an ``nbformat`` node or a
    dict), in cell order; a metric recorded twice keeps its last value. Used by
    ``python -m aehelpers.course``. Introduced in the README."""
    found: dict[str, dict] = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if METRIC_MIME in data:
                entry = dict(data[METRIC_MIME])
                found.pop(entry["name"], None)
                found[entry["name"]] = entry
    return list(found.values())
