"""The course notation: LaTeX macros defined once in ``Latex_macros.ipynb`` and synced into
every notebook.

Why a copy in each notebook? ``%run ../Latex_macros.ipynb`` defines the macros only once
its output exists, so markdown cells would show raw ``\\x`` when a notebook is opened before
it is run, or when it is exported. :func:`sync` therefore writes the definitions (as
invisible ``$\\newcommand...$`` lines) at the top of each notebook's first markdown cell,
from the one source, and :func:`problems` (run by the test suite) fails when a copy drifts
or a markdown cell uses a macro that is neither a course macro nor standard LaTeX.
Command line: ``python -m aehelpers.course sync-macros`` (add ``--check`` to only check).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from aehelpers.course import nbfiles

BEGIN = "<!-- BEGIN course macros: synced from Latex_macros.ipynb by `python -m aehelpers.course sync-macros`; edit them there, not here -->"
END = "<!-- END course macros -->"
TABLE_BEGIN = "<!-- BEGIN macro table (generated) -->"
TABLE_END = "<!-- END macro table -->"
SOURCE_NAME = nbfiles.MACROS_NAME

_MACROS_RE = re.compile(r'MACROS\s*=\s*r"""(.*?)"""', re.S)
_CMD_RE = re.compile(r"\\([A-Za-z]+)")

# Standard LaTeX/MathJax commands a course notebook may use without defining them.
# A command missing here but valid in MathJax can be added; a typo or a forgotten course
# macro is exactly what this list exists to catch.
STANDARD = set("""
alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi
pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta
Lambda Xi Pi Sigma Upsilon Phi Psi Omega
mathbf mathrm mathcal mathbb mathsf mathit mathtt boldsymbol bm text textbf textit textrm
texttt mbox operatorname displaystyle textstyle scriptstyle
frac dfrac tfrac sqrt sum prod int iint oint lim limsup liminf log ln lg exp sin cos tan
sinh cosh tanh arcsin arccos arctan max min arg sup inf det dim ker Pr deg gcd mod bmod pmod
left right big Big bigg Bigg bigl bigr Bigl Bigr middle
cdot cdots ldots dots vdots ddots times div pm mp ast star circ bullet odot otimes oplus
leq le geq ge neq ne lt gt approx sim simeq cong equiv propto ll gg prec succ
in notin ni subset subseteq supset supseteq cup cap bigcup bigcap setminus emptyset varnothing
forall exists nexists nabla partial infty to rightarrow leftarrow Rightarrow Leftarrow
leftrightarrow Leftrightarrow longrightarrow Longrightarrow iff implies mapsto uparrow
downarrow xrightarrow xleftarrow
quad qquad hspace vspace phantom hphantom vphantom
hat bar tilde widetilde widehat vec dot ddot overline underline overbrace underbrace
overset underset stackrel
mid vert Vert lvert rvert lVert rVert langle rangle lfloor rfloor lceil rceil
begin end top intercal perp parallel angle prime dagger ell Re Im hbar
binom choose land lor neg lnot wedge vee
color label tag nonumber notag limits nolimits hline quad boxed
newcommand renewcommand
""".split())


def _split_braced(text: str, start: int) -> tuple[str, int]:
    """Return the content of the balanced ``{...}`` group starting at ``text[start]``."""
    if start >= len(text) or text[start] != "{":
        raise ValueError(f"expected '{{' at position {start} of a macro definition: {text[start:start + 40]!r}")
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1:i], i + 1
    raise ValueError(f"unbalanced braces in macro definition: {text[start:start + 60]!r}")


def read_macros(source: Path | None = None) -> list[tuple[str, str, str]]:
    """Return the course macros as ``(name, definition, meaning)`` tuples, parsed from the
    ``MACROS = r\"\"\"...\"\"\"`` string in ``Latex_macros.ipynb``'s code cell: one
    ``\\newcommand{\\name}{definition}  % meaning`` per line. Introduced in the README (notation)."""
    source = Path(source) if source is not None else nbfiles.repo_root() / SOURCE_NAME
    nb = json.loads(source.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            match = _MACROS_RE.search(nbfiles.source(cell))
            if match:
                break
    else:
        raise ValueError(f'{source}: no code cell defines MACROS = r"""...""" (the one source of the course macros)')
    macros = []
    for raw in match.group(1).splitlines():
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("\\newcommand{\\"):
            raise ValueError(f"{source}: each MACROS line must be \\newcommand{{\\name}}{{definition}}  % meaning; got {line!r}")
        name, pos = _split_braced(line, len(r"\newcommand"))
        definition, pos = _split_braced(line, pos)
        rest = line[pos:].strip()
        meaning = rest[1:].strip() if rest.startswith("%") else ""
        if rest and not rest.startswith("%"):
            raise ValueError(f"{source}: unexpected text after the definition of {name}: {rest!r}")
        macros.append((name.lstrip("\\"), definition, meaning))
    return macros


def _definitions(macros) -> str:
    return "\n".join(f"$\\newcommand{{\\{name}}}{{{definition}}}$" for name, definition, _ in macros)


def definitions_block(macros) -> str:
    """Return the markdown block of invisible ``$\\newcommand...$`` lines between the
    BEGIN/END markers (what :func:`sync` writes into each notebook). Introduced in the README (notation)."""
    return f"{BEGIN}\n{_definitions(macros)}\n{END}"


def _table(macros) -> str:
    """The generated markdown table of the macros, for ``Latex_macros.ipynb``."""
    rows = ["| macro | renders as | meaning |", "|---|---|---|"]
    return "\n".join(rows + [f"| `\\{name}` | $\\{name}$ | {meaning} |" for name, _, meaning in macros])


def _notebooks(root: Path) -> list[Path]:
    return sorted((root / "notebooks").glob("*.ipynb"))


def _first_markdown(nb: dict):
    return next((c for c in nb["cells"] if c["cell_type"] == "markdown"), None)


def sync(root: Path | None = None) -> list[Path]:
    """Write the macro definitions from ``Latex_macros.ipynb`` into the first markdown cell
    of every notebook in ``notebooks/`` (and the generated table into Latex_macros.ipynb).
    Returns the files it changed. Introduced in the README (notation)."""
    import nbformat

    root = Path(root) if root is not None else nbfiles.repo_root()
    macros = read_macros(root / SOURCE_NAME)
    definitions = _definitions(macros)
    changed = []
    for path in [root / SOURCE_NAME, *_notebooks(root)]:
        nb = nbfiles.read(path)
        cell = _first_markdown(nb)
        if cell is None:
            cell = nbformat.v4.new_markdown_cell("")
            nb.cells.insert(0, cell)
        text = nbfiles.replace_between(nbfiles.source(cell), BEGIN, END, definitions, prepend=True)
        if path.name == SOURCE_NAME:
            text = nbfiles.replace_between(text, TABLE_BEGIN, TABLE_END, _table(macros))
        if text != nbfiles.source(cell):
            cell.source = text
            nbfiles.write(path, nb)
            changed.append(path)
    return changed


def _markdown_commands(text: str) -> set[str]:
    """Return the backslash commands used in a markdown cell's text, ignoring code spans,
    fenced code and the synced definitions block."""
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), "", text, flags=re.S)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return set(_CMD_RE.findall(text))


def problems(root: Path | None = None) -> list[str]:
    """Return what is wrong with the notation across the course (empty when all is well):
    a notebook whose synced definitions are missing or differ from ``Latex_macros.ipynb``,
    and any markdown cell that uses a macro that is neither a course macro nor in
    :data:`STANDARD`. The test suite fails on any entry. Introduced in the README (notation)."""
    root = Path(root) if root is not None else nbfiles.repo_root()
    macros = read_macros(root / SOURCE_NAME)
    block = definitions_block(macros)
    known = STANDARD | {name for name, _, _ in macros}
    found = []
    for path in [root / SOURCE_NAME, *_notebooks(root)]:
        nb = json.loads(path.read_text(encoding="utf-8"))
        first = _first_markdown(nb)
        if first is None or block not in nbfiles.source(first):
            found.append(f"{path.name}: the course macros in its first markdown cell are missing or out of date "
                         "(run `python -m aehelpers.course sync-macros`)")
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "markdown":
                continue
            unknown = ", ".join("\\" + u for u in sorted(_markdown_commands(nbfiles.source(cell)) - known))
            if unknown:
                found.append(f"{path.name}, cell {i}: undefined macro(s) {unknown} "
                             f"(define them in {SOURCE_NAME} or, if standard MathJax, add them to aehelpers.course.notation.STANDARD)")
    return found
