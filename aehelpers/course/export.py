"""Classroom publishing: the executed course notebooks as standalone HTML pages, an index page
and reveal.js slides, plus the slide metadata that makes each notebook flow as a lecture.

Command line (from the course checkout)::

    python -m aehelpers.course export                      # into results/export/
    python -m aehelpers.course export --out site --mathjax ~/.cache/aehelpers/mathjax
    python -m aehelpers.course sync-slides                 # write the slide metadata
    python -m aehelpers.course sync-slides --check         # exit 1 if it drifted

:func:`export_course` converts the committed notebooks as they are (it never executes them) with
nbconvert's ``HTMLExporter`` (``NN_name.html``) and ``SlidesExporter`` (``NN_name.slides.html``)
and writes ``index.html`` listing them in course order. The output folder works on its own:

* images a markdown cell references by a relative path (``../images/NAME.png``, relative to
  ``notebooks/``) are **embedded as data URIs**, like the figures in the cell outputs, so every
  page is one self-contained file (a missing image is a FileNotFoundError, never a broken page);
* the course macros travel inside each notebook's first markdown cell (see
  :mod:`aehelpers.course.notation`), so ``Latex_macros.ipynb`` is not needed beside the pages;
* MathJax is loaded from nbconvert's default CDN URL (MathJax 2.7), or from ``--mathjax``: a URL,
  or a local MathJax 2 folder (e.g. ``npm install mathjax@2.7.7``) that is copied into
  ``OUT/mathjax/`` and referenced relatively, so formulas render offline.

The slides still load reveal.js, require.js and jQuery from nbconvert's default CDNs. Each
slide's math re-render is queued behind MathJax's first pass (see ``_SLIDE_RERENDER``), so a
slide opened by a deep link (``#/5/1``) never shows the course macros undefined.

:func:`slide_types` holds the slide rules once; :func:`sync_slides` writes them into each
notebook's cell metadata (``slideshow.slide_type``, nothing else) and :func:`slide_problems`,
run by the test suite, fails when the committed metadata drifts from them.
"""

from __future__ import annotations

import base64
import html
import mimetypes
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

from aehelpers.course import nbfiles
from aehelpers.course.flow import GUARD_TAG, NAV_TAG, SOLUTION_TAG

# Slide types a cell can have (JupyterLab's "Slide Type" in the property inspector).
SLIDE, SUBSLIDE, CONTINUE, SKIP = "slide", "subslide", "-", "skip"
SETUP_HEADING = "Setup"
IMAGE_MIMETYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
MATHJAX_DIR = "mathjax"  # where a local MathJax copy goes inside the export folder

