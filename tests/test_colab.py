"""The Colab path of the Setup cell, simulated (issue 11).

One notebook is copied alone into an empty folder and run in a fresh virtual environment that has
the course's dependencies (TensorFlow, Keras, Jupyter, …) but not ``aehelpers``. The Colab guard is
forced on (``AEHELPERS_FORCE_COLAB=1``) and clones this checkout (``AEHELPERS_COURSE_REPO``: the
committed HEAD, as Colab would clone GitHub's main), installs ``aehelpers`` from the clone with pip
and works from the clone's ``notebooks/``. The notebook must run to the end with the notation file
and every image it references resolved, and with ``aehelpers`` imported from the installed package.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "04_anomaly_detection_ecg.ipynb"  # the cheapest notebook (about 40 s)
CHECK = """
import json, os, aehelpers
print("COLAB-CHECK " + json.dumps({"aehelpers": aehelpers.__file__, "cwd": os.getcwd()}))
"""


def _require(condition: bool, why: str) -> None:
    if not condition:
        pytest.skip(why)


def test_notebook_alone_runs_through_the_colab_guard(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    _require(shutil.which("git") is not None, "git is not installed")
    _require(subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode == 0,
             "not a git checkout: the guard clones the committed course")
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
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("AEHELPERS_FORCE_COLAB", "1")
    monkeypatch.setenv("AEHELPERS_COURSE_REPO", f"file://{ROOT}")
    monkeypatch.setenv("AEHELPERS_NO_CACHE", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.delenv("PYTHONPATH", raising=False)

    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, alone / NOTEBOOK)
    nb = nbformat.read(alone / NOTEBOOK, as_version=4)
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
