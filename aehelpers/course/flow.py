"""Lecture flow: the Colab badge and guard, previous/next links, hidden solutions, the README index.

One command writes all of it from the notebook order, ``results/results.json`` and
:data:`COURSE_REPO` (the one place the course's repository address is configured)::

    python -m aehelpers.course sync-flow           # write
    python -m aehelpers.course sync-flow --check   # report drift; exit 1 if any (a test runs this)

What it owns in each ``notebooks/NN_*.ipynb``:

* the **run-time line** of the title cell (``**Estimated run time:** … no GPU needed (…).``), from
  the notebook's row in ``results/results.json``;
* the **navigation cell** right after the title cell (tag ``course-nav``): an "Open in Colab" badge
  and links to the previous notebook, the course index and the next notebook;
* the **Colab guard**, a Setup code cell of its own right before the imports cell (the one that runs
  ``../Latex_macros.ipynb``), tagged ``colab-guard``, its source hidden in JupyterLab (a form on
  Colab) and skipped by the slides: on Colab, or with ``AEHELPERS_FORCE_COLAB=1``, outside a course
  checkout it clones the course (``AEHELPERS_COURSE_REPO`` overrides the address), installs
  ``aehelpers`` from the clone and changes into the clone's ``notebooks/``, so ``../Latex_macros.ipynb``
  and ``../images/`` resolve. When the clone or the install fails it stops *Run all* with one
  message (what failed, what to set) and no traceback. An old guard at the top of the imports cell
  (between :data:`OLD_GUARD_BEGIN` and :data:`OLD_GUARD_END`) is moved out into that cell;
* the **solution cells** (first line ``#@title Solution to exercise N``): collapsed (source and
  outputs hidden in JupyterLab, a form on Colab), tagged ``solution``; one per exercise of the
  Summary cell, after it. They run with the notebook, so CI executes them. The exports
  (:mod:`aehelpers.course.export`) leave the navigation, the guard and the solutions out.

And in ``README.md``, between :data:`INDEX_BEGIN` and :data:`INDEX_END`, the course index: one line
per notebook with its run time and key result; between :data:`CHECKS_BEGIN` and :data:`CHECKS_END`,
every measured check with its goal. Both come from ``results/results.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

from aehelpers.course import nbfiles
from aehelpers.course.runner import metric_table

#: The course's public git repository: the Colab badges open its notebooks and the guard clones it.
COURSE_REPO = "https://github.com/autoencoders-course/autoencoders-course"
COURSE_BRANCH = "main"

NAV_TAG = "course-nav"
GUARD_TAG = "colab-guard"
SOLUTION_TAG = "solution"
SOLUTION_PREFIX = "#@title Solution to exercise "
SOLUTIONS_HEADING = "### Solutions"
OLD_GUARD_BEGIN = "# --- Colab guard (written by `python -m aehelpers.course sync-flow`; edit aehelpers/flow.py) ---"
OLD_GUARD_END = "# --- end of the Colab guard ---"
RUNTIME_START = "**Estimated run time:**"
_RUNTIME_RE = re.compile(r"^\*\*Estimated run time:\*\*.*$", re.M)   # the whole line, whatever it says now
INDEX_BEGIN = "<!-- course index: written by `python -m aehelpers.course sync-flow` from results/results.json -->"
INDEX_END = "<!-- end of the course index -->"
CHECKS_BEGIN = "<!-- course checks: written by `python -m aehelpers.course sync-flow` from results/results.json -->"
CHECKS_END = "<!-- end of the course checks -->"

# The Colab guard cell; sync-flow writes COURSE_REPO in for __COURSE_REPO__.
_GUARD = '''#@title Colab setup (on Colab: clone the course, install aehelpers; elsewhere it does nothing)
# Written by `python -m aehelpers.course sync-flow`; the address is COURSE_REPO in aehelpers/course/flow.py.
# On Colab (or with AEHELPERS_FORCE_COLAB=1), outside a course checkout: clone the course, install
# aehelpers from the clone and work in its notebooks/ folder, where ../Latex_macros.ipynb and ../images/ are.
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

COURSE_REPO = os.environ.get("AEHELPERS_COURSE_REPO", "__COURSE_REPO__")


class CourseSetupError(Exception):
    """Stops Run all at this cell with one message, no traceback."""

    def _render_traceback_(self):
        return [f"CourseSetupError: {self}"]


def _course_step(what, *command):
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        reason = next((line for line in lines if re.match(r"(fatal|error)\\b", line, re.I)), lines[-1] if lines else "")
        raise CourseSetupError(
            f"could not {what} ({reason or f'exit code {done.returncode}'}).\\n"
            "Set AEHELPERS_COURSE_REPO to the git address of a published copy of the course (in a cell above: "
            "%env AEHELPERS_COURSE_REPO=https://github.com/OWNER/autoencoders-course) and run this cell again, "
            "or publish the course and set COURSE_REPO in aehelpers/course/flow.py "
            "(README, section \\"Publishing the course\\").")


if ("google.colab" in sys.modules or os.environ.get("AEHELPERS_FORCE_COLAB")) and not Path("../Latex_macros.ipynb").exists():
    if not Path("autoencoders-course/notebooks").is_dir():
        _course_step(f"clone the course from {COURSE_REPO}",
                     "git", "clone", "--quiet", "--depth", "1", COURSE_REPO, "autoencoders-course")
    _course_step("install aehelpers from the clone", sys.executable, "-m", "pip", "install", "--quiet", "./autoencoders-course")
    importlib.invalidate_caches()
    os.chdir("autoencoders-course/notebooks")'''


# The key measured result of each notebook (by its number), for the index: a line from its metrics in
# results/results.json (name -> value).
KEY_RESULTS = {
    "01": lambda m: f"nonlinear AE test MSE {m['ae_vs_pca_mse_ratio_k32']:.2f} × PCA's at k = 32; a linear AE "
                    f"finds PCA's subspace (within {m['linear_ae_pca_angle_deg']:.1f}°)",
    "02": lambda m: f"conv DAE {m['denoise_psnr_db']:.1f} dB PSNR at noise σ = 0.2, "
                    f"{m['denoise_margin_over_best_baseline_db']:.1f} dB over the best baseline",
    "03": lambda m: f"sparse AE: {m['sparse_active_fraction_ratio']:.2f} × the active units; CAE: Jacobian "
                    f"{m['cae_jacobian_reduction']:.1f} × smaller",
    "04": lambda m: f"AUROC {m['ae_auroc']:.3f}, {m['ae_auroc_minus_tutorial']:.3f} above the TF tutorial's model",
    "05": lambda m: f"random codes decode to a confidently judged item {m['random_vs_reconstruction_confident_ratio']:.2f} × "
                    "as often as reconstructions do",
    "06": lambda m: f"2-D VAE on binarized MNIST: test −ELBO {m['mnist_vae_2d_test_neg_elbo']:.1f} nats",
    "07": lambda m: f"{m['mnist_vae_code_size']:.0f}-D VAE chosen on validation: test −ELBO {m['mnist_vae_test_neg_elbo']:.1f} "
                    f"nats, importance-sampled −log p(x) {m['mnist_vae_is_neg_log_px']:.1f} nats",
    "08": lambda m: f"{m['cvae_label_fidelity_overall']:.1%} of prior samples judged the requested digit; "
                    f"the label is worth {m['vae_minus_cvae_2d_test_neg_elbo']:.1f} nats of −ELBO",
    "09": lambda m: f"conv VAE {-m['conv_minus_mlp_test_neg_elbo']:.1f} nats better test −ELBO than the MLP VAE with "
                    f"{m['conv_over_mlp_params']:.0%} of its parameters; VQ-VAE {m['vq_minus_equal_bit_ae_psnr_db']:.1f} dB "
                    f"over an equal-bit AE; dead codes {m['vq_no_restart_dead_codes']:.0f} → {m['vq_restart_dead_codes']:.0f} with restarts",
    "10": lambda m: f"10,000 labels: fine-tuned from random init {m['acc_finetuned_random_10000']:.3f}, from greedy "
                    f"pretraining {m['acc_finetuned_greedy_10000']:.3f}; frozen AE codes {m['acc_frozen_end_to_end_10000']:.3f}",
    "11": lambda m: f"TopK sparse autoencoder: {m['topk_test_fvu']:.1%} of variance unexplained, "
                    f"{m['topk_loss_recovered']:.1%} of the loss recovered when spliced into the network",
}


class Course(NamedTuple):
    """The course as :func:`load` reads it once: notebooks in order, their short titles and results rows.
    Introduced in the README (lecture flow)."""

    root: Path
    paths: list[Path]
    notebooks: list[dict]
    titles: list[str]
    rows: dict[str, dict] | None   # None: no results/results.json yet


def load(root: Path | None = None) -> Course:
    """Read the course at ``root`` (default: this checkout): the notebooks, their titles (the ``# ``
    heading up to its first colon, e.g. ``04 · Anomaly detection with autoencoders``) and the rows of
    ``results/results.json``. Introduced in the README (lecture flow)."""
    root = Path(root) if root is not None else nbfiles.repo_root()
    paths = nbfiles.notebook_paths(root)
    nbs = [json.loads(json.dumps(nbfiles.read(p))) for p in paths]
    titles = [nbfiles.title(nb, p.stem).split(":")[0].strip() for p, nb in zip(paths, nbs)]
    json_path = root / nbfiles.RESULTS_JSON
    rows = {row["notebook"]: row for row in nbfiles.read_rows(json_path)} if json_path.exists() else None
    return Course(root, paths, nbs, titles, rows)


def colab_url(name: str, repo: str = COURSE_REPO, branch: str = COURSE_BRANCH) -> str:
    """Return the Colab address that opens ``notebooks/<name>`` of the GitHub repository ``repo``.
    Introduced in the README (lecture flow)."""
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)/?", repo)
    if not match:
        raise ValueError(f"COURSE_REPO must be a https://github.com/OWNER/NAME address, got {repo!r}")
    return f"https://colab.research.google.com/github/{match.group(1)}/blob/{branch}/notebooks/{name}"


def nav_source(paths: list[Path], i: int, titles: list[str]) -> str:
    """Return the navigation cell of notebook ``i`` of ``paths``: the Colab badge, then previous /
    index / next links. Introduced in the README (lecture flow)."""
    badge = (f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
             f"({colab_url(paths[i].name)})")
    links = []
    if i > 0:
        links.append(f"← previous: [{titles[i - 1]}]({paths[i - 1].name})")
    links.append("[course index](../README.md#the-notebooks)")
    if i + 1 < len(paths):
        links.append(f"next: [{titles[i + 1]}]({paths[i + 1].name}) →")
    return badge + "\n\n" + " · ".join(links)


def guard_source(repo: str = COURSE_REPO) -> str:
    """Return the Colab guard cell's source, cloning ``repo``. Introduced in the README (Colab)."""
    return _GUARD.replace("__COURSE_REPO__", repo)


