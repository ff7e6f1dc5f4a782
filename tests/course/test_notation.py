"""The one source of notation: every notebook carries the current macros and uses only defined ones."""

import json

import nbformat
import pytest

from aehelpers.course import flow, nbfiles, notation
REQUIRED = {"x", "X", "y", "z", "tx", "ip", "loss", "KL", "E", "prs", "qr", "qrs"}


def test_course_notation_is_in_sync_and_complete(repo_root):
    assert notation.problems(repo_root) == []


def test_required_macros_are_defined(repo_root):
    names = {name for name, _, _ in notation.read_macros(repo_root / "Latex_macros.ipynb")}
    assert REQUIRED <= names, f"missing course macros: {sorted(REQUIRED - names)}"


def test_every_notebook_runs_the_macros_first(repo_root):
    """The first code cell after the Colab guard cell (which does nothing outside Colab) runs the macros."""
    for path in sorted((repo_root / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        first_code = next(c for c in nb["cells"] if c["cell_type"] == "code" and nbfiles.source(c).strip()
                          and flow.GUARD_TAG not in nbfiles.tags(c))
        assert "%run ../Latex_macros.ipynb" in nbfiles.source(first_code), path.name


@pytest.fixture
def course(course_root, write_notebook):
    write_notebook("01_demo.ipynb", [nbformat.v4.new_markdown_cell("# Title\n\nThe code $\\z = f(\\x)$."),
                                     "%run ../Latex_macros.ipynb"])
    return course_root


def test_sync_writes_block_once_and_is_idempotent(course):
    assert notation.problems(course) and "missing or out of date" in notation.problems(course)[0]
    assert notation.sync(course) == [course / "notebooks" / "01_demo.ipynb"]
    assert notation.sync(course) == []
    assert notation.problems(course) == []
    text = "".join(json.loads((course / "notebooks" / "01_demo.ipynb").read_text())["cells"][0]["source"])
    assert text.count(notation.BEGIN) == 1 and text.rstrip().endswith("$\\z = f(\\x)$.")


def test_drift_is_detected(course):
    notation.sync(course)
    path = course / "notebooks" / "01_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("\\mathbf{x}", "\\boldsymbol{x}")
    nbformat.write(nb, path)
    assert any("out of date" in p for p in notation.problems(course))


def test_undefined_macro_is_detected_but_code_is_ignored(course):
    path = course / "notebooks" / "01_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("Use $\\enc(\\x)$ and `\\notmath` in code.\n```\n\\alsocode\n```"))
    nbformat.write(nb, path)
    notation.sync(course)
    found = notation.problems(course)
    assert len(found) == 1 and "\\enc" in found[0] and "notmath" not in found[0]


def test_malformed_source_line_is_a_clear_error(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('MACROS = r"""\n\\def\\x{y}\n"""')])
    nbformat.write(nb, tmp_path / "Latex_macros.ipynb")
    with pytest.raises(ValueError, match=r"each MACROS line must be \\newcommand"):
        notation.read_macros(tmp_path / "Latex_macros.ipynb")
