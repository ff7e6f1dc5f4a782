"""The Colab guard cell, simulated (AEHELPERS_FORCE_COLAB=1 runs it anywhere).

* When the course can be cloned: one notebook, copied alone into an empty folder, runs in a fresh
  virtual environment that has the course's dependencies (TensorFlow, Keras, Jupyter, …) but not
  ``aehelpers``. The guard clones a snapshot of this checkout (``AEHELPERS_COURSE_REPO``, as Colab
  would clone the published course), installs ``aehelpers`` from the clone with pip and works from
  the clone's ``notebooks/``. The notebook must run to the end with the notation file and every image
  it references resolved, and with ``aehelpers`` imported from the installed package (about 2 minutes).
* When it cannot (an address with no repository): the guard cell fails with one message that says
  what to set, no traceback, and *Run all* stops there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

from aehelpers.course import flow, nbfiles

NOTEBOOK = "04_anomaly_detection_ecg.ipynb"  # the cheapest notebook
CHECK = """
import json, os, aehelpers
print("COLAB-CHECK " + json.dumps({"aehelpers": aehelpers.__file__, "cwd": os.getcwd()}))
"""


def _require(condition: bool, why: str) -> None:
    if not condition:
        pytest.skip(why)


def _with_guard(path: Path) -> None:
    """Give the notebook at ``path`` the current guard cell, as ``sync-flow`` does."""
    nb = json.loads(json.dumps(nbfiles.read(path)))
    course = flow.Course(path.parent, [path], [nb], [path.stem], None)
    nbfiles.write(path, flow.synced(course, 0))


def _snapshot(root: Path, dest: Path) -> Path:
    """A one-commit git repository of the checkout as it is (tracked and new files, not ignored ones)."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            check=True, capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, listed):
        if (root / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, dest / name)
    git = ["git", "-C", str(dest), "-c", "user.name=test", "-c", "user.email=test@example.org"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    return dest


def test_notebook_alone_runs_through_the_colab_guard(tmp_path, monkeypatch, repo_root):
    from nbclient import NotebookClient

    _require(shutil.which("git") is not None, "git is not installed")
    from aehelpers import datasets
    try:
        datasets.load_ecg5000()
    except (FileNotFoundError, OSError) as exc:
        pytest.skip(f"ECG5000 is not available offline: {exc}")

    # A fresh environment without aehelpers; the other dependencies come from this one's site-packages.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "_course_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    probe = subprocess.run([str(python), "-c", "import aehelpers"], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert probe.returncode != 0, "the fresh environment must not see aehelpers before the guard installs it"

    kernels = tmp_path / "jupyter" / "kernels" / "colab-sim"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "simulated Colab", "language": "python"}))
    repo = _snapshot(repo_root, tmp_path / "published")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("AEHELPERS_FORCE_COLAB", "1")
    monkeypatch.setenv("AEHELPERS_COURSE_REPO", f"file://{repo}")
    monkeypatch.setenv("AEHELPERS_NO_CACHE", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.delenv("PYTHONPATH", raising=False)

    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(repo_root / "notebooks" / NOTEBOOK, alone / NOTEBOOK)
    _with_guard(alone / NOTEBOOK)
    nb = nbformat.read(alone / NOTEBOOK, as_version=4)
    guard = next(i for i, c in enumerate(nb.cells) if flow.GUARD_TAG in c.metadata.get("tags", []))
    assert nbfiles.runs_macros(nb.cells[guard + 1]) and flow.OLD_GUARD_BEGIN not in nb.cells[guard + 1].source
    nb.cells.append(nbformat.v4.new_code_cell(CHECK))
    NotebookClient(nb, kernel_name="colab-sim", timeout=900,
                   resources={"metadata": {"path": str(alone)}}).execute()

    stdout = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                     for out in cell.outputs if out.get("name") == "stdout")
    match = re.search(r"COLAB-CHECK (\{.*\})", stdout)
    assert match, "the check cell printed nothing"
    report = json.loads(match.group(1))
    clone = alone / "autoencoders-course"
    assert Path(report["cwd"]) == clone / "notebooks", report
    assert Path(report["aehelpers"]).is_relative_to(venv), f"aehelpers came from {report['aehelpers']}, not the installed package"
    assert (clone / "Latex_macros.ipynb").exists()
    errors = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs if out.output_type == "error"]
    assert not errors
    images = re.findall(r"\]\((\.\./images/[^)\s]+)\)", "".join(c.source for c in nb.cells if c.cell_type == "markdown"))
    assert images, "the notebook references no diagram: pick one that does"
    missing = [img for img in images if not (clone / "notebooks" / img).resolve().exists()]
    assert not missing, f"images not found next to the clone's notebooks/: {missing}"


def test_an_unreachable_course_stops_run_all_with_one_message(tmp_path):
    """As JupyterLab's Run all does: every cell is sent at once; the guard fails, the rest is aborted."""
    from jupyter_client.manager import start_new_kernel

    _require(shutil.which("git") is not None, "git is not installed")
    cells = [flow.guard_source(), "%run ../Latex_macros.ipynb\nprint('IMPORTS RAN')", "print('LATER CELL RAN')"]
    env = {**os.environ, "AEHELPERS_FORCE_COLAB": "1",
           "AEHELPERS_COURSE_REPO": "file:///nonexistent/repo.git"}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        ids = [kc.execute(source) for source in cells]
        replies = {}
        while len(replies) < len(ids):
            reply = kc.get_shell_msg(timeout=120)
            if reply["parent_header"].get("msg_id") in ids:
                replies[reply["parent_header"]["msg_id"]] = reply["content"]
        printed, errors = [], []
        while True:
            try:
                msg = kc.get_iopub_msg(timeout=2)
            except Exception:  # queue.Empty: all output read
                break
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                errors.append(msg["content"])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    first, *later = (replies[i] for i in ids)
    assert first["status"] == "error" and first["ename"] == "CourseSetupError"
    assert [r["status"] for r in later] == ["aborted", "aborted"], "Run all went on after the guard failed"
    assert len(errors) == 1 and errors[0]["traceback"] == first["traceback"]
    shown = "\n".join(first["traceback"])
    assert len(first["traceback"]) == 1 and shown.startswith("CourseSetupError: could not clone the course from "
                                                             "file:///nonexistent/repo.git (fatal:")
    for needed in ("AEHELPERS_COURSE_REPO", "COURSE_REPO in aehelpers/course/flow.py", "Publishing the course"):
        assert needed in shown
    assert not re.search(r"Traceback|File \"|-{5,}>|line \d+", shown), f"traceback frames shown:\n{shown}"
    assert not any("RAN" in text for text in printed) and not (tmp_path / "autoencoders-course").exists()
