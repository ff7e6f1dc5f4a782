"""Classroom publishing: the slide rules, the committed slide metadata, the export, and a real
browser (headless Chromium + a local MathJax 2 from npm) rendering every exported page.

The browser tests skip, saying why, only where Chromium or the npm ``mathjax`` package cannot be
found or installed; CI (``.ci/run``) installs both.
"""

import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from aehelpers.course import export, flow
# nbconvert's templates load MathJax 2.7.7 (HTMLExporter.mathjax_url); the test serves the same
# version from npm, cached outside the repository (.ci/run installs it there).
MATHJAX_VERSION = "2.7.7"
MATHJAX_CACHE = Path(os.environ.get("AEHELPERS_MATHJAX_CACHE", Path.home() / ".cache" / "aehelpers" / "mathjax"))
# 1x1 transparent PNG
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
new = nbformat.v4


# --- a tiny two-notebook course ---------------------------------------------------------------

def _ran(source, outputs=(), count=1):
    return new.new_code_cell(source, outputs=list(outputs), execution_count=count)


def _figure():
    return new.new_output("display_data", data={"image/png": base64.b64encode(PNG).decode(), "text/plain": "<Figure>"})


def _text(text):
    return new.new_output("stream", name="stdout", text=text)


@pytest.fixture
def tiny(course_root):
    (course_root / "images").mkdir()
    (course_root / "images" / "diagram.png").write_bytes(PNG)
    nbs = course_root / "notebooks"
    first = new.new_notebook(cells=[
        new.new_markdown_cell("<!-- macros -->\n# First · a title\n\nThe idea $a^2 + b^2$."),      # 0 title slide
        new.new_markdown_cell("## Setup\n\nImports."),                                              # 1 skip
        _ran("%run ../Latex_macros.ipynb\nimport secret_setup_module", [_text("versions\n")]),     # 2 skip
        _ran("SEED = 1"),                                                                           # 3 skip (still Setup)
        new.new_markdown_cell("## 1 · An idea\n\n![a diagram](../images/diagram.png)"),             # 4 slide
        _ran("x = 1", [_text("1\n")], 2),                                                           # 5 -
        _ran("plot()", [_figure()], 3),                                                             # 6 subslide
        new.new_markdown_cell("What the figure shows (Setup ran `%run ../Latex_macros.ipynb`).\n"
                              "```\n## not a heading (code)\n```"),                               # 7 -
        new.new_markdown_cell("Text first.\n\n### A detail"),                                       # 8 subslide
        new.new_markdown_cell("#### A small heading"),                                              # 9 -
        new.new_code_cell(""),                                                                      # 10 - (empty, never run)
        new.new_markdown_cell("## Summary"),                                                        # 11 slide
        new.new_markdown_cell("![a diagram alone](../images/diagram.png)"),                         # 12 subslide
        _ran("y = 2"),                                                                              # 13 subslide (after it)
    ])
    second = new.new_notebook(cells=[new.new_markdown_cell("# Second · another"), _ran("print(2)", [_text("2\n")])])
    nbformat.write(first, nbs / "01_first.ipynb")
    nbformat.write(second, nbs / "02_second.ipynb")
    nbformat.write(new.new_notebook(), nbs / "scratch.ipynb")  # not NN_*: not part of the course
    return course_root


TINY_TYPES = ["slide", "skip", "skip", "skip", "slide", "-", "subslide", "-", "subslide", "-", "-", "slide",
              "subslide", "subslide"]


# --- slide rules and metadata -----------------------------------------------------------------

def test_slide_types_follow_the_rules(tiny):
    nb = nbformat.read(tiny / "notebooks" / "01_first.ipynb", as_version=4)
    assert export.slide_types(nb) == TINY_TYPES


def test_committed_notebooks_follow_the_slide_rules(repo_root):
    assert export.slide_problems(repo_root) == []