def _summary_index(nb: dict) -> int | None:
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown" and nbfiles.source(cell).lstrip().startswith("## Summary"):
            return i
    return None


def exercise_count(nb: dict) -> int:
    """Return how many numbered exercises the notebook's Summary cell lists. Introduced in the README (lecture flow)."""
    i = _summary_index(nb)
    if i is None:
        return 0
    part = re.split(r"^#+\s*Exercises|^\*\*Exercises", nbfiles.source(nb["cells"][i]), maxsplit=1, flags=re.M)
    return len(re.findall(r"^\d+\.\s", part[1], flags=re.M)) if len(part) == 2 else 0


def _solution_number(cell) -> int | None:
    src = nbfiles.source(cell)
    if cell["cell_type"] == "code" and src.startswith(SOLUTION_PREFIX):
        match = re.match(r"\d+", src[len(SOLUTION_PREFIX):])
        return int(match.group()) if match else None
    return None


def _hidden(meta: dict, tag: str, *, outputs: bool) -> dict:
    """Cell metadata with the source (and ``outputs``) hidden in JupyterLab, a form on Colab, and ``tag``."""
    meta = dict(meta)
    meta["jupyter"] = {**meta.get("jupyter", {}), "source_hidden": True, **({"outputs_hidden": True} if outputs else {})}
    meta["cellView"] = "form"
    nbfiles.add_tag(meta, tag)
    return meta


