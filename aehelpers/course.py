"""Run the whole course headless and write the results table; keep the notation in sync.

Usage (from the course checkout)::

    python -m aehelpers.course run              # execute every notebook in order
    python -m aehelpers.course run --only 01    # just notebook 01
    python -m aehelpers.course run --inplace    # update the committed notebooks' outputs
    python -m aehelpers.course sync-macros      # copy Latex_macros.ipynb into the notebooks
    python -m aehelpers.course sync-macros --check
    python -m aehelpers.course diagrams         # redraw the architecture diagrams in images/
    python -m aehelpers.course export           # HTML pages, index.html, reveal.js slides
    python -m aehelpers.course sync-slides      # write the slide metadata (add --check to check)
    python -m aehelpers.course sync-flow        # Colab badge + guard, previous/next links, solutions, README index
    python -m aehelpers.course cache info       # the weights cache of instant re-runs (or: cache clear)

``run`` executes each ``notebooks/NN_*.ipynb`` in its own kernel (working directory
``notebooks/``, as in JupyterLab), writes the executed copy to ``results/executed/`` (or back
in place), and writes ``results/results.json`` and ``results/RESULTS.md``: each notebook's
wall time, status and every metric it recorded with :mod:`aehelpers.results`, with its goal
and pass/fail. With ``--only``, the rows of the other notebooks are kept from the previous
``results.json`` (each row says when it was measured). It keeps going after a failing notebook
and exits 1 if any failed. ``export`` and ``sync-slides`` are the classroom publishing commands
of :mod:`aehelpers.export`; ``sync-flow`` is the lecture flow of :mod:`aehelpers.flow`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
from pathlib import Path

from aehelpers import results
from aehelpers.notation import repo_root


def notebook_paths(root: Path, only=None) -> list[Path]:
    """Return the course notebooks ``notebooks/NN_*.ipynb`` in order (optionally only those
    whose names start with one of ``only``, e.g. ``["01"]``). Introduced in the README (the course runner)."""
    paths = sorted((Path(root) / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in only)]
        if not paths:
            raise ValueError(f"no notebook in {root / 'notebooks'} starts with {', '.join(only)}")
    return paths


def execute_notebook(path: Path, out_path: Path, timeout: int = 900) -> dict:
    """Execute one notebook (kernel working directory = its folder), write the executed
    copy to ``out_path`` and return its row for the results table: ``notebook, status
    ("ok"/"error"), wall_time_s, metrics, error``. Introduced in the README (the course runner)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # cells after a failure must not keep (and report) old outputs
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
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
    out_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_path)
    return {
        "notebook": path.stem,
        "measured": _now(),
        "status": "error" if error else "ok",
        "wall_time_s": round(wall, 1),
        "metrics": results.collect(nb),
        "error": error,
    }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def merge_rows(new_rows: list[dict], json_path: Path, course_order: list[str]) -> list[dict]:
    """Return the rows of a partial run merged into the previous ``results.json``: rows of
    notebooks that were not run this time are kept, re-run ones replaced, rows of notebooks
    that no longer exist dropped; sorted in course order. Introduced in the README (the course
    runner)."""
    old = []
    if json_path.is_file():
        try:
            old = json.loads(json_path.read_text(encoding="utf-8")).get("notebooks", [])
        except (json.JSONDecodeError, AttributeError):
            old = []  # an unreadable table is rebuilt from this run
    rows = {r["notebook"]: r for r in old if isinstance(r, dict) and r.get("notebook") in course_order}
    rows.update({r["notebook"]: r for r in new_rows})
    return [rows[name] for name in course_order if name in rows]


def data_status() -> dict:
    """Return, per dataset, "full" if a verified full copy is available locally, else
    "missing (fallback/none)" — so a results table says what it was computed on. Introduced in the README (the course
    runner)."""
    from aehelpers import datasets

    return {name: ("full" if datasets.available(name) else "missing: fallback or error")
            for name in ("mnist", "fashion-mnist", "ecg5000")}


