"""Lecture flow: the Colab badge and guard, previous/next links, hidden solutions, the README index.

One command writes all of it from the notebook order and :data:`COURSE_REPO` (the one place the
repository's address is configured)::

    python -m aehelpers.course sync-flow           # write
    python -m aehelpers.course sync-flow --check   # report drift; exit 1 if any (a test runs this)

What it owns in each ``notebooks/NN_*.ipynb``:

* the **run-time line** of the title cell (``**Estimated run time:** … no GPU needed (…).``), from
  the notebook's row in ``results/results.json``;
* the **navigation cell** right after the title cell (tag ``course-nav``): an "Open in Colab" badge
  and links to the previous notebook, the course index and the next notebook;
* the **Colab guard**, the first lines of the Setup cell (between :data:`GUARD_BEGIN` and
  :data:`GUARD_END`): on Colab, or with ``AEHELPERS_FORCE_COLAB=1``, outside a course checkout it
  clones the course (``AEHELPERS_COURSE_REPO`` overrides the address), installs ``aehelpers`` from
  the clone and changes into the clone's ``notebooks/``, so ``../Latex_macros.ipynb`` and
  ``../images/`` resolve;
* the **solution cells** (first line ``#@title Solution to exercise N``): collapsed (source and
  outputs hidden in JupyterLab, a form on Colab), tagged ``solution``; one per exercise of the
  Summary cell, after it. They run with the notebook, so CI executes them. The exports
  (:mod:`aehelpers.export`) leave the navigation and the solutions out.

And in ``README.md``, between :data:`INDEX_BEGIN` and :data:`INDEX_END`, the course index: one line
per notebook with its run time and key result; between :data:`CHECKS_BEGIN` and :data:`CHECKS_END`,
every measured check with its goal. Both come from ``results/results.json`` (the course results
table written by ``python -m aehelpers.course run``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from aehelpers.export import _source

COURSE_REPO = "https://github.com/autoencoders-course/autoencoders-course"
COURSE_BRANCH = "main"

NAV_TAG = "course-nav"
SOLUTION_TAG = "solution"
SOLUTION_PREFIX = "#@title Solution to exercise "
SOLUTIONS_HEADING = "### Solutions"
GUARD_BEGIN = "# --- Colab guard (written by `python -m aehelpers.course sync-flow`; edit aehelpers/flow.py) ---"
GUARD_END = "# --- end of the Colab guard ---"
RUNTIME_START = "**Estimated run time:**"
_RUNTIME_RE = re.compile(r"\*\*Estimated run time:\*\*.*?no GPU needed[^\n]*?\)\.", re.S)
INDEX_BEGIN = "<!-- course index: written by `python -m aehelpers.course sync-flow` from results/results.json -->"
INDEX_END = "<!-- end of the course index -->"
CHECKS_BEGIN = "<!-- course checks: written by `python -m aehelpers.course sync-flow` from results/results.json -->"
CHECKS_END = "<!-- end of the course checks -->"

# The key measured result of each notebook, for the index: a line from its metrics in
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
    "06": lambda m: f"test −ELBO {m['mnist_vae_20d_test_neg_elbo']:.1f} nats (20-D VAE), "
                    f"{m['mnist_vae_2d_test_neg_elbo']:.1f} nats (2-D)",
    "07": lambda m: f"{m['cvae_label_fidelity_overall']:.1%} of prior samples judged the requested digit; "
                    f"the label is worth {-m['cvae_minus_vae_2d_test_neg_elbo']:.1f} nats of −ELBO",
    "08": lambda m: f"10,000 labels: fine-tuned from random init {m['acc_finetuned_random_10000']:.3f}, from greedy "
                    f"pretraining {m['acc_finetuned_greedy_10000']:.3f}; frozen AE codes {m['acc_frozen_end_to_end_10000']:.3f}",
}


def _read(path: Path) -> dict:
    import nbformat

    return nbformat.read(path, as_version=4)


def _write(path: Path, nb: dict) -> None:
    import nbformat

    nbformat.write(nbformat.from_dict(nb), path)


def title(nb: dict, default: str = "") -> str:
    """Return the notebook's ``# `` heading up to its first colon (e.g. ``04 · Anomaly detection with
    autoencoders``), ``default`` without one. Introduced in the README (lecture flow)."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].split(":")[0].strip()
    return default


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
    """Return the Colab guard that opens every Setup cell. Introduced in the README (Colab)."""
    return f"""{GUARD_BEGIN}
# On Colab (or with AEHELPERS_FORCE_COLAB=1), outside a course checkout: clone the course, install
# aehelpers from it and work in its notebooks/ folder, where ../Latex_macros.ipynb and ../images/ are.
import os
import sys
from pathlib import Path

COURSE_REPO = os.environ.get("AEHELPERS_COURSE_REPO", "{repo}")
if ("google.colab" in sys.modules or os.environ.get("AEHELPERS_FORCE_COLAB")) and not Path("../Latex_macros.ipynb").exists():
    if not Path("autoencoders-course").exists():
        !git clone --quiet --depth 1 {{COURSE_REPO}} autoencoders-course
    %pip install --quiet ./autoencoders-course
    %cd autoencoders-course/notebooks
{GUARD_END}
"""


