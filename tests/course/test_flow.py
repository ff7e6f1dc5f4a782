"""Lecture flow (aehelpers.course.flow): navigation cells, the Colab guard cell, solutions and the README index."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from aehelpers.course import export, flow


def test_committed_course_is_in_sync(repo_root):
    """Fails when a notebook's navigation, guard or solutions, or the README index, drift."""
    assert flow.problems(repo_root) == []


def _course(tmp_path: Path, n: int = 3, exercises: int = 2, solutions: int = 2) -> Path:
    (tmp_path / "notebooks").mkdir(parents=True)
    for i in range(1, n + 1):
        when = "about 1.5 minutes on a laptop." if i == 2 else "soon (no GPU needed)."   # any old wording is replaced
        cells = [nbformat.v4.new_markdown_cell(f"# 0{i} · Topic {i}: long subtitle\n\n**Estimated run time:** {when}\n\nGoals."),
                 nbformat.v4.new_markdown_cell("## Setup"),
                 nbformat.v4.new_code_cell("%run ../Latex_macros.ipynb\nimport numpy"),
                 nbformat.v4.new_markdown_cell("## Summary\n\n* a point\n\n### Exercises\n\n"
                                               + "".join(f"{k}. Do {k}.\n" for k in range(1, exercises + 1)))]
        cells += [nbformat.v4.new_code_cell(f"{flow.SOLUTION_PREFIX}{k}\nprint({k})") for k in range(1, solutions + 1)]
        nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "notebooks" / f"0{i}_topic.ipynb")
    (tmp_path / "results").mkdir()
    rows = [{"notebook": f"0{i}_topic", "wall_time_s": 10.0 * i,
             "metrics": [{"name": "auroc", "value": 0.9, "goal": ">= 0.8", "passed": True, "unit": ""},
                         {"name": "plain", "value": 1.0, "goal": None, "passed": None}]} for i in range(1, n + 1)]
    (tmp_path / "results" / "results.json").write_text(json.dumps({"notebooks": rows}))
    (tmp_path / "README.md").write_text(f"# course\n\n{flow.INDEX_BEGIN}\nold\n{flow.INDEX_END}\n\nrest\n"
                                        f"{flow.CHECKS_BEGIN}\n{flow.CHECKS_END}\n")
    return tmp_path


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setattr(flow, "KEY_RESULTS", {f"0{i}": (lambda m, i=i: f"result {i}") for i in range(1, 4)})