_IMAGE_ONLY_RE = re.compile(r"!\[[^\]]*\]\([^)\s]+\)")   # a markdown cell that is one image, e.g. a diagram
_IMG_SRC_RE = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]*)(")', re.I)
# nbconvert's reveal template re-renders the math of a slide on every slide change, at once. On a
# deep link (#/5/1, e.g. reloading mid-lecture) that runs while MathJax's first pass is still
# going, parses the slide's formulas before the title slide's \newcommand lines and shows the
# course macros as red "\z" (about every other load in headless Chromium). Queued behind MathJax's
# own work, the re-render always comes after the definitions.
_SLIDE_RERENDER = ("MathJax.Hub.Rerender(Reveal.getCurrentSlide());",
                   'MathJax.Hub.Queue(["Rerender", MathJax.Hub, Reveal.getCurrentSlide()]);')


def _slide_type(cell) -> str:
    """A cell's committed slide type; JupyterLab writes "" (or nothing) for "-"."""
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type") or CONTINUE


def _is_image_only(cell) -> bool:
    return cell["cell_type"] == "markdown" and bool(_IMAGE_ONLY_RE.fullmatch(nbfiles.source(cell).strip()))


def _left_out(cell) -> bool:
    """The navigation cell, the Colab guard and the solutions: skipped by the slides, left out of the exports."""
    return bool({NAV_TAG, GUARD_TAG, SOLUTION_TAG} & set(nbfiles.tags(cell)))


def _has_image_output(cell) -> bool:
    return any(mime in out.get("data", {}) for out in cell.get("outputs", []) for mime in IMAGE_MIMETYPES)


def slide_types(nb) -> list[str]:
    """Return the reveal.js slide type of every cell of notebook ``nb`` by the course's slide
    rules, in cell order:

    * the first markdown cell (title, notation, learning goals) is the title ``"slide"``;
    * the ``## Setup`` markdown cell and the code cells right after it (up to the next markdown
      cell), and any code cell that runs ``%run ../Latex_macros.ipynb``, are ``"skip"``;
    * a markdown cell with a ``#``/``##`` heading starts a ``"slide"`` (one idea per slide), one
      whose largest heading is ``###`` a ``"subslide"`` (a heading in the middle of a cell
      still moves the whole cell: the rules never split cells);
    * a code cell whose outputs include an image gets a ``"subslide"`` (figures on their own);
    * so does a markdown cell that is only an image (a diagram from ``images/``), and the cell
      after it starts a new ``"subslide"`` too, so the diagram has the slide to itself;
    * the navigation cell, the Colab guard and the solutions (tags ``course-nav``, ``colab-guard``,
      ``solution``; see :mod:`aehelpers.course.flow`) are ``"skip"``;
    * everything else continues the current slide (``"-"``).

    Introduced in the README (How to present)."""
    cells = nb["cells"]
    types = [CONTINUE] * len(cells)
    first_markdown = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"), None)
    in_setup = False
    for i, cell in enumerate(cells):
        headings = nbfiles.headings(cell)
        if cell["cell_type"] == "markdown":
            in_setup = bool(headings) and headings[0] == (2, SETUP_HEADING)
        top = min((level for level, _ in headings), default=None)
        if in_setup or nbfiles.runs_macros(cell) or _left_out(cell):
            types[i] = SKIP
        elif i == first_markdown or (top is not None and top <= 2):
            types[i] = SLIDE
        elif top == 3:
            types[i] = SUBSLIDE
        elif (cell["cell_type"] == "code" and _has_image_output(cell)) or _is_image_only(cell) \
                or (i > 0 and _is_image_only(cells[i - 1])):
            types[i] = SUBSLIDE
    return types


def _course_notebooks(root) -> list[Path]:
    return nbfiles.notebook_paths(root if root is not None else nbfiles.repo_root())


def sync_slides(root: Path | None = None) -> list[Path]:
    """Write the slide type of :func:`slide_types` into every course notebook's cell metadata
    (``metadata.slideshow.slide_type``; sources and outputs are never touched). Returns the
    notebooks it changed. Introduced in the README (How to present)."""
    changed = []
    for path in _course_notebooks(root):
        nb = nbfiles.read(path)
        dirty = False
        for cell, wanted in zip(nb.cells, slide_types(nb)):
            slideshow = cell.metadata.setdefault("slideshow", {})
            if _slide_type(cell) != wanted or "slide_type" not in slideshow:  # "" from JupyterLab stays "-"
                slideshow["slide_type"] = wanted
                dirty = True
        if dirty:
            nbfiles.write(path, nb)
            changed.append(path)
    return changed


def slide_problems(root: Path | None = None) -> list[str]:
    """Return one line per course notebook whose committed slide metadata differs from
    :func:`slide_types` (empty when all agree). The test suite fails on any entry.
    Introduced in the README (How to present)."""
    found = []
    for path in _course_notebooks(root):
        nb = nbfiles.read(path)
        wrong = [(i, cell.metadata.get("slideshow", {}).get("slide_type"), wanted)
                 for i, (cell, wanted) in enumerate(zip(nb.cells, slide_types(nb))) if _slide_type(cell) != wanted]
        if wrong:
            i, has, wanted = wrong[0]
            found.append(f"{path.name}: {len(wrong)} cell(s) differ from the slide rules (first: cell {i} has "
                         f"{has!r}, the rules say {wanted!r}); run `python -m aehelpers.course sync-slides`")
    return found


def _require_executed(nb, path: Path) -> None:
    code = [(i, c) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and nbfiles.source(c).strip() and not _left_out(c)]  # the guard need not have run
    unrun = [i for i, c in code if c.get("execution_count") is None]
    if code and (unrun or not any(c.get("outputs") for _, c in code)):
        which = f"code cell(s) {', '.join(map(str, unrun[:5]))}{' …' if len(unrun) > 5 else ''} never ran" if unrun else "no outputs"
        raise ValueError(f"{path.name} is not executed ({which}): export publishes the committed outputs and never runs "
                         f"a notebook; execute it first (`python -m aehelpers.course run --inplace --only {path.name[:2]}`)")


def _embed_images(page: str, base: Path, name: str) -> str:
    """Replace every ``<img src>`` that is a relative file path by a data URI of that file."""
    def embed(match):
        src = html.unescape(match.group(2))
        if not src or re.match(r"^(data:|[a-z][a-z0-9+.-]*://|//|#)", src, re.I):
            return match.group(0)
        path = (base / unquote(src.split("?", 1)[0].split("#", 1)[0])).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"{name}: image {src!r} not found (looked for {path}); the export embeds every "
                                    "image a notebook references, so the file must exist")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"{match.group(1)}data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}{match.group(3)}"

    return _IMG_SRC_RE.sub(embed, page)