def _is_setup(cell) -> bool:
    src = _source(cell)
    return cell["cell_type"] == "code" and "%run ../Latex_macros.ipynb" in src


def _with_guard(src: str) -> str:
    rest = src.split(GUARD_END, 1)[1].lstrip("\n") if GUARD_BEGIN in src and GUARD_END in src else src
    return guard_source() + "\n" + rest


def _summary_index(nb: dict) -> int | None:
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown" and _source(cell).lstrip().startswith("## Summary"):
            return i
    return None


def exercise_count(nb: dict) -> int:
    """Return how many numbered exercises the notebook's Summary cell lists. Introduced in the README (lecture flow)."""
    i = _summary_index(nb)
    if i is None:
        return 0
    text = _source(nb["cells"][i])
    part = re.split(r"^#+\s*Exercises|^\*\*Exercises", text, maxsplit=1, flags=re.M)
    if len(part) < 2:
        return 0
    return len(re.findall(r"^\d+\.\s", part[1], flags=re.M))


def _solution_number(cell) -> int | None:
    src = _source(cell)
    if cell["cell_type"] == "code" and src.startswith(SOLUTION_PREFIX):
        match = re.match(r"\d+", src[len(SOLUTION_PREFIX):])
        return int(match.group()) if match else None
    return None


def _tag(meta: dict, tag: str) -> None:
    tags = meta.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def _solution_meta(meta: dict) -> dict:
    meta = dict(meta)
    meta["jupyter"] = {**meta.get("jupyter", {}), "source_hidden": True, "outputs_hidden": True}
    meta["cellView"] = "form"
    _tag(meta, SOLUTION_TAG)
    return meta


def _nav_cell(source: str) -> dict:
    from nbformat.v4 import new_markdown_cell

    return new_markdown_cell(source, metadata={"tags": [NAV_TAG]})


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
        parts += f", {metrics['solutions_wall_time_s']:.0f} s for the exercise solutions"
    return (f"{RUNTIME_START} {about} on a 2-core laptop CPU, no GPU needed (measured for the outputs "
            f"shown: {parts}, {total:.0f} s in all with the kernel start; this machine's speed varies by "
            "up to a third between runs).")


def synced(nb: dict, paths: list[Path], i: int, titles: list[str], row: dict | None = None) -> dict:
    """Return a copy of notebook ``i`` with its navigation cell, Colab guard, solution-cell
    metadata and (given its results ``row``) run-time line as the rules say (outputs untouched).
    Introduced in the README (lecture flow)."""
    nb = json.loads(json.dumps(nb))
    if row is not None and nb["cells"] and nb["cells"][0]["cell_type"] == "markdown":
        nb["cells"][0]["source"] = _RUNTIME_RE.sub(lambda _: runtime_line(row), _source(nb["cells"][0]), count=1)
    cells = [c for c in nb["cells"] if NAV_TAG not in c.get("metadata", {}).get("tags", [])]
    nav = next((c for c in nb["cells"] if NAV_TAG in c.get("metadata", {}).get("tags", [])), None)
    nav = nav or _nav_cell("")
    nav["source"] = nav_source(paths, i, titles)
    _tag(nav["metadata"], NAV_TAG)
    cells.insert(1, nav)
    for cell in cells:
        if _is_setup(cell):
            cell["source"] = _with_guard(_source(cell))
        if _solution_number(cell) is not None:
            cell["metadata"] = _solution_meta(cell.get("metadata", {}))
        elif cell["cell_type"] == "markdown" and _source(cell).startswith(SOLUTIONS_HEADING):
            _tag(cell.setdefault("metadata", {}), SOLUTION_TAG)
    nb["cells"] = cells
    return nb


def _course(root: Path):
    from aehelpers.course import notebook_paths

    paths = notebook_paths(root)
    nbs = [_read(p) for p in paths]
    return paths, nbs, [title(nb, p.stem) for p, nb in zip(paths, nbs)]


def _rows_or_empty(root: Path) -> dict[str, dict]:
    return _rows(root) if (root / "results" / "results.json").exists() else {}


def sync(root: Path | None = None) -> list[Path]:
    """Write the navigation cells, Colab guards and solution metadata into every notebook and the
    index into README.md; return the files that changed. Introduced in the README (lecture flow)."""
    from aehelpers.notation import repo_root

    root = Path(root) if root is not None else repo_root()
    paths, nbs, titles = _course(root)
    rows = _rows_or_empty(root)
    changed = []
    for i, (path, nb) in enumerate(zip(paths, nbs)):
        new = synced(nb, paths, i, titles, rows.get(path.stem))
        if new != nb:
            _write(path, new)
            changed.append(path)
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    new_text = with_index(text, root)
    if new_text != text:
        readme.write_text(new_text, encoding="utf-8")
        changed.append(readme)
    return changed


