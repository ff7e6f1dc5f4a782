"""The package's structure: two rooms, no import cycle, a thin teaching room, honest "Introduced in" tags.

* **Imports.** Every module of ``aehelpers`` is parsed with ``ast``; every ``import`` counts, at module
  level or inside a function, absolute or relative. The graph must have no cycle, and no teaching
  module (anything under ``aehelpers/`` outside ``aehelpers/course/``) may import ``aehelpers.course``.
* **Size.** The teaching room, ``aehelpers/*.py`` (``wc -l``, docstrings included), is at most
  :data:`TEACHING_BUDGET` lines.
* **Tags.** Every public function (a module-level ``def`` without a leading underscore) and every public
  class that subclasses a Keras ``Layer`` or ``Callback`` in a public teaching module (``aehelpers/*.py``
  whose name has no leading underscore, ``__init__`` excluded) must be called by the code of at least one
  notebook ``notebooks/NN_*.ipynb`` (``module.name(…)`` after ``from aehelpers import module``,
  ``name(…)`` after ``from aehelpers.module import name``, ``aehelpers.module.name(…)``, aliases
  followed), and its docstring must say "Introduced in notebook NN" for the FIRST notebook whose code
  calls it.

The checks are functions of a package folder and a notebooks folder, tested below on small synthetic
packages too.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

TEACHING_BUDGET = 1500
KERAS_BASES = {"Layer", "Callback"}
_TAG_RE = re.compile(r"Introduced in notebook (\d+)")
_MAGIC_RE = re.compile(r"^(\s*)[%!].*$", re.M)


# --- the import graph -----------------------------------------------------------------------------

def modules(package: Path) -> dict[str, Path]:
    """Module name -> file, for every ``.py`` file of the package folder ``package`` (its name is the
    folder's); a package's ``__init__.py`` is the package itself."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = (package.name, *path.relative_to(package).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph(package: Path) -> dict[str, dict[str, str]]:
    """Module -> {imported module of the package: where (``file:line``)}, every import statement counted."""
    known = modules(package)
    graph: dict[str, dict[str, str]] = {}
    for name, path in known.items():
        edges = graph.setdefault(name, {})
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
            for target in targets:
                if target in known and target != name:
                    edges.setdefault(target, f"{path.relative_to(package.parent)}:{node.lineno}")
    return graph


def import_problems(package: Path) -> list[str]:
    """One line per import cycle (with the imports that close it) and per teaching -> tooling import."""
    graph, tooling = import_graph(package), f"{package.name}.course"
    found = []
    for module, edges in graph.items():
        if module != tooling and not module.startswith(tooling + "."):
            found += [f"{where}: the teaching module {module} imports the tooling {target}; teaching modules never import "
                      f"{tooling} (move what both need into the teaching module, or the import into the tooling)"
                      for target, where in edges.items() if target == tooling or target.startswith(tooling + ".")]
    for cycle in cycles(graph):
        steps = " -> ".join(f"{a} ({graph[a][b]})" for a, b in zip(cycle, cycle[1:]))
        found.append(f"import cycle: {steps} -> {cycle[-1]}; move what these modules share into one module "
                     "that imports none of them (as aehelpers/course/nbfiles.py does for the tooling)")
    return found


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """One cycle (as a closed path) per strongly connected group of modules that import each other."""
    index, low, stack, groups = {}, {}, [], []

    def visit(node):  # Tarjan's algorithm; the package is small enough to recurse
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                groups.append(set(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    found = []
    for group in groups:  # a closed path through the group, from its first module, depth first
        start = min(group)
        stack, seen = [[start]], {start}
        while stack:
            path = stack.pop()
            nexts = sorted(graph[path[-1]])
            if start in nexts:
                found.append([*path, start])
                break
            for nxt in reversed(nexts):
                if nxt in group and nxt not in seen:
                    seen.add(nxt)
                    stack.append([*path, nxt])
    return sorted(found)


def teaching_lines(package: Path) -> dict[str, int]:
    """``wc -l`` of every ``.py`` file directly in the package folder (the teaching room)."""
    return {path.name: path.read_bytes().count(b"\n") for path in sorted(package.glob("*.py"))}


# --- "Introduced in notebook NN" ----------------------------------------------------------------------

def public_helpers(package: Path) -> dict[tuple[str, str], tuple[str, int, str]]:
    """(module, name) -> (file, line, docstring) of every public function and public Keras Layer/Callback
    subclass of the package's public teaching modules."""
    trees = {path.stem: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(package.glob("*.py"))
             if not path.stem.startswith("_")}
    keras_classes, grew = set(KERAS_BASES), True
    while grew:  # subclasses of subclasses, across the teaching modules
        before = len(keras_classes)
        for tree in trees.values():
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and any(_last_name(b) in keras_classes for b in node.bases):
                    keras_classes.add(node.name)
        grew = len(keras_classes) > before
    found = {}
    for module, tree in trees.items():
        for node in tree.body:
            is_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            is_layer = isinstance(node, ast.ClassDef) and any(_last_name(b) in keras_classes for b in node.bases)
            if (is_function or is_layer) and not node.name.startswith("_"):
                found[(module, node.name)] = (f"{package.name}/{module}.py", node.lineno, ast.get_docstring(node) or "")
    return found


def _last_name(node) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def _dotted(node) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else None


def notebook_calls(path: Path, package: str) -> set[tuple[str, str]]:
    """(module, name) of every call of a ``package`` helper in the code cells of the notebook at ``path``."""
    names: dict[str, tuple[str, ...]] = {}  # local name -> (module,) | (module, helper) | () for the package
    calls = set()
    for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        try:
            tree = ast.parse(_MAGIC_RE.sub(lambda m: f"{m.group(1)}pass", source))  # IPython magics are no Python
        except SyntaxError as exc:
            raise ValueError(f"{path.name}, cell {i}: not Python once the %/! lines are set aside "
                             f"({exc.msg}, line {exc.lineno}); the tag check cannot read its calls") from None
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == package:  # import aehelpers[.module] [as name]
                        names[alias.asname or package] = tuple(parts[1:2]) if alias.asname else ()
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == package:
                inner = node.module.split(".")[1:]
                for alias in node.names:
                    names[alias.asname or alias.name] = (alias.name,) if not inner else (inner[0], alias.name)
        for node in ast.walk(tree):
            dotted = _dotted(node.func) if isinstance(node, ast.Call) else None
            if dotted and dotted[0] in names:
                full = [*names[dotted[0]], *dotted[1:]]
                if len(full) >= 2:
                    calls.add((full[0], full[1]))
    return calls


def tag_problems(package: Path, notebooks: Path) -> list[str]:
    """One line per public helper that no notebook calls or whose "Introduced in notebook NN" tag does
    not name the first notebook whose code calls it, saying what to change."""
    first: dict[tuple[str, str], Path] = {}
    for path in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        for key in notebook_calls(path, package.name):
            first.setdefault(key, path)
    found = []
    for (module, name), (file, line, doc) in public_helpers(package).items():
        where, tags = f"{file}:{line} {module}.{name}", _TAG_RE.findall(doc)
        if (module, name) not in first:
            found.append(f"{where}: no notebook calls it; make it private (_{name}) or remove it, or call it in the "
                         "notebook that introduces it")
            continue
        nb = first[(module, name)]
        wanted = f"Introduced in notebook {nb.name[:2]}"
        said = re.search(r"Introduced in [^.]*", doc)
        if said and (not tags or int(tags[0]) != int(nb.name[:2])):
            found.append(f"{where}: its docstring says '{said.group()}', but the first notebook that calls it is "
                         f"{nb.name}; change it to '{wanted}'")
        elif not said:
            found.append(f"{where}: end its docstring with '{wanted}.' ({nb.name} is the first notebook that calls it)")
    return found


# --- the real package ---------------------------------------------------------------------------

def test_no_import_cycle_and_no_teaching_module_imports_the_tooling(repo_root):
    problems = import_problems(repo_root / "aehelpers")
    assert not problems, "\n".join(problems)


def test_the_teaching_room_is_thin(repo_root):
    lines = teaching_lines(repo_root / "aehelpers")
    assert sum(lines.values()) <= TEACHING_BUDGET, (
        f"the teaching room (aehelpers/*.py) is {sum(lines.values())} lines, over the budget of {TEACHING_BUDGET}; "
        "largest: " + ", ".join(f"{n} {c}" for n, c in sorted(lines.items(), key=lambda kv: -kv[1])[:5]))


def test_every_public_helper_is_called_by_a_notebook_that_its_tag_names(repo_root):
    problems = tag_problems(repo_root / "aehelpers", repo_root / "notebooks")
    assert not problems, f"{len(problems)} public helper(s) to fix:\n" + "\n".join(problems)


# --- the checks themselves, on synthetic packages ---------------------------------------------------

def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "aehelpers" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "aehelpers"


def _notebook(folder: Path, name: str, *cells: str) -> None:
    folder.mkdir(exist_ok=True)
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
                    for c in cells] + [{"cell_type": "markdown", "metadata": {}, "source": "models.build(x) in prose"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / name).write_text(json.dumps(nb))


def test_import_checks_find_cycles_through_function_and_relative_imports(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "", "models.py": "from aehelpers import plotting\n",
        "plotting.py": "def f():\n    from . import results\n", "results.py": "import aehelpers.models as m\n",
        "utils.py": "import aehelpers\n\ndef g():\n    from aehelpers.course.nbfiles import source\n",
        "course/__init__.py": "", "course/nbfiles.py": "from aehelpers import results\n",
        "course/flow.py": "from .nbfiles import x\nfrom aehelpers.course import export\n",
        "course/export.py": "def h():\n    from aehelpers.course.flow import y\n"})
    graph = import_graph(package)
    assert graph["aehelpers.plotting"] == {"aehelpers.results": "aehelpers/plotting.py:2"}
    assert graph["aehelpers.course.flow"] == {"aehelpers.course.nbfiles": "aehelpers/course/flow.py:1",
                                              "aehelpers.course.export": "aehelpers/course/flow.py:2"}
    assert graph["aehelpers.utils"] == {"aehelpers": "aehelpers/utils.py:1", "aehelpers.course.nbfiles": "aehelpers/utils.py:4"}
    found = import_problems(package)
    assert len(found) == 3
    assert found[0].startswith("aehelpers/utils.py:4: the teaching module aehelpers.utils imports the tooling "
                               "aehelpers.course.nbfiles")
    cycle_lines = sorted(found[1:])
    assert cycle_lines[0].startswith("import cycle: aehelpers.course.export (aehelpers/course/export.py:2) -> "
                                     "aehelpers.course.flow (aehelpers/course/flow.py:2) -> aehelpers.course.export;")
    assert cycle_lines[1].startswith("import cycle: aehelpers.models (aehelpers/models.py:1) -> aehelpers.plotting "
                                     "(aehelpers/plotting.py:2) -> aehelpers.results (aehelpers/results.py:1) -> aehelpers.models;")
    clean = _package(tmp_path / "clean", {"__init__.py": "import importlib\n", "models.py": "from aehelpers import results\n",
                                          "results.py": "import aehelpers\n", "course/__init__.py": "",
                                          "course/runner.py": "from aehelpers import results\nfrom . import nbfiles\n",
                                          "course/nbfiles.py": "import json\n"})
    assert import_problems(clean) == []


def test_line_budget_counts_the_teaching_room_only(tmp_path):
    package = _package(tmp_path, {"__init__.py": "a\nb\n", "models.py": "x = 1\n" * 10, "course/cli.py": "y\n" * 99})
    assert teaching_lines(package) == {"__init__.py": 2, "models.py": 10}


def test_tag_checks_follow_the_notebooks_calls(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "def everywhere():\n    'not a teaching module'\n",
        "_private.py": "def helper():\n    'no tag needed'\n",
        "models.py": ("import keras\n\n"
                      "def build(x):\n    'Build. Introduced in notebook 01.'\n\n"
                      "def run(m, x):\n    'Run. Introduced in notebook 01.'\n\n"
                      "def unused():\n    'Introduced in notebook 01.'\n\n"
                      "def _inner():\n    pass\n\n"
                      "class Sampling(keras.layers.Layer):\n    'Introduced in notebook 02.'\n\n"
                      "class Tied(Sampling):\n    'no tag'\n\n"
                      "class Plain:\n    'not a layer'\n"),
        "training.py": ("from keras.callbacks import Callback\n\n"
                        "class EpochLine(Callback):\n    'Introduced in notebook 02.'\n\n"
                        "def fit(m):\n    'Introduced in notebook 02.'\n"),
        "metrics.py": "def psnr(a, b):\n    'PSNR. Introduced in the README.'\n"})
    notebooks = tmp_path / "notebooks"
    _notebook(notebooks, "01_first.ipynb",
              "%run ../Latex_macros.ipynb\nfrom aehelpers import models\nimport aehelpers.training as tr",
              "if True:\n    !echo hi\nm = models.build(3)\n# models.run(m, 1) is a comment\nprint('models.run(m)')",
              "def inner():\n    return tr.fit(m)\n")
    _notebook(notebooks, "02_second.ipynb",
              "from aehelpers.models import run as go, Sampling\nimport aehelpers\n",
              "go(m, 1); aehelpers.metrics.psnr(1, 2)\nlayer = Sampling()\ncb = aehelpers.training.EpochLine()")
    _notebook(notebooks, "03_third.ipynb", "from aehelpers import models as M\nM.Tied()\nM.build(1)")
    _notebook(notebooks, "scratch.ipynb", "from aehelpers import models\nmodels.unused()")  # not NN_*: not the course
    assert notebook_calls(notebooks / "01_first.ipynb", "aehelpers") == {("models", "build"), ("training", "fit")}
    assert notebook_calls(notebooks / "02_second.ipynb", "aehelpers") == {
        ("models", "run"), ("metrics", "psnr"), ("models", "Sampling"), ("training", "EpochLine")}
    assert sorted(public_helpers(package)) == [("metrics", "psnr"), ("models", "Sampling"), ("models", "Tied"),
                                               ("models", "build"), ("models", "run"), ("models", "unused"),
                                               ("training", "EpochLine"), ("training", "fit")]
    assert tag_problems(package, notebooks) == [
        "aehelpers/metrics.py:1 metrics.psnr: its docstring says 'Introduced in the README', but the first notebook "
        "that calls it is 02_second.ipynb; change it to 'Introduced in notebook 02'",
        "aehelpers/models.py:6 models.run: its docstring says 'Introduced in notebook 01', but the first notebook "
        "that calls it is 02_second.ipynb; change it to 'Introduced in notebook 02'",
        "aehelpers/models.py:9 models.unused: no notebook calls it; make it private (_unused) or remove it, or call it "
        "in the notebook that introduces it",
        "aehelpers/models.py:18 models.Tied: end its docstring with 'Introduced in notebook 03.' "
        "(03_third.ipynb is the first notebook that calls it)",
        "aehelpers/training.py:6 training.fit: its docstring says 'Introduced in notebook 02', but the first notebook "
        "that calls it is 01_first.ipynb; change it to 'Introduced in notebook 01'",
    ]


def test_a_notebook_cell_that_is_not_python_is_named(tmp_path):
    _notebook(tmp_path / "nbs", "01_x.ipynb", "import numpy", "x = (")
    with pytest.raises(ValueError, match=r"01_x.ipynb, cell 1: not Python"):
        notebook_calls(tmp_path / "nbs" / "01_x.ipynb", "aehelpers")