def _tagged(cells: list[dict], tag: str, new) -> dict:
    """The first cell tagged ``tag`` (its id, count and outputs kept), else ``new()``."""
    return next((c for c in cells if tag in nbfiles.tags(c)), None) or new()


def runtime_line(row: dict) -> str:
    """Return the title cell's run-time line from the notebook's results row: the runner's
    ``wall_time_s`` (everything, kernel start included) and the notebook's own ``wall_time_s``
    (the lesson) and ``solutions_wall_time_s``. Introduced in the README (lecture flow)."""
    metrics = {m["name"]: m["value"] for m in row.get("metrics", [])}
    total = row["wall_time_s"]
    halves = max(2, round(total / 30))
    minutes = f"{halves // 2}{'½' if halves % 2 else ''}"
    about = "about 1 minute" if halves == 2 else f"about {minutes} minutes"
    parts = f"{metrics.get('wall_time_s', total):.0f} s for the lesson"
    if "solutions_wall_time_s" in metrics:
        parts += f" and {metrics['solutions_wall_time_s']:.0f} s for the exercise solutions"
    return (f"{RUNTIME_START} {about} on a 2-core CPU, no GPU needed. Measured for the outputs shown: {parts}, "
            f"as its `record_wall_time` cells print them; {total:.0f} s in all as timed by `python -m aehelpers.course "
            "run`, kernel start included. Timings on this machine vary by up to a third between runs (README, "
            "\"Where the time goes\").")