def problems(root: Path | None = None) -> list[str]:
    """Return what differs from the rules (one line each; empty when in sync): drifted navigation,
    guard or index, a missing or extra solution, a solution placed before the Summary.
    Introduced in the README (lecture flow)."""
    from aehelpers.notation import repo_root

    root = Path(root) if root is not None else repo_root()
    paths, nbs, titles = _course(root)
    rows = _rows_or_empty(root)
    found = []
    for i, (path, nb) in enumerate(zip(paths, nbs)):
        name = path.name
        if RUNTIME_START not in _source(nb["cells"][0]):
            found.append(f"{name}: the title cell has no '{RUNTIME_START} …' line")
        if synced(nb, paths, i, titles, rows.get(path.stem)) != nb:
            found.append(f"{name}: run-time line, navigation cell, Colab guard or solution metadata drifted "
                         "(run `python -m aehelpers.course sync-flow`)")
        if not any(_is_setup(c) for c in nb["cells"]):
            found.append(f"{name}: no Setup cell (a code cell that runs ../Latex_macros.ipynb) for the Colab guard")
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
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if INDEX_BEGIN not in text or INDEX_END not in text:
        found.append("README.md: no course index markers (INDEX_BEGIN/INDEX_END of aehelpers.flow)")
    elif with_index(text, root) != text:
        found.append("README.md: the course index or checks table drifted from results/results.json "
                     "(run `python -m aehelpers.course sync-flow`)")
    return found


def _rows(root: Path) -> dict[str, dict]:
    path = root / "results" / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m aehelpers.course run` first")
    return {row["notebook"]: row for row in json.loads(path.read_text(encoding="utf-8"))["notebooks"]}


def key_result(number: str, row: dict | None) -> str:
    """Return the index's key-result line for notebook ``number`` from its results row ("not run
    yet" without one). Introduced in the README (lecture flow)."""
    if row is None:
        return "not run yet"
    if number not in KEY_RESULTS:
        raise ValueError(f"notebook {number} has no key result for the index: add it to KEY_RESULTS in aehelpers/flow.py")
    values = {m["name"]: m["value"] for m in row.get("metrics", [])}
    try:
        return KEY_RESULTS[number](values)
    except KeyError as exc:
        raise ValueError(f"notebook {number}: results/results.json has no metric {exc} for the index "
                         "(see KEY_RESULTS in aehelpers/flow.py)") from None


def index_table(root: Path) -> str:
    """Return the README's course index (markdown table) from the notebooks and results.json.
    Introduced in the README (lecture flow)."""
    paths, nbs, titles = _course(root)
    rows = _rows(root)
    lines = ["| # | notebook | CPU run time | key result |", "|---|---|---:|---|"]
    for path, name in zip(paths, titles):
        number, _, heading = name.partition(" · ")
        row = rows.get(path.stem)
        runtime = f"{row['wall_time_s']:.0f} s" if row else "–"
        lines.append(f"| {path.name[:2]} | [{heading or name}](notebooks/{path.name}) | {runtime} | "
                     f"{key_result(path.name[:2], row)} |")
    return "\n".join(lines)


def checks_table(root: Path) -> str:
    """Return the README's table of every recorded metric that has a goal (notebook, runner wall
    time, check, value, goal, pass) from results.json. Introduced in the README (lecture flow)."""
    from aehelpers.results import format_value

    lines = ["| notebook | runner wall time (incl. kernel start) | check | value | goal | pass |",
             "|---|---:|---|---:|---|:---:|"]
    for name, row in _rows(root).items():
        for m in row["metrics"]:
            if m.get("goal"):
                unit = m.get("unit") or ""
                lines.append(f"| {name} | {row['wall_time_s']:.0f} s | `{m['name']}` | {format_value(m['value'])}{unit} | "
                             f"{m['goal']}{unit} | {'✔' if m['passed'] else '✘'} |")
    return "\n".join(lines)


def _with_block(text: str, begin: str, end: str, body) -> str:
    if begin not in text or end not in text:
        return text
    head, rest = text.split(begin, 1)
    return f"{head}{begin}\n{body()}\n{end}{rest.split(end, 1)[1]}"


def with_index(text: str, root: Path) -> str:
    """Return README ``text`` with the index and the checks table between their markers
    replaced. Introduced in the README (lecture flow)."""
    text = _with_block(text, INDEX_BEGIN, INDEX_END, lambda: index_table(root))
    return _with_block(text, CHECKS_BEGIN, CHECKS_END, lambda: checks_table(root))
