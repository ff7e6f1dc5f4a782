"""The headless course runner on a tiny two-notebook course (one passes, one fails a check)."""

import json
import subprocess
import sys

import nbformat
import pytest

from aehelpers.course import nbfiles, runner


@pytest.fixture
def tiny_course(course_root):
    nbs = course_root / "notebooks"
    new = nbformat.v4
    good = new.new_notebook(cells=[
        new.new_markdown_cell("# Good"),
        new.new_code_cell("%run ../Latex_macros.ipynb\nfrom aehelpers import results\nresults._start_timer()"),
        new.new_code_cell("results.record('speed', 3.5, goal='>= 1', unit=' it/s')\nresults.check('angle_deg', 1.2, '<= 5')"),
        new.new_code_cell("results.record_wall_time(goal='<= 60')"),
    ])
    stale = {"name": "stale", "value": 1.0, "goal": None, "unit": "", "passed": None}
    bad = new.new_notebook(cells=[
        new.new_code_cell("from aehelpers import results\nresults.record('ratio_before', 0.9)"),
        new.new_code_cell("results.check('ratio', 0.9, '<= 0.75')"),
        # an output left from an earlier run, after the failing cell: must not be reported
        new.new_code_cell("results.record('stale', 1.0)", outputs=[new.new_output(
            "display_data", data={"application/vnd.aehelpers.metric+json": stale, "text/plain": "stale"})]),
    ])
    nbformat.write(good, nbs / "01_good.ipynb")
    nbformat.write(bad, nbs / "02_bad.ipynb")
    nbformat.write(new.new_notebook(), nbs / "helper_scratch.ipynb")  # not NN_*: not part of the course
    return course_root


def test_notebook_paths_order_and_filter(tiny_course):
    assert [p.name for p in nbfiles.notebook_paths(tiny_course)] == ["01_good.ipynb", "02_bad.ipynb"]
    assert [p.name for p in nbfiles.notebook_paths(tiny_course, ["02"])] == ["02_bad.ipynb"]
    with pytest.raises(ValueError, match="no notebook"):
        nbfiles.notebook_paths(tiny_course, ["09"])


def test_run_writes_executed_copies_and_results_table(tiny_course):
    out = tiny_course / "results"
    code = runner.run(tiny_course, out)
    assert code == 1  # notebook 02 fails its check
    data = json.loads((out / "results.json").read_text())
    rows = {r["notebook"]: r for r in data["notebooks"]}
    assert rows["01_good"]["status"] == "ok" and rows["01_good"]["error"] is None
    assert [m["name"] for m in rows["01_good"]["metrics"]] == ["speed", "angle_deg", "wall_time_s"]
    assert all(m["passed"] for m in rows["01_good"]["metrics"])
    assert rows["02_bad"]["status"] == "error" and "CheckFailed" in rows["02_bad"]["error"]
    assert [(m["name"], m["passed"]) for m in rows["02_bad"]["metrics"]] == [("ratio_before", None), ("ratio", False)]
    assert rows["01_good"]["wall_time_s"] > 0
    md = (out / "RESULTS.md").read_text()
    assert "| 01_good | ✔ ok |" in md and "| 02_bad | ✘ CheckFailed" in md
    assert "| 01_good | `angle_deg` | 1.2 | <= 5 | ✔ |" in md and "| 02_bad | `ratio` | 0.9 | <= 0.75 | ✘ |" in md
    executed = nbformat.read(out / "executed" / "01_good.ipynb", as_version=4)
    assert all(c.get("execution_count") for c in executed.cells if c.cell_type == "code")
    # every cell's time: in the executed copy (nbclient's timing metadata) and summed up in the row
    assert all("shell.execute_reply" in c.metadata.execution for c in executed.cells if c.cell_type == "code")
    good = rows["01_good"]
    assert [c["index"] for c in good["cells"]] == [1, 2, 3] and all(c["seconds"] >= 0 for c in good["cells"])
    assert [c["line"] for c in good["cells"]] == ["%run ../Latex_macros.ipynb", "results.record('speed', 3.5, goal='>= 1', unit=' it/s')",
                                                  "results.record_wall_time(goal='<= 60')"]
    assert 0 < good["kernel_start_s"] < good["wall_time_s"]
    assert good["kernel_start_s"] == pytest.approx(good["wall_time_s"] - sum(c["seconds"] for c in good["cells"]), abs=0.11)
    assert [c["index"] for c in rows["02_bad"]["cells"]] == [0, 1]  # the failing cell is timed, the one after it never ran
    # the source notebooks are untouched without --inplace
    assert nbformat.read(tiny_course / "notebooks" / "01_good.ipynb", as_version=4).cells[1].outputs == []


def test_cli_sync_check_reports_drift(tiny_course):
    cmd = [sys.executable, "-m", "aehelpers.course", "sync-macros", "--check"]
    proc = subprocess.run(cmd, cwd=tiny_course, capture_output=True, text=True)
    assert proc.returncode == 1 and "out of date" in proc.stdout
    proc = subprocess.run(cmd[:-1], cwd=tiny_course, capture_output=True, text=True)
    assert proc.returncode == 0 and "notation OK" in proc.stdout


def test_inplace_run_leaves_no_timing_metadata_in_the_committed_notebook(tiny_course):
    out = tiny_course / "results"
    assert runner.run(tiny_course, out, only=["01"], inplace=True) == 0
    committed = nbformat.read(tiny_course / "notebooks" / "01_good.ipynb", as_version=4)
    assert committed.cells[1].outputs and all("execution" not in c.metadata for c in committed.cells)
    assert not (out / "executed").exists()
    row = json.loads((out / "results.json").read_text())["notebooks"][0]
    assert len(row["cells"]) == 3  # the timings are in results.json all the same


def test_partial_run_keeps_the_other_notebooks_rows(tiny_course):
    out = tiny_course / "results"
    runner.run(tiny_course, out)
    before = {r["notebook"]: r for r in json.loads((out / "results.json").read_text())["notebooks"]}
    code = runner.run(tiny_course, out, only=["01"])
    assert code == 0  # only notebook 01 ran, and it passed
    after = json.loads((out / "results.json").read_text())["notebooks"]
    assert [r["notebook"] for r in after] == ["01_good", "02_bad"]
    assert after[1] == before["02_bad"]  # kept verbatim, with its own "measured" time
    assert after[0]["status"] == "ok" and after[0]["measured"]
    # a row of a notebook that no longer exists is dropped; an unreadable table is rebuilt
    (tiny_course / "notebooks" / "02_bad.ipynb").unlink()
    runner.run(tiny_course, out, only=["01"])
    assert [r["notebook"] for r in json.loads((out / "results.json").read_text())["notebooks"]] == ["01_good"]
    (out / "results.json").write_text("{not json")
    runner.run(tiny_course, out, only=["01"])
    assert [r["notebook"] for r in json.loads((out / "results.json").read_text())["notebooks"]] == ["01_good"]


def test_course_run_executes_notebooks_with_the_cache_off(tmp_path, monkeypatch):
    import os

    monkeypatch.delenv("AEHELPERS_NO_CACHE", raising=False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os; print(os.environ.get('AEHELPERS_NO_CACHE'))")])
    nbformat.write(nb, tmp_path / "01_env.ipynb")
    row = runner.execute_notebook(tmp_path / "01_env.ipynb", tmp_path / "out.ipynb", timeout=120)
    assert row["status"] == "ok", row["error"]
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"].strip() == "1"
    assert "AEHELPERS_NO_CACHE" not in os.environ, "only the kernel's environment is changed"
