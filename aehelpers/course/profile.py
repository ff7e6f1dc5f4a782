"""Where a notebook's time goes: each code cell's time in a course run, what kind of work the cell
does, and the report ``python -m aehelpers.course profile [--only NN …] [--top 5]``.

``python -m aehelpers.course run`` executes with nbclient's ``record_timing`` (each cell's start and
end in ``metadata.execution`` of the executed copy in ``results/executed/``) and keeps a summary in
the notebook's row of ``results/results.json``: ``cells`` (``index``, ``seconds``, ``kind`` and
``line``, the cell's first code line) and ``kernel_start_s`` (the runner's wall time minus the sum of
the cells' times: kernel start and nbclient's overhead). The report reads that summary, or the
executed copy's timings for a row without one.

A cell's kind is the first of these rules that its code (comment lines ignored) matches:

1. ``training``: it calls ``fit``, ``fit_side_by_side`` or a ``train_*`` function;
2. ``data``: it calls a ``load_*`` function (``datasets.load_mnist()``);
3. ``plotting``: its outputs are only figures, or it calls ``plt.*``, ``plotting.*`` or a function
   whose name starts with ``plot``, ``show`` or ``imshow``;
4. ``evaluation``: it calls ``run``, ``predict``, ``evaluate`` (``models.run(…)``) or ``metrics.*``;
5. ``other``: everything else (imports and Setup, checks, printing).
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from aehelpers.course import nbfiles

KINDS = ("training", "evaluation", "data", "plotting", "other")
KERNEL = "kernel start"
_TRAINING = re.compile(r"\b(fit|fit_side_by_side|train_\w+)\s*\(")
_DATA = re.compile(r"\bload_\w+\s*\(")
_PLOTTING = re.compile(r"\b(plt|plotting)\.\w+\s*\(|\b(plot|show|imshow)\w*\s*\(")
_EVALUATION = re.compile(r"\b(run|predict|evaluate)\s*\(|\bmetrics\.\w+\s*\(")
_IMAGES = ("image/png", "image/jpeg", "image/svg+xml")


def _code(cell) -> list[str]:
    return [line for line in nbfiles.source(cell).splitlines() if line.strip() and not line.lstrip().startswith("#")]


def kind(cell) -> str:
    """Return what a code cell's time is spent on: ``training``, ``data``, ``plotting``,
    ``evaluation`` or ``other``, by the rules of this module. Introduced in the README (Use: profile)."""
    code = "\n".join(_code(cell))
    outputs = cell.get("outputs") or []
    only_figures = bool(outputs) and all(any(m in o.get("data", {}) for m in _IMAGES) for o in outputs)
    if _TRAINING.search(code):
        return "training"
    if _DATA.search(code):
        return "data"
    if only_figures or _PLOTTING.search(code):
        return "plotting"
    return "evaluation" if _EVALUATION.search(code) else "other"


def _seconds(cell) -> float | None:
    times = cell.get("metadata", {}).get("execution", {})
    for start, end in (("iopub.execute_input", "shell.execute_reply"), ("iopub.status.busy", "iopub.status.idle")):
        if start in times and end in times:
            a, b = (_dt.datetime.fromisoformat(times[k].replace("Z", "+00:00")) for k in (start, end))
            return max(0.0, (b - a).total_seconds())
    return None


def cell_timings(nb) -> list[dict]:
    """Return ``{"index", "seconds", "kind", "line"}`` for every code cell of an executed notebook
    that has nbclient's timing metadata. Introduced in the README (Use: profile)."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        seconds = _seconds(cell) if cell["cell_type"] == "code" else None
        if seconds is not None:
            found.append({"index": i, "seconds": round(seconds, 3), "kind": kind(cell),
                          "line": next(iter(_code(cell)), "").strip()[:100]})
    return found


def split(cells: list[dict], kernel_start_s: float | None) -> dict[str, float]:
    """Return the seconds per kind (and ``"kernel start"`` when known) from cell timings.
    Introduced in the README (Use: profile)."""
    totals = {name: sum(c["seconds"] for c in cells if c["kind"] == name) for name in KINDS}
    if kernel_start_s is not None:
        totals[KERNEL] = kernel_start_s
    return totals


def _timed_row(row: dict, results_dir: Path) -> dict | None:
    """The row with ``cells`` (from results.json, else from the executed copy), or None."""
    if row.get("cells"):
        return row
    executed = results_dir / "executed" / f"{row['notebook']}.ipynb"
    cells = cell_timings(nbfiles.read(executed)) if executed.is_file() else []
    if not cells:
        return None
    start = row["wall_time_s"] - sum(c["seconds"] for c in cells) if "wall_time_s" in row else None
    return {**row, "cells": cells, "kernel_start_s": start}


def report(results_dir: Path, only=None, top: int = 5) -> list[str]:
    """Return the profile report's lines for the notebooks of ``results_dir/results.json`` (those
    starting with one of ``only``): per notebook the split of its time by kind and its ``top``
    slowest cells, then the course's split. Raises FileNotFoundError without a results table,
    ValueError when no notebook has timings. Introduced in the README (Use: profile)."""
    results_dir = Path(results_dir)
    rows = [r for r in nbfiles.read_rows(results_dir / "results.json")
            if not only or any(r["notebook"].startswith(o) for o in only)]
    lines, course, untimed = [], dict.fromkeys([*KINDS, KERNEL], 0.0), []
    for row in rows:
        timed = _timed_row(row, results_dir)
        if timed is None:
            untimed.append(row["notebook"])
            continue
        parts = split(timed["cells"], timed.get("kernel_start_s"))
        total = row.get("wall_time_s") or sum(parts.values())
        for name, seconds in parts.items():
            course[name] += seconds
        lines += [f"{row['notebook']}: {total:.1f} s (measured {row.get('measured', '?')})", "  " + _split_line(parts, total),
                  f"  slowest {min(top, len(timed['cells']))} cells:"]
        for cell in sorted(timed["cells"], key=lambda c: -c["seconds"])[:top]:
            lines.append(f"    cell {cell['index']:>3}  {cell['seconds']:6.1f} s  {cell['kind']:<10}  {cell.get('line', '')}")
    if not lines:
        raise ValueError(f"no per-cell timings for {', '.join(untimed) or 'any notebook'} in {results_dir}: "
                         "run `python -m aehelpers.course run` (it records them)")
    if untimed:
        lines.append(f"no per-cell timings for {', '.join(untimed)} (re-run them with `python -m aehelpers.course run --only`)")
    total = sum(course.values())
    lines += [f"course: {total:.1f} s", "  " + _split_line(course, total)]
    return lines


def _split_line(parts: dict[str, float], total: float) -> str:
    return " · ".join(f"{name} {seconds:.1f} s ({seconds / total:.0%})" if total else f"{name} {seconds:.1f} s"
                      for name, seconds in parts.items())