def synced(course: Course, i: int) -> dict:
    """Return a copy of notebook ``i`` of ``course`` with its run-time line (given a results row),
    navigation cell, Colab guard cell and solution-cell metadata as the rules say (outputs untouched).
    Introduced in the README (lecture flow)."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    nb = json.loads(json.dumps(course.notebooks[i]))
    row = (course.rows or {}).get(course.paths[i].stem)
    if row is not None and nb["cells"] and nb["cells"][0]["cell_type"] == "markdown":
        nb["cells"][0]["source"] = _RUNTIME_RE.sub(lambda _: runtime_line(row), nbfiles.source(nb["cells"][0]), count=1)
    nav = _tagged(nb["cells"], NAV_TAG, lambda: new_markdown_cell(""))
    guard = _tagged(nb["cells"], GUARD_TAG, lambda: new_code_cell(""))
    cells = [c for c in nb["cells"] if not {NAV_TAG, GUARD_TAG} & set(nbfiles.tags(c))]
    nav["source"] = nav_source(course.paths, i, course.titles)
    nbfiles.add_tag(nav.setdefault("metadata", {}), NAV_TAG)
    guard["source"] = guard_source()
    guard["metadata"] = {**_hidden(guard.get("metadata", {}), GUARD_TAG, outputs=False), "slideshow": {"slide_type": "skip"}}
    cells.insert(1, nav)
    imports = next((j for j, c in enumerate(cells) if nbfiles.runs_macros(c)), None)
    if imports is not None:
        src = nbfiles.source(cells[imports])
        if OLD_GUARD_BEGIN in src and OLD_GUARD_END in src:  # the guard used to open the imports cell
            cells[imports]["source"] = src.split(OLD_GUARD_END, 1)[1].lstrip("\n")
        cells.insert(imports, guard)
    for cell in cells:
        if _solution_number(cell) is not None:
            cell["metadata"] = _hidden(cell.get("metadata", {}), SOLUTION_TAG, outputs=True)
        elif cell["cell_type"] == "markdown" and nbfiles.source(cell).startswith(SOLUTIONS_HEADING):
            nbfiles.add_tag(cell.setdefault("metadata", {}), SOLUTION_TAG)
    nb["cells"] = cells
    return nb


def sync(root: Path | None = None) -> list[Path]:
    """Write the run-time lines, navigation cells, Colab guards and solution metadata into every
    notebook and the index into README.md; return the files that changed. Introduced in the README (lecture flow)."""
    course = load(root)
    changed = []
    for i, path in enumerate(course.paths):
        new = synced(course, i)
        if new != course.notebooks[i]:
            nbfiles.write(path, new)
            changed.append(path)
    readme = course.root / "README.md"
    text = readme.read_text(encoding="utf-8")
    new_text = with_index(text, course)
    if new_text != text:
        readme.write_text(new_text, encoding="utf-8")
        changed.append(readme)
    return changed


def problems(root: Path | None = None) -> list[str]:
    """Return what differs from the rules (one line each; empty when in sync): a drifted run-time
    line, navigation, guard or index, a missing or extra solution, a solution placed before the
    Summary. Introduced in the README (lecture flow)."""
    course = load(root)
    found = []
    for i, (path, nb) in enumerate(zip(course.paths, course.notebooks)):
        name = path.name
        if RUNTIME_START not in nbfiles.source(nb["cells"][0]):
            found.append(f"{name}: the title cell has no '{RUNTIME_START} …' line")
        if synced(course, i) != nb:
            found.append(f"{name}: run-time line, navigation cell, Colab guard cell or solution metadata drifted "
                         "(run `python -m aehelpers.course sync-flow`)")
        if not any(nbfiles.runs_macros(c) for c in nb["cells"]):
            found.append(f"{name}: no imports cell (a code cell that runs ../Latex_macros.ipynb) to put the Colab guard before")
        summary = _summary_index(nb)
        numbers = [(j, _solution_number(c)) for j, c in enumerate(nb["cells"]) if _solution_number(c) is not None]
        wanted = list(range(1, exercise_count(nb) + 1))
        if summary is None or not wanted:
            found.append(f"{name}: no '## Summary' cell with numbered exercises")
        elif sorted(n for _, n in numbers) != wanted:
            found.append(f"{name}: solutions for exercises {sorted(n for _, n in numbers)}, "
                         f"but the Summary lists {len(wanted)} (want one '{SOLUTION_PREFIX}N' cell each)")
        elif any(j < summary for j, _ in numbers):
            found.append(f"{name}: a solution cell comes before the Summary cell")
    text = (course.root / "README.md").read_text(encoding="utf-8")
    if INDEX_BEGIN not in text or INDEX_END not in text:
        found.append("README.md: no course index markers (INDEX_BEGIN/INDEX_END of aehelpers.course.flow)")
    elif with_index(text, course) != text:
        found.append("README.md: the course index or checks table drifted from results/results.json "
                     "(run `python -m aehelpers.course sync-flow`)")
    return found


def key_result(number: str, row: dict | None) -> str:
    """Return the index's key-result line for notebook ``number`` from its results row ("not run
    yet" without one). Introduced in the README (lecture flow)."""
    if row is None:
        return "not run yet"
    if number not in KEY_RESULTS:
        raise ValueError(f"notebook {number} has no key result for the index: add it to KEY_RESULTS in aehelpers/course/flow.py")
    values = {m["name"]: m["value"] for m in row.get("metrics", [])}
    try:
        return KEY_RESULTS[number](values)
    except KeyError as exc:
        raise ValueError(f"notebook {number}: results/results.json has no metric {exc} for the index "
                         "(see KEY_RESULTS in aehelpers/course/flow.py)") from None