def test_sync_writes_navigation_guard_solutions_and_index(tmp_path, keys):
    root = _course(tmp_path)
    assert flow.problems(root)  # drifted before the sync
    changed = flow.sync(root)
    assert len(changed) == 4 and flow.problems(root) == [] and flow.sync(root) == []  # idempotent
    first, middle, last = (nbformat.read(p, as_version=4) for p in sorted((root / "notebooks").glob("*.ipynb")))
    nav = middle.cells[1]
    assert flow.NAV_TAG in nav.metadata.tags
    assert "← previous: [01 · Topic 1](01_topic.ipynb)" in nav.source and "next: [03 · Topic 3](03_topic.ipynb) →" in nav.source
    assert "colab.research.google.com/github/autoencoders-course/autoencoders-course/blob/main/notebooks/02_topic.ipynb" in nav.source
    assert "previous" not in first.cells[1].source and "next" not in last.cells[1].source
    guard, imports = middle.cells[3], middle.cells[4]  # the guard cell right before the imports cell
    assert guard.cell_type == "code" and guard.source == flow.guard_source() and guard.source.count("os.chdir(") == 1
    assert f'"AEHELPERS_COURSE_REPO", "{flow.COURSE_REPO}"' in guard.source
    assert guard.metadata.tags == [flow.GUARD_TAG] and guard.metadata.jupyter == {"source_hidden": True}
    assert guard.metadata.slideshow == {"slide_type": "skip"} and guard.metadata.cellView == "form"
    assert imports.source == "%run ../Latex_macros.ipynb\nimport numpy"  # reads on its own
    solution = middle.cells[-1]
    assert solution.metadata.jupyter == {"source_hidden": True, "outputs_hidden": True}
    assert flow.SOLUTION_TAG in solution.metadata.tags and solution.metadata.cellView == "form"
    assert ("**Estimated run time:** about 1 minute on a 2-core CPU, no GPU needed. Measured for the "
            "outputs shown: 20 s for the lesson, as its `record_wall_time` cells print them; 20 s in all as timed by "
            "`python -m aehelpers.course run`, kernel start included.") in middle.cells[0].source
    assert middle.cells[0].source.endswith('between runs (README, "Where the time goes").\n\nGoals.')
    assert middle.cells[0].source.startswith("# 02 · Topic 2: long subtitle\n\n**Estimated")   # only that line changed
    readme = (root / "README.md").read_text()
    assert "| 02 | [Topic 2](notebooks/02_topic.ipynb) | 20 s | result 2 |" in readme and "old" not in readme
    assert "| 02_topic | 20 s | `auroc` | 0.9 | >= 0.8 | ✔ |" in readme and "`plain`" not in readme
    assert readme.endswith(f"\n\nrest\n{flow.CHECKS_BEGIN}\n| notebook | runner wall time (incl. kernel start) | check "
                           f"| value | goal | pass |\n|---|---:|---|---:|---|:---:|\n"
                           f"| 01_topic | 10 s | `auroc` | 0.9 | >= 0.8 | ✔ |\n| 02_topic | 20 s | `auroc` | 0.9 | >= 0.8 | ✔ |\n"
                           f"| 03_topic | 30 s | `auroc` | 0.9 | >= 0.8 | ✔ |\n{flow.CHECKS_END}\n")


def test_problems_name_a_missing_solution_and_a_stale_index(tmp_path, keys):
    root = _course(tmp_path, exercises=3, solutions=2)
    flow.sync(root)
    found = flow.problems(root)
    assert len(found) == 3 and all("solutions for exercises [1, 2], but the Summary lists 3" in f for f in found)
    root = _course(tmp_path / "b")
    flow.sync(root)
    (root / "results" / "results.json").write_text(json.dumps({"notebooks": [
        {"notebook": "01_topic", "wall_time_s": 99.0, "metrics": []}]}))
    assert [f.split(":")[0] for f in flow.problems(root)] == ["01_topic.ipynb", "README.md"]  # run time, index


def test_rows_of_notebooks_no_longer_in_the_course_are_left_out_of_the_readme(tmp_path, keys):
    root = _course(tmp_path)
    table = json.loads((root / "results" / "results.json").read_text())
    table["notebooks"].insert(0, {"notebook": "00_renamed", "wall_time_s": 5.0, "metrics": [
        {"name": "gone", "value": 1.0, "goal": "> 0", "passed": True, "unit": ""}]})
    (root / "results" / "results.json").write_text(json.dumps(table))
    flow.sync(root)
    readme = (root / "README.md").read_text()
    assert "00_renamed" not in readme and "`gone`" not in readme and "| 01_topic | 10 s | `auroc` |" in readme


def test_a_moved_navigation_cell_and_a_shown_solution_are_drift(tmp_path, keys):
    root = _course(tmp_path)
    flow.sync(root)
    path = root / "notebooks" / "02_topic.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(3, nb.cells.pop(1))
    nb.cells[-1].metadata.jupyter["source_hidden"] = False
    nbformat.write(nb, path)
    assert [f.split(":")[0] for f in flow.problems(root)] == ["02_topic.ipynb"]
    flow.sync(root)
    assert flow.problems(root) == []


def test_index_and_key_results_fail_clearly(tmp_path):
    root = _course(tmp_path)
    (root / "results" / "results.json").unlink()
    with pytest.raises(FileNotFoundError, match="course run"):
        flow.index_table(flow.load(root))
    with pytest.raises(ValueError, match="no metric 'ae_auroc'"):
        flow.key_result("04", {"metrics": [{"name": "other", "value": 1.0}]})
    assert flow.key_result("04", None) == "not run yet"


