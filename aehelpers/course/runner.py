"""Run the whole course headless and write the results table (``python -m aehelpers.course run``).

Each ``notebooks/NN_*.ipynb`` runs in its own kernel (working directory ``notebooks/``, as in
JupyterLab) with the weights cache off, so times and outputs come from fresh training. The executed
copy goes to ``results/executed/`` (or back in place with ``--inplace``, without the timing
metadata), and ``results/results.json`` and ``results/RESULTS.md`` get one row per notebook: its
wall time, status, every metric it recorded with :mod:`aehelpers.results` (goal and pass/fail) and
its per-cell timings (see :mod:`aehelpers.course.profile`). With ``--only``, the other notebooks'
rows are kept from the previous ``results.json`` (each row says when it was measured). The runner
keeps going after a failing notebook and exits 1 if any failed.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import time
from pathlib import Path

from aehelpers.course import nbfiles, profile
from aehelpers.results import METRIC_MIME, _format_value


def collect(notebook) -> list[dict]:
    """Return every metric recorded in an executed notebook (an ``nbformat`` node or a dict), in
    cell order; a metric recorded twice keeps its last value. Introduced in the README (Use)."""
    found: dict[str, dict] = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if METRIC_MIME in data:
                entry = dict(data[METRIC_MIME])
                found.pop(entry["name"], None)
                found[entry["name"]] = entry
    return list(found.values())


def execute_notebook(path: Path, out_path: Path, timeout: int = 900) -> dict:
    """Execute one notebook (kernel working directory = its folder), write the executed copy to
    ``out_path`` and return its row for the results table: ``notebook, measured, status
    ("ok"/"error"), wall_time_s, kernel_start_s, metrics, cells, error``. Introduced in the README (Use)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbfiles.read(path)
    for cell in nb.cells:  # cells after a failure must not keep (and report) old outputs
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error = None
    try:  # with the weights cache off: wall times and outputs come from fresh training
        client.execute(env={**os.environ, "AEHELPERS_NO_CACHE": "1"})
    except CellExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}".strip()
    except Exception as exc:  # a dead kernel or a timeout: report it, run the next notebook
        error = f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - start
    cells = profile.cell_timings(nb)
    if out_path.resolve() == path.resolve():  # committed notebooks stay free of timing metadata
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    nbfiles.write(out_path, nb)
    return {
        "notebook": path.stem,
        "measured": _now(),
        "status": "error" if error else "ok",
        "wall_time_s": round(wall, 1),
        "kernel_start_s": round(wall - sum(c["seconds"] for c in cells), 1),
        "metrics": collect(nb),
        "cells": cells,
        "error": error,
    }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def merge_rows(new_rows: list[dict], json_path: Path, course_order: list[str]) -> list[dict]:
    """Return the rows of a partial run merged into the previous ``results.json``: rows of
    notebooks that were not run this time are kept, re-run ones replaced, rows of notebooks that no
    longer exist dropped; sorted in course order. Introduced in the README (Use)."""
    try:
        old = nbfiles.read_rows(json_path)
    except (FileNotFoundError, ValueError):
        old = []  # a missing or unreadable table is rebuilt from this run
    rows = {r["notebook"]: r for r in old if r["notebook"] in course_order}
    rows.update({r["notebook"]: r for r in new_rows})
    return [rows[name] for name in course_order if name in rows]


def metric_table(rows, *, checks: bool = False) -> list[str]:
    """Return the markdown lines of the metric table of results ``rows``: every metric
    (``RESULTS.md``), or with ``checks=True`` only those with a goal, with the runner's wall time
    (the README's table of checks). Introduced in the README (Use)."""
    if checks:
        lines = ["| notebook | runner wall time (incl. kernel start) | check | value | goal | pass |",
                 "|---|---:|---|---:|---|:---:|"]
    else:
        lines = ["| notebook | metric | value | goal | pass |", "|---|---|---:|---|:---:|"]
    for row in rows:
        for m in row["metrics"]:
            if checks and not m.get("goal"):
                continue
            unit = m.get("unit") or ""
            wall = f" {row['wall_time_s']:.0f} s |" if checks else ""
            goal = f"{m['goal']}{unit}" if m.get("goal") else "—"
            mark = {True: "✔", False: "✘", None: ""}[m["passed"]]
            lines.append(f"| {row['notebook']} |{wall} `{m['name']}` | {_format_value(m['value'])}{unit} | {goal} | {mark} |")
    return lines


def write_results(rows: list[dict], out_dir: Path, data: dict | None = None) -> tuple[Path, Path]:
    """Write ``results.json`` and ``RESULTS.md`` for the executed notebooks; return both paths.
    Introduced in the README (Use)."""
    from aehelpers.utils import _versions

    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "generated": _now(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "versions": _versions(),
        "data": data or {},
    }
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps({**meta, "notebooks": rows}, indent=2) + "\n", encoding="utf-8")

    lines = [
        "# Course results",
        "",
        f"Generated by `python -m aehelpers.course run` on {meta['generated']} ({meta['machine']}); "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
    ]
    if data:
        lines.append("Data: " + ", ".join(f"{k}: {v}" for k, v in data.items()) + ".")
    lines += ["", "| notebook | status | wall time (s) | goals met | measured |", "|---|---|---:|---:|---|"]
    for row in rows:
        status = "✔ ok" if row["status"] == "ok" else f"✘ {row['error']}"
        lines.append(f"| {row['notebook']} | {status} | {row['wall_time_s']:.1f} | {_goals_met(row)} | {row.get('measured', '?')} |")
    lines += ["", *metric_table(rows)]
    md_path = out_dir / "RESULTS.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return md_path, json_path


def _goals_met(row: dict) -> str:
    goals = [m for m in row["metrics"] if m["passed"] is not None]
    return f"{sum(bool(m['passed']) for m in goals)}/{len(goals)}"


def run(root: Path, out_dir: Path, *, only=None, inplace: bool = False, timeout: int = 900) -> int:
    """Execute the course notebooks in order, write the executed copies and the results table;
    return the process exit code (0 when every notebook ran without error). Introduced in the README (Use)."""
    from aehelpers.course import data as course_data

    paths = nbfiles.notebook_paths(root, only)
    data = course_data.status()
    print(f"Running {len(paths)} notebook(s); data: " + ", ".join(f"{k} {v}" for k, v in data.items()), flush=True)
    rows = []
    for path in paths:
        print(f"▶ {path.name} …", end=" ", flush=True)
        row = execute_notebook(path, path if inplace else out_dir / "executed" / path.name, timeout)
        rows.append(row)
        print(f"{row['status']} in {row['wall_time_s']:.1f} s, {_goals_met(row)} goals met"
              + (f" — {row['error']}" if row["error"] else ""), flush=True)
    failed = any(r["status"] != "ok" for r in rows)
    if only:
        rows = merge_rows(rows, out_dir / "results.json", [p.stem for p in nbfiles.notebook_paths(root)])
    md_path, json_path = write_results(rows, out_dir, data)
    print(f"Wrote {md_path} and {json_path}")
    return 1 if failed else 0
