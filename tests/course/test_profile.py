"""The profile report (``python -m aehelpers.course profile``) on a tiny fake course: no notebook runs."""

from __future__ import annotations

import json

import nbformat
import pytest

from aehelpers.course import cli, profile

new = nbformat.v4
FIGURE = new.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})


def _timed(source: str, start: float, seconds: float, outputs=()):
    """A code cell that nbclient timed: it ran from ``start`` for ``seconds``."""
    stamp = lambda s: f"2025-01-01T10:00:{s:06.3f}Z"  # noqa: E731
    return new.new_code_cell(source, outputs=list(outputs), execution_count=1, metadata={"execution": {
        "iopub.status.busy": stamp(start), "iopub.execute_input": stamp(start),
        "shell.execute_reply": stamp(start + seconds), "iopub.status.idle": stamp(start + seconds)}})


@pytest.mark.parametrize("source, outputs, kind", [
    ("history = training.fit(ae, x_train, epochs=3)", [], "training"),
    ("curves = training.fit_side_by_side({'a': a, 'b': b}, x)", [], "training"),
    ("vae = train_vae(x_train, latent_dim=2)\nplotting.show_images(vae.decode(z))", [], "training"),
    ("(x_train, _), (x_test, _) = datasets.load_mnist()", [], "data"),
    ("fig, ax = plt.subplots()\nax.plot(x, y)", [], "plotting"),
    ("show(x)  # a figure only", [FIGURE], "plotting"),
    ("x_hat = models.run(ae, x_test)\nprint(metrics.psnr(x_test, x_hat))", [], "evaluation"),
    ("scores = model.predict(x, verbose=0)", [new.new_output("stream", name="stdout", text="ok\n")], "evaluation"),
    ("# model.fit(x) in a comment is not training\nresults.check('a', 1.0, '<= 2')", [], "other"),
    ("%run ../Latex_macros.ipynb\nimport keras", [], "other"),
])
def test_cell_kinds_follow_the_documented_rules(source, outputs, kind):
    assert profile.kind(new.new_code_cell(source, outputs=outputs)) == kind


@pytest.fixture
def fake_run(tmp_path):
    """results/ of a run: 01 with per-cell timings in results.json, 02 only in its executed copy, 03 without any."""
    cells = [{"index": 2, "seconds": 5.0, "kind": "other", "line": "%run ../Latex_macros.ipynb"},
             {"index": 4, "seconds": 2.0, "kind": "data", "line": "(x, _), _ = datasets.load_mnist()"},
             {"index": 5, "seconds": 30.0, "kind": "training", "line": "training.fit(ae, x)"},
             {"index": 7, "seconds": 8.0, "kind": "evaluation", "line": "models.run(ae, x)"},
             {"index": 8, "seconds": 1.0, "kind": "plotting", "line": "plotting.show_images(x)"}]
    rows = [{"notebook": "01_first", "measured": "today", "wall_time_s": 50.0, "kernel_start_s": 4.0, "cells": cells,
             "metrics": []},
            {"notebook": "02_second", "measured": "yesterday", "wall_time_s": 20.0, "metrics": []},
            {"notebook": "03_third", "wall_time_s": 9.0, "metrics": []}]
    (tmp_path / "executed").mkdir()
    (tmp_path / "results.json").write_text(json.dumps({"notebooks": rows}))
    nb = new.new_notebook(cells=[new.new_markdown_cell("# Second"),
                                 _timed("datasets.load_ecg5000()", 0.0, 3.0),
                                 _timed("model.fit(x, x)\n", 3.0, 12.5),
                                 _timed("plt.plot(x)", 15.5, 1.5, [FIGURE])])
    nbformat.write(nb, tmp_path / "executed" / "02_second.ipynb")
    return tmp_path


def test_report_lists_the_slowest_cells_and_the_split(fake_run):
    lines = profile.report(fake_run, top=2)
    text = "\n".join(lines)
    first = lines[:5]
    assert first[0] == "01_first: 50.0 s (measured today)"
    assert first[1] == ("  training 30.0 s (60%) · evaluation 8.0 s (16%) · data 2.0 s (4%) · plotting 1.0 s (2%) · "
                        "other 5.0 s (10%) · kernel start 4.0 s (8%)")
    assert first[2] == "  slowest 2 cells:"
    assert first[3].split() == ["cell", "5", "30.0", "s", "training", "training.fit(ae,", "x)"]
    assert first[4].split()[:3] == ["cell", "7", "8.0"]
    # 02: no timings in results.json: read from the executed copy; kernel start = wall time - the cells' sum
    assert "02_second: 20.0 s (measured yesterday)" in lines
    assert ("  training 12.5 s (62%) · evaluation 0.0 s (0%) · data 3.0 s (15%) · plotting 1.5 s (8%) · "
            "other 0.0 s (0%) · kernel start 3.0 s (15%)") in lines
    assert "no per-cell timings for 03_third" in text
    assert lines[-2] == "course: 70.0 s" and lines[-1].startswith("  training 42.5 s (61%)")


def test_report_only_and_errors(fake_run, tmp_path_factory):
    assert profile.report(fake_run, only=["02"])[0].startswith("02_second")
    with pytest.raises(ValueError, match="no per-cell timings for 03_third"):
        profile.report(fake_run, only=["03"])
    with pytest.raises(FileNotFoundError, match="course run"):
        profile.report(tmp_path_factory.mktemp("empty"))


def test_cell_timings_read_nbclient_metadata():
    nb = new.new_notebook(cells=[new.new_markdown_cell("# T"), new.new_code_cell("untimed = 1"),
                                 _timed("# a comment first\nx = load_mnist()", 1.0, 2.25)])
    assert profile.cell_timings(nb) == [{"index": 2, "seconds": 2.25, "kind": "data", "line": "x = load_mnist()"}]


def test_cli_profile(fake_run, capsys):
    assert cli.main(["profile", "--results", str(fake_run), "--only", "01", "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "01_first: 50.0 s" in out and "slowest 1 cells" in out and "02_second" not in out
    assert cli.main(["profile", "--results", str(fake_run / "nowhere")]) == 1
    assert "profile: " in capsys.readouterr().err
