"""The course command line, ``python -m aehelpers.course COMMAND`` (from the course checkout)::

    run [--only NN …] [--inplace] [--out DIR] [--timeout S]   execute the notebooks, write results/
    profile [--only NN …] [--top 5] [--results DIR]          where each notebook's time goes
    sync-macros [--check]     copy Latex_macros.ipynb's macros into every notebook
    sync-slides [--check]     write the slide types of the slide rules into the notebooks
    sync-flow [--check]       run-time lines, Colab badge and guard, previous/next links, solutions, README index
    export [--out DIR] [--mathjax URL_OR_DIR]   HTML pages, index.html and reveal.js slides
    diagrams [--out DIR] [--only NAME …]        redraw the architecture diagrams into images/
    data fetch|verify         the datasets (download into the Keras cache; check every file's sha256)
    cache info|clear          the weights cache of instant re-runs

Each command imports only what it needs (no matplotlib or nbconvert for the others).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_SYNC_OK = {
    "sync-macros": "notation OK: every notebook carries the current macros and uses only defined ones",
    "sync-slides": "slides OK: every notebook's slide metadata follows the slide rules",
    "sync-flow": "flow OK: run-time lines, navigation, Colab guards, solutions and the README index are in sync",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m aehelpers.course", description=__doc__.split("::")[0].strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("run", help="execute every notebook in order and write results/RESULTS.md + results.json")
    p.add_argument("--only", nargs="+", metavar="NN", help="run only notebooks whose names start with these (e.g. 01 02)")
    p.add_argument("--inplace", action="store_true", help="write the executed notebooks back into notebooks/ (for committing)")
    p.add_argument("--out", type=Path, default=None, help="results folder (default: results/ in the checkout)")
    p.add_argument("--timeout", type=int, default=900, help="seconds one cell may take (default 900)")
    p = sub.add_parser("profile", help="each notebook's slowest cells and its time by kind (training, evaluation, …)")
    p.add_argument("--only", nargs="+", metavar="NN", help="only notebooks whose names start with these")
    p.add_argument("--top", type=int, default=5, help="how many of the slowest cells to list (default 5)")
    p.add_argument("--results", type=Path, default=None, help="results folder of the run (default: results/)")
    for name, what in (("sync-macros", "copy the macros of Latex_macros.ipynb into every notebook"),
                       ("sync-slides", "write the slide types of the slide rules into every notebook's metadata"),
                       ("sync-flow", "write the run-time lines, Colab badge and guard, previous/next links, "
                                     "solution metadata and the README's course index")):
        sub.add_parser(name, help=what).add_argument("--check", action="store_true", help="only report drift; exit 1 if any")
    p = sub.add_parser("export", help="write HTML pages, index.html and reveal.js slides of the executed notebooks")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/export/ in the checkout)")
    p.add_argument("--mathjax", metavar="URL_OR_PATH", default=None,
                   help="MathJax 2 URL, or a local MathJax 2 folder to copy into the output (default: nbconvert's CDN)")
    p = sub.add_parser("diagrams", help="redraw the architecture diagrams into images/")
    p.add_argument("--out", type=Path, default=None, help="folder to write into (default: images/ in the checkout)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these diagrams, e.g. vae.png cvae")
    from aehelpers.course import data  # NumPy, no Keras

    data.add_arguments(sub.add_parser("data", help="the datasets: fetch (download) or verify (sha256 of every file found)"))
    p = sub.add_parser("cache", help="the weights cache of instant re-runs: info, or clear it")
    p.add_argument("action", choices=("info", "clear"), help="info: its folder, entries and size; clear: delete the entries")
    return parser


def main(argv=None) -> int:
    """Run ``python -m aehelpers.course COMMAND …`` (see this module) and return its exit code.
    Introduced in the README (Use)."""
    args = _parser().parse_args(argv)
    command = {"run": _run, "profile": _profile, "export": _export, "diagrams": _diagrams, "data": _data,
               "cache": _cache}.get(args.command, _sync)
    return command(args)


def _run(args) -> int:
    from aehelpers.course import nbfiles, runner

    root = nbfiles.repo_root()
    return runner.run(root, args.out or root / "results", only=args.only, inplace=args.inplace, timeout=args.timeout)


def _profile(args) -> int:
    from aehelpers.course import nbfiles, profile

    try:
        lines = profile.report(args.results or nbfiles.repo_root() / "results", args.only, args.top)
    except (FileNotFoundError, ValueError) as exc:
        print(f"profile: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def _sync(args) -> int:
    """A ``sync-*`` command: write (unless ``--check``), then print what is still wrong; exit 1 if anything."""
    from aehelpers.course import nbfiles

    if args.command == "sync-flow":
        from aehelpers.course.flow import problems, sync
    elif args.command == "sync-slides":
        from aehelpers.course.export import slide_problems as problems, sync_slides as sync
    else:
        from aehelpers.course.notation import problems, sync
    root = nbfiles.repo_root()
    if not args.check:
        for path in sync(root):
            print(f"updated {path.relative_to(root)}")
    found = problems(root)
    print("\n".join(found) if found else _SYNC_OK[args.command])
    return 1 if found else 0


def _export(args) -> int:
    """A clear one-line message instead of a traceback for bad input."""
    from aehelpers.course import export, nbfiles

    try:
        root = nbfiles.repo_root()
        index = export.export_course(root, args.out, mathjax=args.mathjax)
    except (FileNotFoundError, ValueError) as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    n = len(nbfiles.notebook_paths(root))
    print(f"Wrote {n} HTML page(s) and {n} slide deck(s) (*.slides.html); open {index}")
    return 0


def _diagrams(args) -> int:
    """Write the chosen diagrams and print each path; 2 for bad input, with the reason on stderr."""
    from aehelpers.course import diagrams

    try:
        paths = diagrams.write_all(args.out, args.only)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path}")
    return 0


def _data(args) -> int:
    from aehelpers.course import data

    return data.run(args)


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e5 else f"{n_bytes / 1e3:.1f} kB"


def _cache_files() -> list[Path]:
    from aehelpers import _cache

    folder = _cache.cache_dir()
    pattern = re.compile(r"^(\.tmp-\d+-)?[0-9a-f]{64}\.(npz|json)$")
    return sorted(p for p in folder.iterdir() if p.is_file() and pattern.match(p.name)) if folder.is_dir() else []


def cache_info() -> dict:
    """Return ``{"folder", "entries", "bytes"}`` of the weights cache (``cache info``)."""
    from aehelpers import _cache

    files = _cache_files()
    return {"folder": _cache.cache_dir(), "entries": sum(p.suffix == ".json" and not p.name.startswith(".") for p in files),
            "bytes": sum(p.stat().st_size for p in files)}


def cache_clear() -> dict:
    """Delete the cache's own files (nothing else in its folder); return :func:`cache_info` from before."""
    before = cache_info()
    for path in _cache_files():
        path.unlink(missing_ok=True)
    return before


def _cache(args) -> int:
    from aehelpers import _cache

    if args.action == "info":
        found = cache_info()
        print(f"weights cache: {found['folder']}\n{found['entries']} entries, {_size(found['bytes'])}"
              + ("" if _cache.enabled() else "\n(the cache is off here: CI, AEHELPERS_NO_CACHE or pytest)"))
    else:
        freed = cache_clear()
        print(f"deleted {freed['entries']} entries from {freed['folder']}, freed {_size(freed['bytes'])}")
    return 0
