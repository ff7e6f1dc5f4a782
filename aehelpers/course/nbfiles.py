"""What the course tools share: the checkout and its notebooks, reading and writing them, a cell's
text, tags and headings, the notebook title, the Setup's imports cell, text between two markers and
``results/results.json``. The base of :mod:`aehelpers.course`: it imports no other module of it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MACROS_NAME = "Latex_macros.ipynb"
MACROS_RUN = f"%run ../{MACROS_NAME}"   # the first line of every notebook's imports cell
RESULTS_JSON = Path("results") / "results.json"
#: A fenced code block (```/~~~ up to the same fence), where nothing is a heading or an image.
FENCE_RE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.M | re.S)
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$", re.M)


def repo_root() -> Path:
    """Return the course checkout (a folder with ``Latex_macros.ipynb`` and ``notebooks/``): the
    current directory or a parent of it, else the checkout this package is installed from
    (editable install). Raises FileNotFoundError outside a checkout. Introduced in the README (Layout)."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents, Path(__file__).resolve().parents[2]):
        if (folder / MACROS_NAME).is_file() and (folder / "notebooks").is_dir():
            return folder
    raise FileNotFoundError(f"could not find the course checkout (a folder with {MACROS_NAME} and notebooks/); "
                            "run this from inside the autoencoders-course repository")


def notebook_paths(root: Path, only=None) -> list[Path]:
    """Return the course notebooks ``notebooks/NN_*.ipynb`` of ``root`` in order, optionally only
    those whose names start with one of ``only`` (e.g. ``["01"]``). Raises FileNotFoundError when
    there are none, ValueError when ``only`` matches none. Introduced in the README (Use)."""
    folder = Path(root) / "notebooks"
    if not folder.is_dir():
        raise FileNotFoundError(f"no notebooks folder at {folder}: run this inside the course checkout (or pass its root)")
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no course notebooks (NN_name.ipynb) in {folder}")
    if only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in only)]
        if not paths:
            raise ValueError(f"no notebook in {folder} starts with {', '.join(only)}")
    return paths


def read(path: Path):
    """Return the notebook at ``path`` (an ``nbformat`` node, version 4). Introduced in the README (Layout)."""
    import nbformat

    return nbformat.read(path, as_version=4)


def write(path: Path, nb) -> None:
    """Write notebook ``nb`` (a node or a plain dict) to ``path``. Introduced in the README (Layout)."""
    import nbformat

    nbformat.write(nbformat.from_dict(nb), path)


def source(cell) -> str:
    """Return a cell's source as one string (notebook files may store a list of lines).
    Introduced in the README (Layout)."""
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def tags(cell) -> list[str]:
    """Return a cell's tags (``metadata.tags``). Introduced in the README (Layout)."""
    return list(cell.get("metadata", {}).get("tags", []))


def add_tag(meta: dict, tag: str) -> None:
    """Add ``tag`` to a cell's metadata ``meta`` once. Introduced in the README (Layout)."""
    found = meta.setdefault("tags", [])
    if tag not in found:
        found.append(tag)


def headings(cell) -> list[tuple[int, str]]:
    """Return a markdown cell's headings as ``(level, text)``, ignoring fenced code.
    Introduced in the README (Layout)."""
    if cell.get("cell_type") != "markdown":
        return []
    return [(len(m.group(1)), m.group(2).strip()) for m in _HEADING_RE.finditer(FENCE_RE.sub("", source(cell)))]


def title(nb, default: str = "") -> str:
    """Return the text of the notebook's first ``# `` heading (its title), else ``default``.
    Introduced in the README (Layout)."""
    return next((text for cell in nb["cells"] for level, text in headings(cell) if level == 1), default)


def runs_macros(cell) -> bool:
    """Return True for the Setup's imports cell: the code cell that runs ``../Latex_macros.ipynb``.
    Introduced in the README (Layout)."""
    return cell.get("cell_type") == "code" and MACROS_RUN in source(cell)


def replace_between(text: str, begin: str, end: str, inner: str, *, prepend: bool = False) -> str:
    """Return ``text`` with what lies between the markers ``begin`` and ``end`` replaced by ``inner``
    (one line break on each side). Without both markers, ``text`` unchanged, or with
    ``prepend=True`` the marked block and a blank line put before it. Introduced in the README (Layout)."""
    block = f"{begin}\n{inner}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        return head + block + rest.split(end, 1)[1]
    return f"{block}\n\n{text}" if prepend else text


def read_rows(path: Path) -> list[dict]:
    """Return the notebooks' rows of a course results table (``results/results.json``, written by
    ``python -m aehelpers.course run``). Raises FileNotFoundError when it is missing, ValueError
    when it is unreadable. Introduced in the README (Use)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python -m aehelpers.course run` first")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["notebooks"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a course results table ({exc}); run `python -m aehelpers.course run`") from None
    return [row for row in rows if isinstance(row, dict) and "notebook" in row]
