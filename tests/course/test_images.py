"""Every image that the notebooks' markdown cells and the READMEs reference exists.

Checked: markdown images ``![alt](path "title")``, reference-style ``![alt][ref]`` with a
``[ref]: path`` definition, and HTML ``<img src="...">``; paths resolve relative to the file
that references them (a notebook's are relative to ``notebooks/``), with the exact case (a
wrong case works on macOS and Windows but breaks on GitHub and Linux). Web (http, https,
protocol-relative) and ``data:`` URLs are skipped; ``attachment:name`` must be an attachment
of the same cell. Code blocks and inline code are not references.
"""

import json
import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from aehelpers.course.nbfiles import FENCE_RE, source

PATTERNS = ("README.md", "*.ipynb", "notebooks/*.ipynb", "images/*.md")

_INLINE_CODE = re.compile(r"(`+)[^`].*?\1", re.S)
_MD_IMAGE = re.compile(r"!\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
_REF_IMAGE = re.compile(r"!\[((?:[^\]\\]|\\.)*)\]\[([^\]]*)\]")
_REF_DEF = re.compile(r"^[ ]{0,3}\[([^\]]+)\]:[ \t]*(<[^>]*>|\S+)", re.M)
_HTML_IMG = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)
_SKIP = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)   # http:, https:, data:, mailto:, //host


def image_references(markdown: str) -> list[str]:
    """The image targets of a markdown text (markdown, reference-style and HTML images), in
    order; code blocks and inline code are ignored."""
    text = _INLINE_CODE.sub("", FENCE_RE.sub("", markdown))
    definitions = {label.strip().lower(): target.strip("<>") for label, target in _REF_DEF.findall(text)}
    found = []
    for match in sorted([*_MD_IMAGE.finditer(text), *_REF_IMAGE.finditer(text), *_HTML_IMG.finditer(text)],
                        key=lambda m: m.start()):
        if match.re is _MD_IMAGE:
            found.append(match.group(1).strip("<>"))
        elif match.re is _REF_IMAGE:
            label = (match.group(2) or match.group(1)).strip().lower()
            found.append(definitions.get(label, f"[undefined reference {label!r}]"))
        else:
            found.append(next(g for g in match.groups() if g is not None))
    return found


def _exists_exact_case(path: Path) -> bool:
    """True if ``path`` exists with exactly this spelling of every component."""
    path = Path(os.path.abspath(path))   # "notebooks/../images" -> "images", without following links
    if not path.exists():
        return False
    for part in (path, *path.parents):
        if part.parent == part:
            break
        if part.name not in {p.name for p in part.parent.iterdir()}:
            return False
    return True


def _markdown_sources(path: Path):
    """(where, markdown text, attachment names) for each markdown source in ``path``."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        for i, cell in enumerate(cells):
            if cell.get("cell_type") == "markdown":
                yield f"cell {i}", source(cell), set(cell.get("attachments") or {})
    else:
        yield "", path.read_text(encoding="utf-8"), set()


def broken_image_references(root: Path, patterns=PATTERNS) -> list[str]:
    """One line per image reference under ``root`` that does not resolve."""
    problems = []
    for pattern in patterns:
        for path in sorted(Path(root).glob(pattern)):
            for where, text, attachments in _markdown_sources(path):
                place = f"{path.relative_to(root)}{' ' + where if where else ''}"
                for target in image_references(text):
                    if target.lower().startswith("attachment:"):
                        if unquote(target.split(":", 1)[1]) not in attachments:
                            problems.append(f"{place}: {target} is not an attachment of that cell")
                        continue
                    if _SKIP.match(target):
                        continue
                    local = unquote(re.split(r"[?#]", target, maxsplit=1)[0])
                    if not local or local.startswith("[undefined"):
                        problems.append(f"{place}: image {target!r} has no usable path")
                    elif local.startswith("/"):
                        problems.append(f"{place}: {target} is absolute; use a path relative to {path.name}")
                    elif not _exists_exact_case(path.parent / local):
                        problems.append(f"{place}: {target} does not exist (relative to {path.parent.relative_to(root) or '.'}/)")
    return problems


def test_every_image_reference_resolves(repo_root):
    assert broken_image_references(repo_root) == []


def test_reference_forms_are_found():
    text = """
![a](../images/vae.png) and ![b](<../images/with space.png> "t") ![c](x.png 'title')
<img src="../images/cvae.png" width=400> <IMG alt=x SRC='y.png'> <img src=z.png>
![ref form][r1] ![implicit][]
[r1]: ../images/r1.png
[implicit]: <i.png>
![web](https://example.org/a.png) ![inline](data:image/png;base64,AAAA)
`![code](not_a_ref.png)`
```
![fenced](not_a_ref_either.png)
```
"""
    assert image_references(text) == [
        "../images/vae.png", "../images/with space.png", "x.png", "../images/cvae.png", "y.png", "z.png",
        "../images/r1.png", "i.png", "https://example.org/a.png", "data:image/png;base64,AAAA",
    ]


def test_broken_references_are_reported(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "vae.png").write_bytes(b"png")
    (tmp_path / "notebooks").mkdir()
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["![ok](../images/vae.png)\n", "![bad](images/vae.png)"]},
        {"cell_type": "code", "metadata": {}, "source": "# ![not markdown](nope.png)", "outputs": [], "execution_count": None},
        {"cell_type": "markdown", "metadata": {}, "source": "<img src='../images/VAE.png'> ![w](http://x/y.png)"},
        {"cell_type": "markdown", "metadata": {}, "attachments": {"a.png": {"image/png": "AAAA"}},
         "source": "![att](attachment:a.png) ![missing](attachment:b.png) ![abs](/images/vae.png)"},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "notebooks" / "01_x.ipynb").write_text(json.dumps(nb))
    (tmp_path / "README.md").write_text("![fine](images/vae.png)\n![gone](images/gone%20now.png#frag)\n")
    assert broken_image_references(tmp_path) == [
        "README.md: images/gone%20now.png#frag does not exist (relative to ./)",
        "notebooks/01_x.ipynb cell 0: images/vae.png does not exist (relative to notebooks/)",
        "notebooks/01_x.ipynb cell 2: ../images/VAE.png does not exist (relative to notebooks/)",
        "notebooks/01_x.ipynb cell 3: attachment:b.png is not an attachment of that cell",
        "notebooks/01_x.ipynb cell 3: /images/vae.png is absolute; use a path relative to 01_x.ipynb",
    ]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_checked_files_exist(pattern, repo_root):
    assert list(repo_root.glob(pattern)), f"no file matches {pattern}: the reference check would pass vacuously"