def test_every_notebook_has_a_key_result_and_the_repo_url_is_a_github_address(repo_root):
    assert sorted(flow.KEY_RESULTS) == sorted(p.name[:2] for p in (repo_root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    with pytest.raises(ValueError, match="https://github.com/OWNER/NAME"):
        flow.colab_url("01_x.ipynb", repo="https://gitlab.com/a/b")


def test_exports_leave_out_navigation_guard_and_solutions():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 01 · T"),
        nbformat.v4.new_markdown_cell("links", metadata={"tags": [flow.NAV_TAG]}),
        nbformat.v4.new_code_cell(flow.guard_source(), metadata={"tags": [flow.GUARD_TAG]}),
        nbformat.v4.new_code_cell(f"{flow.SOLUTION_PREFIX}1\n1", metadata={"tags": [flow.SOLUTION_TAG]})])
    assert export.slide_types(nb) == ["slide", "skip", "skip", "skip"]


OLD_SETUP = f"""{flow.OLD_GUARD_BEGIN}
import os
if os.environ.get("AEHELPERS_FORCE_COLAB"):
    %pip install --quiet ./autoencoders-course
    %cd autoencoders-course/notebooks
{flow.OLD_GUARD_END}

%run ../Latex_macros.ipynb
import numpy"""


def test_sync_moves_an_old_guard_out_of_the_imports_cell(tmp_path, keys):
    root = _course(tmp_path)
    path = root / "notebooks" / "02_topic.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source, nb.cells[2].execution_count = OLD_SETUP, 1
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="numpy imported\n")]
    nbformat.write(nb, path)
    assert any(f.startswith("02_topic.ipynb: run-time line, navigation cell, Colab guard cell") for f in flow.problems(root))
    flow.sync(root)
    assert flow.problems(root) == [] and flow.sync(root) == []
    cells = nbformat.read(path, as_version=4).cells
    assert [flow.GUARD_TAG in c.metadata.get("tags", []) for c in cells].count(True) == 1
    assert cells[3].source == flow.guard_source() and cells[3].outputs == []
    assert cells[4].source == "%run ../Latex_macros.ipynb\nimport numpy" and flow.OLD_GUARD_END not in cells[4].source
    assert cells[4].outputs[0].text == "numpy imported\n" and cells[4].execution_count == 1  # outputs kept


def test_the_guard_cell_moves_back_before_the_imports_cell_and_stays_one(tmp_path, keys):
    root = _course(tmp_path)
    flow.sync(root)
    path = root / "notebooks" / "01_topic.ipynb"
    nb = nbformat.read(path, as_version=4)
    guard = nb.cells.pop(3)
    guard.metadata.jupyter["source_hidden"] = False
    nb.cells.append(guard)
    nb.cells.append(nbformat.v4.new_code_cell("duplicate", metadata={"tags": [flow.GUARD_TAG]}))
    nbformat.write(nb, path)
    assert [f.split(":")[0] for f in flow.problems(root)] == ["01_topic.ipynb"]
    flow.sync(root)
    assert flow.problems(root) == []
    cells = nbformat.read(path, as_version=4).cells
    assert [c.source for c in cells].count(flow.guard_source()) == 1 and "duplicate" not in [c.source for c in cells]
    assert cells[3].id == guard.id and cells[3].metadata.jupyter.source_hidden  # the same cell, hidden again


def test_guard_source_is_python_with_one_address():
    source = flow.guard_source("https://example.org/fork.git")
    compile(source, "guard", "exec")  # plain Python: no ! or % magics
    assert source.count("https://example.org/fork.git") == 1 and flow.COURSE_REPO not in source
    assert "subprocess.run(" in source and "importlib.invalidate_caches()" in source and "os.chdir(" in source
