"""The datasets from a shell: ``python -m aehelpers.course data fetch|verify``.

``fetch`` downloads what is missing into the Keras cache (``--all`` or dataset names); ``verify``
prints every known file found on this machine and whether its SHA-256 is genuine, and exits 1 when
a dataset has no genuine full copy. :func:`available` and :func:`status` tell the test suite and the
runner which datasets a run can use. The loaders themselves are :mod:`aehelpers.datasets`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aehelpers import datasets as ds


class DownloadError(OSError):
    """A dataset could not be downloaded."""


def _canonical(name) -> str:
    key = str(name).strip().lower().replace("_", "-")
    if key not in ds.DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(ds.DATASETS)} ('fashion_mnist' is accepted too)")
    return key


def locate(name, data_dir=None):
    """Return the verified local ``DataSource`` a loader would use for ``name``, or None (never
    downloads). Introduced in the README (datasets)."""
    return ds._find_local(_canonical(name), data_dir)[0]


def available(name, data_dir=None) -> bool:
    """Return True if a verified full copy of ``name`` exists locally. Introduced in the README (datasets)."""
    return locate(name, data_dir) is not None


def status() -> dict[str, str]:
    """Return, per dataset, "full" or "missing: fallback or error", for the results table.
    Introduced in the README (the course runner)."""
    return {name: "full" if available(name) else "missing: fallback or error" for name in ds.DATASETS}


def fetch(name=None, *, force: bool = False) -> list[Path]:
    """Download ``name`` (every dataset if None) into the Keras cache unless a verified copy is
    already available (``force=True`` downloads again); return the files' paths. Raises
    ``DownloadError`` when a download fails. Introduced in the README (datasets)."""
    paths = []
    for n in ds.DATASETS if name is None else (_canonical(name),):
        src = None if force else locate(n)
        if src is not None:
            print(f"{n}: already available ({src.kind} {src.root})")
        else:
            src, reason = ds._download_dataset(n, force=force)
            if src is None:
                raise DownloadError(f"could not fetch {n}: {reason}")
        paths.extend(src.paths)
    return paths


def verify(data_dir=None) -> list[tuple[str, str, Path | None, bool]]:
    """Return ``(dataset, file, location, genuine)`` for every copy of every known file found
    locally, and ``(…, None, False)`` for a file found nowhere. Introduced in the README (datasets)."""
    rows = []
    for name in ds.DATASETS:
        seen: dict[str, list[Path]] = {}
        for src in ds._candidates(name, data_dir)[0]:
            for key, path in src.files.items():
                found = seen.setdefault(key, [])
                if path.is_file() and path not in found:
                    found.append(path)
                    rows.append((name, key, path, ds._sha256(path) == ds.SHA256[key]))
        rows += [(name, key, None, False) for key, found in seen.items() if not found]
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``fetch [--all | NAME ...] [--force]`` and ``verify [--data-dir DIR]`` to ``parser``.
    Introduced in the README (datasets)."""
    sub = parser.add_subparsers(dest="action", required=True)
    p_fetch = sub.add_parser("fetch", help="download datasets into the Keras cache")
    p_fetch.add_argument("names", nargs="*", metavar="NAME", help=" | ".join(ds.DATASETS))
    p_fetch.add_argument("--all", action="store_true", help="fetch every dataset")
    p_fetch.add_argument("--force", action="store_true", help="download even if present")
    p_verify = sub.add_parser("verify", help="check every known file against its sha256")
    p_verify.add_argument("--data-dir", default=None, help="also look in this folder")


def run(args: argparse.Namespace) -> int:
    """Do what the parsed ``data`` command says; return its exit code. Introduced in the README (datasets)."""
    import sys

    try:
        if args.action == "fetch":
            if not args.all and not args.names:
                print("error: name the datasets to fetch, or use --all", file=sys.stderr)
                return 2
            for name in [None] if args.all else args.names:
                fetch(name, force=args.force)
            return 0
        table = [("dataset", "file", "location", "status")]
        for name, key, path, genuine in verify(args.data_dir):
            state = ("missing (optional)" if key == "mnist.npz" else "missing") if path is None else \
                "genuine" if genuine else "CORRUPT (sha256 mismatch)"
            table.append((name, key, str(path or "-"), state))
        widths = [max(len(row[i]) for row in table) for i in range(3)]
        for row in table:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3])
        incomplete = [n for n in ds.DATASETS if ds._find_local(n, args.data_dir, warn=False)[0] is None]
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if incomplete:
        print(f"\nNo genuine full copy of: {', '.join(incomplete)}. {ds.HOW_TO_GET}")
        return 1
    print("\nEvery dataset has a genuine full copy.")
    return 0