def write_results(rows: list[dict], out_dir: Path, data: dict | None = None) -> tuple[Path, Path]:
    """Write ``results.json`` and ``RESULTS.md`` for the executed notebooks; return both paths.
    Introduced in the README (the course runner)."""
    from aehelpers.utils import versions

    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "generated": _now(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "versions": versions(),
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
        goals = [m for m in row["metrics"] if m["passed"] is not None]
        met = sum(bool(m["passed"]) for m in goals)
        status = "✔ ok" if row["status"] == "ok" else f"✘ {row['error']}"
        lines.append(f"| {row['notebook']} | {status} | {row['wall_time_s']:.1f} | {met}/{len(goals)} | {row.get('measured', '?')} |")
    lines += ["", "| notebook | metric | value | goal | pass |", "|---|---|---:|---|:---:|"]
    for row in rows:
        for m in row["metrics"]:
            unit = m.get("unit") or ""
            goal = f"{m['goal']}{unit}" if m["goal"] else "—"
            mark = {True: "✔", False: "✘", None: ""}[m["passed"]]
            lines.append(f"| {row['notebook']} | `{m['name']}` | {results.format_value(m['value'])}{unit} | {goal} | {mark} |")
    md_path = out_dir / "RESULTS.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return md_path, json_path


def run(root: Path, out_dir: Path, *, only=None, inplace: bool = False, timeout: int = 900) -> int:
    """Execute the course notebooks in order, write the executed copies and the results
    table; return the process exit code (0 when every notebook ran without error).
    Introduced in the README (the course runner)."""
    paths = notebook_paths(root, only)
    data = data_status()
    print(f"Running {len(paths)} notebook(s); data: " + ", ".join(f"{k} {v}" for k, v in data.items()), flush=True)
    rows = []
    for path in paths:
        print(f"▶ {path.name} …", end=" ", flush=True)
        target = path if inplace else out_dir / "executed" / path.name
        row = execute_notebook(path, target, timeout)
        rows.append(row)
        goals = [m for m in row["metrics"] if m["passed"] is not None]
        print(f"{row['status']} in {row['wall_time_s']:.1f} s, {sum(bool(m['passed']) for m in goals)}/{len(goals)} goals met"
              + (f" — {row['error']}" if row["error"] else ""), flush=True)
    failed = any(r["status"] != "ok" for r in rows)
    if only:
        rows = merge_rows(rows, out_dir / "results.json", [p.stem for p in notebook_paths(root)])
    md_path, json_path = write_results(rows, out_dir, data)
    print(f"Wrote {md_path} and {json_path}")
    return 1 if failed else 0


def main(argv=None) -> int:
    """Run the command line ``python -m aehelpers.course run|sync-macros|diagrams|export|sync-slides|sync-flow|cache``;
    return its exit code. Introduced in the README."""
    parser = argparse.ArgumentParser(prog="python -m aehelpers.course", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="execute every notebook in order and write results/RESULTS.md + results.json")
    p_run.add_argument("--only", nargs="+", metavar="NN", help="run only notebooks whose names start with these (e.g. 01 02)")
    p_run.add_argument("--inplace", action="store_true", help="write the executed notebooks back into notebooks/ (for committing)")
    p_run.add_argument("--out", type=Path, default=None, help="results folder (default: results/ in the checkout)")
    p_run.add_argument("--timeout", type=int, default=900, help="seconds one cell may take (default 900)")
    p_sync = sub.add_parser("sync-macros", help="copy the macros of Latex_macros.ipynb into every notebook")
    p_sync.add_argument("--check", action="store_true", help="only report drift and undefined macros; exit 1 if any")
    p_diagrams = sub.add_parser("diagrams", help="redraw the architecture diagrams into images/ (aehelpers.diagrams)")
    from aehelpers import diagrams

    diagrams.add_arguments(p_diagrams)
    p_export = sub.add_parser("export", help="write HTML pages, index.html and reveal.js slides of the executed notebooks")
    p_export.add_argument("--out", type=Path, default=None, help="output folder (default: results/export/ in the checkout)")
    p_export.add_argument("--mathjax", metavar="URL_OR_PATH", default=None,
                          help="MathJax 2 URL, or a local MathJax 2 folder to copy into the output (default: nbconvert's CDN)")
    p_slides = sub.add_parser("sync-slides", help="write the slide types of the slide rules into every notebook's metadata")
    p_slides.add_argument("--check", action="store_true", help="only report drift from the slide rules; exit 1 if any")
    p_flow = sub.add_parser("sync-flow", help="write the Colab badge and guard, previous/next links, solution "
                                              "metadata and the README's course index")
    p_flow.add_argument("--check", action="store_true", help="only report drift; exit 1 if any")
    p_cache = sub.add_parser("cache", help="the weights cache of instant re-runs: info, or clear it (aehelpers.cache)")
    from aehelpers import cache

    cache.add_arguments(p_cache)
    args = parser.parse_args(argv)
    if args.command == "diagrams":
        return diagrams.run(args)
    if args.command == "cache":
        return cache.run(args)

    root = repo_root()
    if args.command == "run":
        return run(root, args.out or root / "results", only=args.only, inplace=args.inplace, timeout=args.timeout)
    if args.command == "export":
        return _export(root, args.out, args.mathjax)
    from aehelpers import export, flow, notation

    if args.command == "sync-flow":
        return _sync(root, args.check, flow.sync, flow.problems,
                     "flow OK: navigation, Colab guards, solutions and the README index are in sync")
    if args.command == "sync-slides":
        return _sync(root, args.check, export.sync_slides, export.slide_problems,
                     "slides OK: every notebook's slide metadata follows the slide rules")
    return _sync(root, args.check, notation.sync, notation.problems,
                 "notation OK: every notebook carries the current macros and uses only defined ones")


def _sync(root: Path, check: bool, sync, problems, ok: str) -> int:
    """A ``sync-*`` command: write (unless ``check``), then print what is still wrong; exit 1 if anything."""
    if not check:
        for path in sync(root):
            print(f"updated {path.relative_to(root)}")
    found = problems(root)
    for line in found:
        print(line)
    if not found:
        print(ok)
    return 1 if found else 0


def _export(root: Path, out, mathjax) -> int:
    """The ``export`` command: a clear one-line message instead of a traceback for bad input."""
    from aehelpers import export

    try:
        index = export.export_course(root, out, mathjax=mathjax)
    except (FileNotFoundError, ValueError) as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    n = len(notebook_paths(root))
    print(f"Wrote {n} HTML page(s) and {n} slide deck(s) (*.slides.html); open {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