def _rows(course: Course) -> dict[str, dict]:
    if course.rows is None:
        raise FileNotFoundError(f"{course.root / nbfiles.RESULTS_JSON} is missing: run `python -m aehelpers.course run` first")
    return course.rows


def index_table(course: Course) -> str:
    """Return the README's course index (markdown table) from the notebooks and their results rows.
    Introduced in the README (lecture flow)."""
    rows = _rows(course)
    lines = ["| # | notebook | CPU run time | key result |", "|---|---|---:|---|"]
    for path, name in zip(course.paths, course.titles):
        heading = name.partition(" · ")[2]
        row = rows.get(path.stem)
        runtime = f"{row['wall_time_s']:.0f} s" if row else "–"
        lines.append(f"| {path.name[:2]} | [{heading or name}](notebooks/{path.name}) | {runtime} | "
                     f"{key_result(path.name[:2], row)} |")
    return "\n".join(lines)


def checks_table(course: Course) -> str:
    """Return the README's table of every metric with a goal (notebook, runner wall time, check, value,
    goal, pass) that the course's notebooks recorded, in course order. Introduced in the README (lecture flow)."""
    rows = _rows(course)
    return "\n".join(metric_table([rows[p.stem] for p in course.paths if p.stem in rows], checks=True))


def with_index(text: str, course: Course) -> str:
    """Return README ``text`` with the index and the checks table between their markers replaced.
    Introduced in the README (lecture flow)."""
    for begin, end, table in ((INDEX_BEGIN, INDEX_END, index_table), (CHECKS_BEGIN, CHECKS_END, checks_table)):
        if begin in text and end in text:
            text = nbfiles.replace_between(text, begin, end, table(course))
    return text