def _mathjax_url(mathjax: str | None, out: Path) -> str | None:
    """nbconvert's ``mathjax_url`` for ``--mathjax``: None (nbconvert's CDN default), a URL as
    given, or a local MathJax 2 folder copied into ``out/mathjax`` and referenced relatively."""
    from nbconvert.exporters.html import HTMLExporter

    if not mathjax:
        return None
    if re.match(r"^([a-z][a-z0-9+.-]*:)?//", mathjax, re.I):
        return mathjax
    given = Path(mathjax).expanduser()
    candidates = [given.parent] if given.name == "MathJax.js" else [given, given / "node_modules" / "mathjax"]
    folder = next((c for c in candidates if (c / "MathJax.js").is_file()), None)
    if folder is None:
        if given.is_dir() and any(given.rglob("tex-chtml*.js")):
            raise ValueError(f"{given} holds MathJax 3, but nbconvert's templates configure MathJax 2 "
                             "(MathJax.Hub); install a MathJax 2 copy: npm install mathjax@2.7.7")
        raise FileNotFoundError(f"--mathjax {mathjax}: no MathJax.js there (give a URL, or a folder with a MathJax 2 "
                                "copy, e.g. after `npm install --prefix DIR mathjax@2.7.7`)")
    folder, out = folder.resolve(), out.resolve()
    if out != folder and out not in folder.parents:  # not already inside the export: copy it in
        if folder in out.parents:
            raise ValueError(f"--out {out} lies inside the MathJax folder {folder}; choose another output folder")
        shutil.copytree(folder, out / MATHJAX_DIR, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("unpacked", "test", "docs", "*.md", "eot", "svg"))
        folder = out / MATHJAX_DIR
    config = HTMLExporter.mathjax_url.default_value.split("?", 1)[1]  # config=TeX-AMS_CHTML-full,Safe
    return f"{(folder / 'MathJax.js').relative_to(out).as_posix()}?{config}"


def _index_page(entries: list[tuple[str, str, str]]) -> str:
    rows = "\n".join(
        f'  <li><a href="{html.escape(page)}">{html.escape(title)}</a> '
        f'<span class="slides">(<a href="{html.escape(slides)}">slides</a>)</span></li>'
        for title, page, slides in entries)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Autoencoders course</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }}
  li {{ margin: 0.5rem 0; }} .slides {{ color: #666; }}
</style>
</head>
<body>
<h1>Autoencoders course</h1>
<p>The notebooks in course order, as executed (exported with <code>python -m aehelpers.course export</code>).
Each page is self-contained; the slides are reveal.js presentations (arrow keys, <kbd>Esc</kbd> for the overview).</p>
<ol>
{rows}
</ol>
</body>
</html>
"""


def export_course(root: Path | None = None, out: Path | None = None, *, mathjax: str | None = None) -> Path:
    """Export every executed course notebook (no re-execution) into ``out`` (default
    ``results/export/``): ``NN_name.html`` (nbconvert HTMLExporter), ``NN_name.slides.html``
    (SlidesExporter, using the committed slide metadata) and ``index.html`` listing them in
    course order with their titles. Relative images are embedded as data URIs; ``mathjax`` is a
    URL or a local MathJax 2 folder (copied into ``out/mathjax``), default nbconvert's CDN.
    Raises FileNotFoundError without notebooks, ValueError for an unexecuted notebook or an
    ``out`` that is a file. Returns the path of ``index.html``.
    Introduced in the README (How to present)."""
    from nbconvert import HTMLExporter, SlidesExporter

    root = Path(root) if root is not None else nbfiles.repo_root()
    out = Path(out) if out is not None else root / "results" / "export"
    paths = _course_notebooks(root)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder (it is created if missing)")
    notebooks = []
    for path in paths:  # check them all before writing anything
        nb = nbfiles.read(path)
        _require_executed(nb, path)
        notebooks.append((path, nb))
    out.mkdir(parents=True, exist_ok=True)
    url = _mathjax_url(mathjax, out)
    options = {"mathjax_url": url} if url else {}
    exporters = {".html": HTMLExporter(**options),
                 ".slides.html": SlidesExporter(**options, reveal_scroll=True, reveal_number="c/t")}
    entries = []
    for path, nb in notebooks:
        title = nbfiles.title(nb, path.stem)
        nb.metadata["title"] = title  # the pages' <title>
        nb.cells = [cell for cell in nb.cells if not _left_out(cell)]  # links to .ipynb, hidden solutions
        for suffix, exporter in exporters.items():
            body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem, "path": str(path.parent)}})
            body = _embed_images(body, path.parent, path.name).replace(*_SLIDE_RERENDER)
            (out / f"{path.stem}{suffix}").write_text(body, encoding="utf-8")
        entries.append((title, f"{path.stem}.html", f"{path.stem}.slides.html"))
    index = out / "index.html"
    index.write_text(_index_page(entries), encoding="utf-8")
    return index