def test_sync_slides_writes_metadata_only_and_is_idempotent(tiny):
    path = tiny / "notebooks" / "01_first.ipynb"
    before = nbformat.read(path, as_version=4)
    assert len(export.slide_problems(tiny)) == 2 and "cell 0 has None, the rules say 'slide'" in export.slide_problems(tiny)[0]
    assert export.sync_slides(tiny) == [path, tiny / "notebooks" / "02_second.ipynb"]
    assert export.sync_slides(tiny) == [] and export.slide_problems(tiny) == []
    after = nbformat.read(path, as_version=4)
    assert [c.metadata.slideshow.slide_type for c in after.cells] == TINY_TYPES
    for old, cell in zip(before.cells, after.cells):
        assert cell.source == old.source and cell.get("outputs") == old.get("outputs")
        assert {k: v for k, v in cell.metadata.items() if k != "slideshow"} == old.metadata
    after.cells[5].metadata.slideshow.slide_type = ""  # JupyterLab's property inspector writes "" for "-": fine
    after.cells[6].metadata.slideshow.slide_type = "-"  # someone flattens a figure slide by hand: drift
    nbformat.write(after, path)
    assert export.slide_problems(tiny) == [
        "01_first.ipynb: 1 cell(s) differ from the slide rules (first: cell 6 has '-', the rules say 'subslide'); "
        "run `python -m aehelpers.course sync-slides`"]


def test_cli_sync_slides_check_then_sync(tiny):
    cmd = [sys.executable, "-m", "aehelpers.course", "sync-slides", "--check"]
    proc = subprocess.run(cmd, cwd=tiny, capture_output=True, text=True)
    assert proc.returncode == 1 and "differ from the slide rules" in proc.stdout
    proc = subprocess.run(cmd[:-1], cwd=tiny, capture_output=True, text=True)
    assert proc.returncode == 0 and "updated notebooks/01_first.ipynb" in proc.stdout and "slides OK" in proc.stdout


# --- export -----------------------------------------------------------------------------------

def test_export_writes_pages_index_and_slides(tiny):
    export.sync_slides(tiny)
    out = tiny / "site"
    index = export.export_course(tiny, out)
    assert index == out / "index.html"
    assert sorted(p.name for p in out.iterdir()) == [
        "01_first.html", "01_first.slides.html", "02_second.html", "02_second.slides.html", "index.html"]
    text = index.read_text()
    assert text.index("First · a title") < text.index("Second · another")
    assert '<a href="01_first.html">First · a title</a>' in text and '<a href="01_first.slides.html">slides</a>' in text
    page = (out / "01_first.html").read_text()
    assert "<title>First · a title</title>" in page
    assert "../images/" not in page and 'src="data:image/png;base64,' + base64.b64encode(PNG).decode() in page
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/" in page  # nbconvert's default MathJax 2
    assert "secret_setup_module" in page  # the HTML page is the whole notebook
    slides = (out / "01_first.slides.html").read_text()
    assert "secret_setup_module" not in slides and "SEED = 1" not in slides  # Setup skipped
    # one top-level <section> per "slide"; each holds one <section> per subslide
    body = slides[slides.index('<div class="slides">'):]
    depth, top, inner = 0, 0, 0
    for tag in re.findall(r"<(/?)section\b", body):
        depth += -1 if tag else 1
        top, inner = top + (not tag and depth == 1), inner + (not tag and depth == 2)
    assert (top, inner) == (TINY_TYPES.count("slide"), TINY_TYPES.count("slide") + TINY_TYPES.count("subslide"))
    # the template's immediate re-render on slide change (races MathJax on a deep link) is queued
    assert "MathJax.Hub.Rerender(" not in slides and 'MathJax.Hub.Queue(["Rerender", MathJax.Hub, Reveal.getCurrentSlide()]);' in slides


def test_export_leaves_out_the_colab_guard_which_need_not_have_run(tiny):
    path = tiny / "notebooks" / "02_second.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(1, new.new_code_cell(flow.guard_source(), metadata={"tags": [flow.GUARD_TAG]}))  # never ran
    nbformat.write(nb, path)
    out = tiny / "site"
    export.export_course(tiny, out)
    for page in ("02_second.html", "02_second.slides.html"):
        text = (out / page).read_text()
        assert "CourseSetupError" not in text and "AEHELPERS_COURSE_REPO" not in text and "<pre>2\n</pre>" in text


