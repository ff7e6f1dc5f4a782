"""Measured metrics with their goals: :func:`record` prints one line and leaves a machine-readable copy
in the cell's output (:data:`METRIC_MIME`) for the course runner's results table; :func:`check` also
raises :class:`CheckFailed` when the goal is missed."""

import math
import operator
import re
import sys
import time

METRIC_MIME = "application/vnd.aehelpers.metric+json"

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_GOAL_RE = re.compile(r"^\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
BUDGET_S = 85.0   # a notebook's own cells: the runner's 90 s minus the kernel start
_START: float | None = None
_LAST_WALL: float | None = None  # when record_wall_time last recorded: where a part's clock starts

class CheckFailed(Exception):
    """Raised by :func:`check` when a notebook's quantitative claim does not hold."""

class Record(dict):
    """A recorded metric; it has printed itself, so a cell ending in ``check(...)`` does not echo it."""

    def _ipython_display_(self):
        pass

def _parse_goal(goal: str) -> tuple[str, float]:
    """Return ``(operator, threshold)`` from a goal such as ``"<= 5"``; ValueError for anything else."""
    match = _GOAL_RE.match(goal) if isinstance(goal, str) else None
    if not match:
        raise ValueError(f"goal must look like '<= 5', '>= 22.5', '< 0.1' or '> 0'; got {goal!r}")
    return match.group(1), float(match.group(2))

def record(name: str, value, goal: str | None = None, unit: str = "") -> dict:
    """Record a measured metric (``name`` snake_case, unique in the notebook; ``value`` finite; ``goal``
    optional, e.g. ``"<= 5"``), print it and return the record: a dict ``name, value, goal, unit,
    passed`` (``passed`` None without a goal). Introduced in notebook 01."""
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
        op, threshold = _parse_goal(goal)
        passed = bool(_OPS[op](value, threshold))
    entry = Record(name=name, value=value, goal=goal, unit=unit, passed=passed)
    _emit(entry)
    return entry

def check(name: str, value, goal: str, unit: str = "") -> dict:
    """Record a metric with its goal (see :func:`record`), raise :class:`CheckFailed` if the goal is
    missed, and return the record. Introduced in notebook 01."""
    entry = record(name, value, goal or "", unit)   # no goal: the goal-format error
    if not entry["passed"]:
        raise CheckFailed(f"Check failed: {name} = {_format_value(entry['value'])}{unit} does not meet the goal {goal}{unit}.")
    return entry

def _start_timer(at: float | None = None) -> None:
    """Start the notebook's clock now, or at an earlier ``time.perf_counter()`` reading ``at``."""
    global _START, _LAST_WALL
    _START = time.perf_counter() if at is None else float(at)
    _LAST_WALL = None

def record_wall_time(goal: str | None = None, part: str | None = None) -> dict:
    """Record the seconds since ``aehelpers`` was imported as ``wall_time_s`` (the lesson); with
    ``part="solutions"``, the seconds since the previous call as ``solutions_wall_time_s`` and the
    whole notebook as ``total_wall_time_s`` against the course budget :data:`BUDGET_S`. Goals are
    reported, never raised: a slower laptop is not an error. Returns the record. Introduced in notebook 01."""
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
        record("total_wall_time_s", now - _START, f"<= {BUDGET_S:g}", unit="s")
    _LAST_WALL = now
    return entry

def _format_value(value: float) -> str:
    return f"{value:.4g}"

def _describe(entry: dict) -> str:
    """Return a record as one line, e.g. ``✔ linear_ae_angle_deg = 1.3°  (goal <= 5°: pass)``."""
    mark = {True: "✔", False: "✘", None: "•"}[entry["passed"]]
    unit = entry.get("unit") or ""
    text = f"{mark} {entry['name']} = {_format_value(entry['value'])}{unit}"
    if entry["goal"] is not None:
        text += f"  (goal {entry['goal']}{unit}: {'pass' if entry['passed'] else 'FAIL'})"
    return text

def _emit(entry: dict) -> None:
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()   # a kernel has imported IPython
    if getattr(shell, "kernel", None) is not None:
        from IPython.display import display

        display({METRIC_MIME: dict(entry), "text/plain": _describe(entry)}, raw=True)
    else:
        print(_describe(entry))