def test_export_errors_are_clear(tiny, tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebooks folder"):
        export.export_course(tmp_path / "nowhere", tmp_path / "out")
    (tiny / "site.html").write_text("")
    with pytest.raises(ValueError, match="is a file"):
        export.export_course(tiny, tiny / "site.html")
    with pytest.raises(FileNotFoundError, match="no MathJax.js there"):
        export.export_course(tiny, tiny / "site", mathjax=str(tiny / "no-mathjax"))
    (tiny / "mathjax3").mkdir()
    (tiny / "mathjax3" / "tex-chtml.js").write_text("")
    with pytest.raises(ValueError, match="MathJax 3.*mathjax@2"):
        export.export_course(tiny, tiny / "site", mathjax=str(tiny / "mathjax3"))
    (tiny / "images" / "diagram.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"01_first.ipynb: image '../images/diagram.png' not found"):
        export.export_course(tiny, tiny / "site")
    path = tiny / "notebooks" / "02_second.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].outputs, nb.cells[1].execution_count = [], None
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match=r"02_second.ipynb is not executed \(code cell\(s\) 1 never ran\).*never runs"):
        export.export_course(tiny, tiny / "site")
    shutil.rmtree(tiny / "notebooks")
    (tiny / "notebooks").mkdir()
    with pytest.raises(FileNotFoundError, match="no course notebooks"):
        export.export_course(tiny, tiny / "site")


def test_export_copies_a_local_mathjax_and_links_it_relatively(tiny):
    fake = tiny / "npm" / "node_modules" / "mathjax"  # the layout `npm install --prefix npm mathjax@2` leaves
    (fake / "unpacked").mkdir(parents=True)
    (fake / "MathJax.js").write_text("// MathJax 2")
    (fake / "unpacked" / "MathJax.js").write_text("// sources, not needed")
    out = tiny / "site"
    export.export_course(tiny, out, mathjax=str(tiny / "npm"))
    assert (out / "mathjax" / "MathJax.js").is_file() and not (out / "mathjax" / "unpacked").exists()
    assert '<script src="mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe">' in (out / "01_first.html").read_text()
    assert '<script src="mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe">' in (out / "01_first.slides.html").read_text()
    export.export_course(tiny, out, mathjax="https://example.org/MathJax.js?config=X")
    assert '<script src="https://example.org/MathJax.js?config=X">' in (out / "01_first.html").read_text()


def test_cli_export_reports_bad_output_folder(tiny):
    (tiny / "taken").write_text("")
    proc = subprocess.run([sys.executable, "-m", "aehelpers.course", "export", "--out", "taken"],
                          cwd=tiny, capture_output=True, text=True)
    assert proc.returncode == 1 and "export failed: --out taken is a file" in proc.stderr


# --- the real-browser check -------------------------------------------------------------------

# Injected into a TEST COPY of a page, before its first script: records MathJax 2's error signals
# (undefined control sequence from the noUndefined extension, TeX parse errors, processing errors,
# files that failed to load), waits for MathJax's startup typesetting and the window's load event,
# then writes a JSON summary into <pre id="aehelpers-check"> for --dump-dom.
PROBE = """<script>
(function () {
  var check = {mathjax: null, typeset: 0, errors: [], failed_files: []}, finished = false;
  function finish() {
    if (finished) return;
    finished = true;
    check.images = document.images.length;
    check.broken_images = Array.prototype.filter.call(document.images, function (img) {
      return !img.complete || img.naturalWidth === 0;
    }).map(function (img) { return (img.getAttribute("src") || "").slice(0, 60); });
    check.merror = document.querySelectorAll("merror, .mjx-merror, .MathJax_Error").length;
    var pre = document.createElement("pre");
    pre.id = "aehelpers-check";
    pre.textContent = JSON.stringify(check);
    document.body.appendChild(pre);
  }
  function whenLoaded(fn) {
    if (document.readyState === "complete") fn(); else window.addEventListener("load", fn);
  }
  window.MathJax = {AuthorInit: function () {
    var hub = MathJax.Hub, hook = hub.Register.MessageHook;
    hook("TeX Jax - undefined control sequence", function (m) { check.errors.push("undefined control sequence " + m[1]); });
    hook("TeX Jax - parse error", function (m) { check.errors.push("TeX parse error: " + m[1] + " in $" + String(m[2]).slice(0, 80) + "$"); });
    hook("Math Processing Error", function (m) { check.errors.push("Math Processing Error: " + m[2]); });
    hook("file failed to load", function (m) { check.failed_files.push(String(m[1])); });
    hub.Register.StartupHook("End", function () {
      hub.Queue(function () {
        check.mathjax = MathJax.version;
        check.typeset = hub.getAllJax().length;
        whenLoaded(finish);
      });
    });
  }};
  whenLoaded(function () { if (!window.MathJax || !window.MathJax.Hub) { check.errors.push("MathJax did not load"); finish(); } });
})();
</script>
"""
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--host-resolver-rules=MAP * ~NOTFOUND"]  # offline: no host resolves, so nothing waits on a CDN


def run_chromium(chromium: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run headless Chromium with a fresh profile (deleted afterwards) and the given arguments."""
    with tempfile.TemporaryDirectory(prefix="aehelpers-chromium-") as profile:
        return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)


def browser_check(chromium: str, page: Path, budget_ms: int = 60_000) -> dict:
    """Open a probed copy of ``page`` (beside it, so relative URLs resolve) in headless Chromium
    and return the probe's summary; fail if MathJax did not finish within the time budget."""
    text = page.read_text(encoding="utf-8")
    at = text.index("<script")
    probed = page.with_name(page.stem + ".check.html")
    probed.write_text(text[:at] + PROBE + text[at:], encoding="utf-8")
    try:
        proc = run_chromium(chromium, f"--virtual-time-budget={budget_ms}", "--dump-dom", probed.as_uri())
    finally:
        probed.unlink()
    match = re.search(r'<pre id="aehelpers-check">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"{page.name}: no check summary (MathJax did not finish?); chromium exit {proc.returncode}: {proc.stderr[-800:]}"
    return json.loads(html.unescape(match.group(1)))


@pytest.fixture(scope="module")
def chromium():
    names = (os.environ.get("AEHELPERS_CHROMIUM"), "chromium", "chromium-browser", "google-chrome")
    found = next((shutil.which(n) for n in names if n and shutil.which(n)), None)
    if not found:
        pytest.skip("Chromium not found (apt-get install -y chromium, or set AEHELPERS_CHROMIUM to a Chrome binary)")
    return found


@pytest.fixture(scope="module")
def mathjax():
    """The npm package mathjax@MATHJAX_VERSION in MATHJAX_CACHE, installed there if missing."""
    folder = MATHJAX_CACHE / "node_modules" / "mathjax"

    def version():
        try:
            return json.loads((folder / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            return None

    if version() != MATHJAX_VERSION:
        npm = shutil.which("npm")
        if not npm:
            pytest.skip(f"npm not found, and no mathjax@{MATHJAX_VERSION} in {MATHJAX_CACHE} (install Node.js/npm)")
        cmd = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(MATHJAX_CACHE), f"mathjax@{MATHJAX_VERSION}"]
        MATHJAX_CACHE.mkdir(parents=True, exist_ok=True)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            pytest.skip(f"`{' '.join(cmd)}` timed out (no npm registry?)")
        if proc.returncode or version() != MATHJAX_VERSION:
            pytest.skip(f"could not install mathjax@{MATHJAX_VERSION} with npm: {proc.stderr.strip()[-300:]}")
    return folder


def test_browser_check_reports_undefined_macro_parse_error_and_broken_image(tiny, chromium, mathjax):
    path = tiny / "notebooks" / "02_second.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(new.new_markdown_cell(
        "Fine: $\\frac{a}{b}$. A typo: $\\undefinedmacro + 1$. A slip: $x^^2$.\n\n"
        '<img src="data:image/png;base64,AAAA" alt="a broken image">'))
    nbformat.write(nb, path)
    out = tiny / "site"
    export.export_course(tiny, out, mathjax=str(mathjax))
    bad = browser_check(chromium, out / "02_second.html")
    assert bad["mathjax"] == MATHJAX_VERSION and bad["typeset"] == 3
    assert bad["errors"][0] == "undefined control sequence \\undefinedmacro"
    assert len(bad["errors"]) == 2 and bad["errors"][1].startswith("TeX parse error: ") and "x^^2" in bad["errors"][1]
    assert bad["broken_images"] == ["data:image/png;base64,AAAA"] and bad["images"] == 1
    good = browser_check(chromium, out / "01_first.html")
    assert good["errors"] == [] and good["broken_images"] == [] and good["typeset"] == 1 and good["images"] == 3


def test_exported_course_renders_in_a_browser_offline(chromium, mathjax, tmp_path_factory, repo_root):
    out = tmp_path_factory.mktemp("course-export")
    export.export_course(repo_root, out, mathjax=str(mathjax))
    pages = [p for p in sorted(out.glob("[0-9][0-9]_*.html")) if not p.name.endswith(".slides.html")]
    assert len(pages) == len(list((repo_root / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        checks = dict(zip((p.name for p in pages), pool.map(lambda p: browser_check(chromium, p), pages)))
    problems = {name: {k: c[k] for k in ("errors", "failed_files", "broken_images", "merror") if c[k]}
                for name, c in checks.items()}
    assert {name: p for name, p in problems.items() if p} == {}
    for name, c in checks.items():
        assert c["mathjax"] == MATHJAX_VERSION, name
        assert c["typeset"] > 0 and c["images"] > 0, (name, c)  # formulas typeset, figures shown
