"""The course's architecture diagrams, drawn with matplotlib patches by this one module so
they can be regenerated and restyled together.

Usage (from the course checkout)::

    python -m aehelpers.course diagrams                     # every diagram into images/
    python -m aehelpers.course diagrams --out /tmp/figs     # the same, into another folder
    python -m aehelpers.course diagrams --only vae.png      # just one (or a few)

Every diagram is built from the same few primitives: a palette of roles (:data:`PALETTE`:
encoder, decoder, code, loss, random, head, data, frozen, discarded), :func:`_node` (a data
or code bar, an encoder/decoder trapezoid, a box, a random ellipse, a decision diamond),
:func:`_arrow` (a straight, elbowed or curved arrow in one of a few styles) and :func:`_text`
(sans-serif words, serif mathtext in the course notation: bold x, x̂, x̃, z, μ, σ, ε, c). One public function per diagram
returns its :class:`matplotlib.figure.Figure` (drawn without pyplot, so nothing is left open);
:data:`DIAGRAMS` maps each file name in ``images/`` to its function and :func:`write_all`
writes them. Matplotlib only: no Keras or TensorFlow import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import (
    Ellipse,
    FancyArrowPatch,
    FancyBboxPatch,
    Polygon,
    Rectangle,
)
from matplotlib.path import Path as MplPath

from aehelpers.course import nbfiles

DPI = 150
INK = "#1B1B1B"        # text and outlines of neutral things
MUTED = "#5A5A5A"      # captions
FAINT = "#A3A3A3"      # text of discarded parts
FONT = "DejaVu Sans"   # words (ships with matplotlib)
MATH = "dejavuserif"   # math: serif, as in the notebooks, and as large as the words around it


@dataclass(frozen=True)
class Role:
    """The colours of one kind of thing in every diagram."""

    fill: str
    edge: str
    text: str = INK
    linestyle: str = "-"
    hatch: str | None = None


#: The one palette: what a colour means is the same in every diagram.
PALETTE = {
    "data": Role("#F5F5F5", "#454545"),                 # inputs, outputs, labels
    "encoder": Role("#D6E5F4", "#1F5F99"),
    "decoder": Role("#FBE0C9", "#B65400"),
    "code": Role("#D3EDDC", "#2A7A4B"),                 # codes and latents
    "loss": Role("#F8D9D6", "#B3261E"),
    "random": Role("#FFF2BD", "#9A7800"),               # noise, sampling
    "head": Role("#E6DCF1", "#6A3D9A"),                 # a new task-specific network
    "frozen": Role("#E2E2E2", "#7A7A7A", hatch="////"),
    "discarded": Role("#F1F1F1", "#ABABAB", text=FAINT, linestyle=(0, (4, 3))),
}

# The course notation (Latex_macros.ipynb), in matplotlib mathtext.
X, XHAT, XTILDE, Z = r"$\mathbf{x}$", r"$\hat{\mathbf{x}}$", r"$\tilde{\mathbf{x}}$", r"$\mathbf{z}$"
MU, SIGMA, LOGVAR = r"$\boldsymbol{\mu}$", r"$\boldsymbol{\sigma}$", r"$\log\boldsymbol{\sigma}^2$"
SQERR = r"$\|\mathbf{x}-\hat{\mathbf{x}}\|^2$"
PRIOR = r"\mathcal{N}(\mathbf{0}, I)"

# Arrow styles: colour, line width, line style.
_ARROWS = {
    "flow": ("#3C3C3C", 1.6, "-"),
    "loss": (PALETTE["loss"].edge, 1.3, "-"),
    "grad": (PALETTE["loss"].edge, 1.5, (0, (4, 2.5))),
    "discarded": (PALETTE["discarded"].edge, 1.4, (0, (4, 3))),
}

# Node kinds: shape, default width, height(s) (left, right for trapezoids) and role.
DATA_H, CODE_H, BAR_W = 1.6, 0.85, 0.55
_AE_W = 1.8   # the compact autoencoder icon
_KINDS = {
    "data": ("rect", BAR_W, (DATA_H, DATA_H), "data"),
    "code": ("rect", BAR_W, (CODE_H, CODE_H), "code"),
    "encoder": ("trapezoid", 1.45, (DATA_H, CODE_H), "encoder"),
    "decoder": ("trapezoid", 1.45, (CODE_H, DATA_H), "decoder"),
    "box": ("rect", 1.6, (0.8, 0.8), "data"),
    "random": ("ellipse", 1.9, (0.95, 0.95), "random"),
    "decision": ("diamond", 1.5, (1.15, 1.15), "data"),
}


@dataclass(frozen=True)
class _Node:
    """A drawn node: centre, width, left/right heights and shape; gives the points on its
    outline that arrows attach to."""

    x: float
    y: float
    w: float
    h_left: float
    h_right: float
    shape: str

    def _across(self, t: float) -> float:
        """The fraction of the full half-extent at the normalised offset ``t`` (-1..1) from
        the centre: 1 for boxes and trapezoids, less towards the ends of ellipses and diamonds."""
        t = max(-1.0, min(1.0, t))
        return {"ellipse": math.sqrt(1 - t * t), "diamond": 1 - abs(t)}.get(self.shape, 1.0)

    def half_height(self, dx: float = 0.0) -> float:
        t = max(-1.0, min(1.0, 2 * dx / self.w))
        return (self.h_left + (self.h_right - self.h_left) * (t + 1) / 2) / 2 * self._across(t)

    def half_width(self, dy: float = 0.0) -> float:
        return self.w / 2 * self._across(2 * dy / self.h_left)

    def left(self, dy: float = 0.0):
        return (self.x - self.half_width(dy), self.y + dy)

    def right(self, dy: float = 0.0):
        return (self.x + self.half_width(dy), self.y + dy)

    def top(self, dx: float = 0.0):
        return (self.x + dx, self.y + self.half_height(dx))

    def bottom(self, dx: float = 0.0):
        return (self.x + dx, self.y - self.half_height(dx))

    @property
    def height(self) -> float:
        return max(self.h_left, self.h_right)


# --------------------------------------------------------------------------- primitives


def _canvas(width: float, height: float, title: str, subtitle: str = ""):
    """A white figure whose data coordinates are inches (0..width, 0..height), with the
    title (and a one-line subtitle) at the top left; returns (fig, ax)."""
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)   # an Agg canvas, so text can be measured without pyplot
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    _text(ax, 0.3, height - 0.22, title, size=15, weight="bold", ha="left", va="top")
    if subtitle:
        _text(ax, 0.3, height - 0.62, subtitle, size=10.5, color=MUTED, ha="left", va="top")
    return fig, ax


def _text(ax, x, y, s, *, size=11.0, color=INK, ha="center", va="center", weight="normal", style="normal", zorder=5):
    """One label: sans-serif words, serif mathtext between $...$ (same fonts in every diagram)."""
    return ax.text(x, y, s, fontsize=size, color=color, ha=ha, va=va, fontweight=weight, fontstyle=style,
                   family=FONT, math_fontfamily=MATH, zorder=zorder)


def _node(ax, kind, x, y, label="", math="", *, role=None, w=None, h=None, above="", below="",
          size=None, math_size=None):
    """Draw a node of ``kind`` (see ``_KINDS``) centred at (x, y) in the colours of ``role``,
    with a word ``label`` and/or a ``math`` label inside and small captions ``above``/``below``;
    return its :class:`_Node`."""
    shape, w0, (hl, hr), role0 = _KINDS[kind]
    w = w0 if w is None else w
    if h is not None:
        hl, hr = (h, h) if not isinstance(h, tuple) else h
    colours = PALETTE[role or role0]
    style = dict(facecolor=colours.fill, edgecolor=colours.edge, linewidth=1.4, linestyle=colours.linestyle,
                 hatch=colours.hatch, zorder=2)
    if shape == "rect":
        radius = min(0.09, w / 4, hl / 4)
        patch = FancyBboxPatch((x - w / 2, y - hl / 2), w, hl, boxstyle=f"round,pad=0,rounding_size={radius}", **style)
    elif shape == "trapezoid":
        patch = Polygon([(x - w / 2, y - hl / 2), (x + w / 2, y - hr / 2), (x + w / 2, y + hr / 2),
                         (x - w / 2, y + hl / 2)], closed=True, joinstyle="round", **style)
    elif shape == "ellipse":
        patch = Ellipse((x, y), w, hl, **style)
    else:  # diamond
        patch = Polygon([(x - w / 2, y), (x, y - hl / 2), (x + w / 2, y), (x, y + hl / 2)], closed=True, **style)
    ax.add_patch(patch)
    node = _Node(x, y, w, hl, hr, shape)
    math_size = math_size or (17 if kind in ("data", "code") else 13.5)
    if label and math:
        _text(ax, x, y + 0.04, label, size=size or 10.5, color=colours.text, va="bottom")
        _text(ax, x, y - 0.02, math, size=math_size, color=colours.text, va="top")
    elif label or math:
        _text(ax, x, y, label or math, size=size or (10.5 if label else math_size), color=colours.text)
    if above:
        _text(ax, x, y + node.height / 2 + 0.1, above, size=10, color=MUTED, va="bottom")
    if below:
        _text(ax, x, y - node.height / 2 - 0.1, below, size=10, color=MUTED, va="top")
    return node


def _arrow(ax, *points, style="flow", label="", label_side="above", bend=0.0, head=True):
    """Draw an arrow through ``points`` (a straight line, or an elbowed polyline; with two
    points and ``bend`` != 0 a curved arc, positive bends to the right of the direction
    of travel) in one of the ``_ARROWS`` styles, head at the last point (unless not ``head``),
    with an optional small label beside its longest segment (``label_side``: "above", "below",
    "left" or "right"); returns the label's position (or the middle of the arrow)."""
    colour, width, linestyle = _ARROWS[style]
    common = dict(arrowstyle="-|>,head_length=0.55,head_width=0.28" if head else "-", mutation_scale=14, color=colour,
                  linewidth=width, linestyle=linestyle, shrinkA=0, shrinkB=0, zorder=1)
    if bend:
        arrow = FancyArrowPatch(points[0], points[-1], connectionstyle=f"arc3,rad={bend}", **common)
    else:
        arrow = FancyArrowPatch(path=MplPath(points), joinstyle="miter", capstyle="butt", **common)
    ax.add_patch(arrow)
    segments = list(zip(points, points[1:]))
    (x0, y0), (x1, y1) = max(segments, key=lambda seg: math.dist(*seg))
    mx, my = (x0 + x1) / 2 + bend * (y1 - y0) / 2, (y0 + y1) / 2 - bend * (x1 - x0) / 2   # (the arc's) middle
    if label:
        dx, dy = {"above": (0, 0.07), "below": (0, -0.07), "left": (-0.1, 0), "right": (0.1, 0)}[label_side]
        ha = {"left": "right", "right": "left"}.get(label_side, "center")
        va = {"above": "bottom", "below": "top"}.get(label_side, "center")
        _text(ax, mx + dx, my + dy, label, size=10.5,
              color=MUTED if style == "flow" else colour, ha=ha, va=va)
    return mx, my


def _positions(ax, widths, gap, x0=None):
    """The centres of boxes of ``widths`` laid left to right ``gap`` apart, starting at ``x0``
    or centred on the canvas."""
    x = (ax.get_xlim()[1] - sum(widths) - gap * (len(widths) - 1)) / 2 if x0 is None else x0
    centres = []
    for w in widths:
        centres.append(x + w / 2)
        x += w + gap
    return centres


def _row(ax, y, specs, *, gap=0.42, x0=None, style="flow"):
    """Place the nodes described by ``specs`` (dicts of :func:`_node` arguments with a
    ``kind``; kind "ae" is a compact :func:`_autoencoder`) left to right at height ``y``,
    ``gap`` apart, centred on the canvas unless ``x0`` is given, chained by arrows (dashed
    grey out of a discarded node; none if ``style`` is None); return the nodes."""
    widths = [s.get("w", _AE_W if s["kind"] == "ae" else _KINDS[s["kind"]][1]) for s in specs]
    nodes = []
    for spec, x in zip(specs, _positions(ax, widths, gap, x0)):
        kw = {k: v for k, v in spec.items() if k != "kind"}
        nodes.append(_autoencoder(ax, x, y, **kw) if spec["kind"] == "ae" else _node(ax, spec["kind"], x, y, **kw))
    if style:
        for spec, a, b in zip(specs, nodes, nodes[1:]):
            _arrow(ax, a.right(), b.left(), style="discarded" if spec.get("role") == "discarded" else style)
    return nodes


def _autoencoder(ax, x, y, w=None, h=1.2, *, below=""):
    """A compact autoencoder icon centred at (x, y): encoder trapezoid, code bar and decoder
    trapezoid side by side; returns a :class:`_Node` spanning it."""
    w = _AE_W if w is None else w
    bar = 0.3
    side = (w - bar) / 2 - 0.04
    _node(ax, "encoder", x - bar / 2 - 0.04 - side / 2, y, math="$f$", w=side, h=(h, h / 2))
    _node(ax, "code", x, y, math=Z, w=bar, h=h / 2, math_size=12)
    _node(ax, "decoder", x + bar / 2 + 0.04 + side / 2, y, math="$g$", w=side, h=(h / 2, h))
    if below:
        _text(ax, x, y - h / 2 - 0.1, below, size=10, color=MUTED, va="top")
    return _Node(x, y, w, h, h, "rect")


def _loss_below(ax, a, b, y, label, math, *, w=3.2, h=0.78, caption=""):
    """A loss box at height ``y``, centred between nodes ``a`` and ``b``, fed by elbow arrows
    down from their bottoms; return the box node."""
    box = _node(ax, "box", (a.x + b.x) / 2, y, label, math, role="loss", w=w, h=h, below=caption)
    _arrow(ax, a.bottom(), (a.x, y), box.left(), style="loss")
    _arrow(ax, b.bottom(), (b.x, y), box.right(), style="loss")
    return box


def _cross(ax, x0, y0, x1, y1):
    """Cross out the rectangle (x0, y0)-(x1, y1): the part is thrown away."""
    for (a, b), (c, d) in (((x0, y0), (x1, y1)), ((x0, y1), (x1, y0))):
        ax.plot([a, c], [b, d], color=PALETTE["loss"].edge, linewidth=2.2, alpha=0.75, solid_capstyle="round", zorder=4)


def _legend(ax, y, entries, *, x0=0.3):
    """A one-line legend at height ``y``: ``(kind, role, text)`` swatches, or ``("arrow",
    style, text)`` line samples, left to right."""
    x = x0
    for kind, what, text in entries:
        if kind == "arrow":
            _arrow(ax, (x, y), (x + 0.5, y), style=what)
            x += 0.62
        else:
            shape, _, _, _ = _KINDS[kind]
            _node(ax, kind, x + 0.2, y, role=what, w=0.4 if shape != "ellipse" else 0.5, h=0.26)
            x += 0.5 if shape != "ellipse" else 0.6
        label = _text(ax, x, y, text, size=9.5, color=MUTED, ha="left")
        x += _text_width(ax, label) + 0.4


def _text_width(ax, text) -> float:
    """The width of a drawn text, in inches (= data units of a canvas)."""
    fig = ax.figure
    box = text.get_window_extent(renderer=fig.canvas.get_renderer())
    return box.width / fig.dpi


def _panel_heading(ax, y, text):
    """A bold sub-heading at the left margin for one panel of a multi-panel diagram."""
    _text(ax, 0.3, y, text, size=11.5, weight="bold", ha="left", va="center")


def _one_hot(ax, x, y, *, n=10, hot=3, cell=0.17, label=""):
    """A one-hot vector drawn as ``n`` cells (cell ``hot`` filled), centred at (x, y); returns
    its :class:`_Node` so arrows can attach."""
    x0 = x - n * cell / 2
    for i in range(n):
        ax.add_patch(Rectangle((x0 + i * cell, y - cell / 2), cell, cell, linewidth=1.1,
                               edgecolor=PALETTE["data"].edge,
                               facecolor=PALETTE["data"].edge if i == hot else PALETTE["data"].fill, zorder=2))
    if label:
        _text(ax, x, y + cell / 2 + 0.1, label, size=10.5, va="bottom")
    return _Node(x, y, n * cell, cell, cell, "rect")


# --------------------------------------------------------------------------- the diagrams


def _f_z_g(w=_KINDS["encoder"][1], *, encoder=(), code=(), decoder=()):
    """The specs (for :func:`_row`) of every autoencoder's middle: encoder f -> code z ->
    decoder g, networks ``w`` wide, each with optional overrides."""
    return [{"kind": "encoder", "label": "encoder", "math": "$f$", "w": w, **dict(encoder)},
            {"kind": "code", "math": Z, "above": "code", **dict(code)},
            {"kind": "decoder", "label": "decoder", "math": "$g$", "w": w, **dict(decoder)}]


def vanilla_autoencoder() -> Figure:
    """Return the diagram of a plain autoencoder: x -> encoder f -> code z (the bottleneck)
    -> decoder g -> x̂, trained on the reconstruction loss ‖x − x̂‖². Introduced in the README (Layout)."""
    fig, ax = _canvas(9.0, 4.5, "Autoencoder",
                      "The encoder compresses the input into a small code; the decoder rebuilds the input from it.")
    x, _, _, _, xhat = _row(ax, 2.45, [
        dict(kind="data", math=X, above="input, $d$ values"),
        *_f_z_g(code=dict(above="code, $k$ values", below="bottleneck: $k \\ll d$")),
        dict(kind="data", math=XHAT, above="reconstruction"),
    ], gap=0.5)
    _loss_below(ax, x, xhat, 0.62, "reconstruction loss", r"$\mathcal{L} = $" + SQERR)
    return fig


def denoising_autoencoder() -> Figure:
    """Return the diagram of a denoising autoencoder: x -> corruption C(x̃|x) -> x̃ ->
    encoder -> z -> decoder -> x̂, with the loss against the clean x.
    Introduced in the README (Layout)."""
    fig, ax = _canvas(9.6, 4.7, "Denoising autoencoder",
                      "It sees a corrupted input and must output the clean one, so copying the input no longer works.")
    x, _, _, _, _, _, xhat = _row(ax, 2.6, [
        dict(kind="data", math=X, above="clean input"),
        dict(kind="random", label="corrupt", math=r"$C(\tilde{\mathbf{x}}\,|\,\mathbf{x})$", w=1.55, h=1.05),
        dict(kind="data", math=XTILDE, above="corrupted"),
        *_f_z_g(1.3),
        dict(kind="data", math=XHAT, above="reconstruction"),
    ], gap=0.4)
    _loss_below(ax, x, xhat, 0.7, "loss against the CLEAN input", r"$\mathcal{L} = $" + SQERR,
                caption=r"the target is $\mathbf{x}$, not the corrupted $\tilde{\mathbf{x}}$", w=3.4)
    return fig


def decoder_as_generator() -> Figure:
    """Return the diagram of an autoencoder used as a generator: a sampled or chosen code z
    -> the decoder alone -> a new x̂; the encoder is greyed out. Introduced in the README (Layout)."""
    fig, ax = _canvas(9.0, 4.9, "The decoder as a generator",
                      "Decode a code that no input produced: the output is a new example. The encoder is not used.")
    _, _, z, _, _ = _row(ax, 2.85, [
        dict(kind="data", math=X, role="discarded", above="no input"),
        *_f_z_g(encoder=dict(role="discarded", below="not used")),
        dict(kind="data", math=XHAT, above="new example"),
    ], gap=0.5)
    source = _node(ax, "random", z.x, 0.8, "sample or choose a code $\\mathbf{z}$\n(random, interpolated, edited)",
                   w=3.4, h=1.0)
    _arrow(ax, source.top(), z.bottom())
    return fig


def encoder_new_head() -> Figure:
    """Return the transfer diagram: the pretrained encoder (frozen or fine-tuned) -> code ->
    a new softmax head -> class probabilities ŷ, trained with cross-entropy on the labels;
    the decoder is greyed out and crossed out. Introduced in the README (Layout)."""
    fig, ax = _canvas(9.2, 5.4, "Transfer: the encoder with a new head",
                      "After unsupervised pretraining, keep the encoder, drop the decoder and train a small "
                      "classifier on its codes.")
    _, _, z, _, yhat = _row(ax, 2.15, [
        dict(kind="data", math=X, above="input"),
        dict(kind="encoder", label="pretrained\nencoder", math="$f$", below="frozen, or fine-tuned"),
        dict(kind="code", math=Z, below="code"),
        dict(kind="box", label="new head\ndense + softmax", role="head", w=1.55, h=1.0),
        dict(kind="data", math=r"$\hat{\mathbf{y}}$", h=1.15, above="class probabilities"),
    ], gap=0.55, x0=0.85)
    y_dec = 3.75
    dec, xhat = _row(ax, y_dec, [
        dict(kind="decoder", label="decoder", math="$g$", role="discarded", w=1.3, h=(0.6, 1.1)),
        dict(kind="data", math=XHAT, role="discarded", w=0.45, h=1.1),
    ], gap=0.45, x0=z.x + 0.65)
    _arrow(ax, z.top(), (z.x, y_dec), dec.left(), style="discarded")
    _cross(ax, dec.x - dec.w / 2 - 0.05, y_dec - 0.6, xhat.x + xhat.w / 2 + 0.05, y_dec + 0.6)
    _text(ax, xhat.x + xhat.w / 2 + 0.2, y_dec, "discarded\nafter\npretraining", size=10, color=MUTED, ha="left")
    loss = _node(ax, "box", yhat.x - 0.75, 0.62, "cross-entropy with the labels",
                 r"$\mathcal{L} = -{\sum}_k\, y_k\, \log \hat{y}_k$", role="loss", w=3.0, h=0.8)
    _arrow(ax, yhat.bottom(), (yhat.x, loss.top()[1]), style="loss")
    labels = _node(ax, "box", loss.x - loss.w / 2 - 1.1, loss.y, "labels $\\mathbf{y}$\n(only a few)", w=1.4, h=0.8)
    _arrow(ax, labels.right(), loss.left(), style="loss")
    return fig


def anomaly_detection() -> Figure:
    """Return the anomaly-detection diagram: an autoencoder trained on normal data only; a
    new input's score s(x) = ‖x − x̂‖²/d compared with a threshold τ (chosen from the training
    normals' scores) gives normal / anomaly. Introduced in the README (Layout)."""
    fig, ax = _canvas(10.0, 6.7, "Anomaly detection with an autoencoder",
                      "The reconstruction error is the score: the model rebuilds what it was trained on well, anything else badly.")
    # 1: training, and the threshold from the training normals' scores
    _panel_heading(ax, 5.65, "1 · Train on normal data only")
    y1 = 4.6
    *_, scores = _row(ax, y1, [
        dict(kind="data", math=X, h=1.2, w=0.5, below="normal\nexamples"),
        dict(kind="ae", below=r"train: minimise $\|\mathbf{x}-\hat{\mathbf{x}}\|^2$"),
        dict(kind="box", label="scores $s(\\mathbf{x})$", math="of the training normals", w=2.3, h=0.85,
             math_size=10.5),
    ], gap=0.45, x0=0.4)
    # 2: scoring a new input
    _panel_heading(ax, 3.2, "2 · Score a new input")
    y2 = 2.05
    x2, _, xhat, score, decide = _row(ax, y2, [
        dict(kind="data", math=X, h=1.2, w=0.5, above="new"),
        dict(kind="ae", below="the trained model"),
        dict(kind="data", math=XHAT, h=1.2, w=0.5),
        dict(kind="box", label="anomaly score", math=r"$s(\mathbf{x}) = \frac{1}{d}\|\mathbf{x}-\hat{\mathbf{x}}\|^2$",
             role="loss", w=2.0, h=0.95),
        dict(kind="decision", math=r"$s(\mathbf{x}) > \tau$ ?", w=1.35, h=1.2, math_size=12.5),
    ], gap=0.32, x0=0.4, style=None)
    _arrow(ax, x2.right(), (x2.right()[0] + 0.32, y2))
    _arrow(ax, (xhat.left()[0] - 0.32, y2), xhat.left())
    _arrow(ax, xhat.right(), score.left(), style="loss")
    _arrow(ax, score.right(), decide.left())
    _arrow(ax, x2.bottom(), (x2.x, 0.5), (score.x, 0.5), score.bottom(), style="loss")
    tau = _node(ax, "box", decide.x, y1, "threshold $\\tau$", "mean + 1 std\nof those scores", w=1.7, h=0.95,
                math_size=10)
    _arrow(ax, scores.right(), tau.left())
    _arrow(ax, tau.bottom(), decide.top(), label="$\\tau$", label_side="right")
    fork = decide.right()[0] + 0.12
    for dy, word, answer in ((0.5, "anomaly", "yes"), (-0.5, "normal", "no")):
        out = _node(ax, "box", fork + 0.55 + 0.5, y2 + dy, word, w=1.0, h=0.55, size=11)
        _arrow(ax, decide.right(), (fork, y2), (fork, y2 + dy), out.left(), label=answer,
               label_side="above" if dy > 0 else "below")
    return fig


def _variational(conditional: bool) -> Figure:
    """The VAE diagram, or with ``conditional`` the CVAE's (the label c into the encoder and
    the decoder); shared by :func:`vae` and :func:`cvae`."""
    cond = r",\mathbf{c}" if conditional else ""
    posterior = rf"q_\phi(\mathbf{{z}}|\mathbf{{x}}{cond})"
    likelihood = rf"p_\theta(\mathbf{{x}}|\mathbf{{z}}{cond})"
    if conditional:
        fig, ax = _canvas(10.0, 6.4, "Conditional variational autoencoder (CVAE)",
                          r"The label $\mathbf{c}$ goes into the encoder and the decoder; the prior stays $\mathcal{N}(\mathbf{0}, I)$, "
                          r"so $\mathbf{z}$ carries the style, not the class.")
    else:
        fig, ax = _canvas(10.0, 5.3, "Variational autoencoder (VAE)",
                          "The encoder outputs a distribution over codes; a code is sampled from it and decoded. "
                          "Loss = reconstruction + KL.")
    y = 2.9 if not conditional else 3.25
    net_w = 1.6
    xs = _positions(ax, [BAR_W, net_w, 0.8, 1.95, BAR_W, net_w, BAR_W], 0.27)
    x = _node(ax, "data", xs[0], y, math=X, above="input")
    enc = _node(ax, "encoder", xs[1], y, "encoder", f"${posterior}$", w=net_w, math_size=12)
    mu = _node(ax, "code", xs[2], y + 0.48, math=MU, w=0.8, h=0.72, math_size=15)
    logvar = _node(ax, "code", xs[2], y - 0.48, math=LOGVAR, w=0.8, h=0.72, math_size=13)
    sample = _node(ax, "random", xs[3], y, "sample",
                   r"$\mathbf{z}\sim\mathcal{N}(\boldsymbol{\mu},\boldsymbol{\sigma}^2)$", w=1.95, h=1.05, math_size=12)
    z = _node(ax, "code", xs[4], y, math=Z, above="code")
    dec = _node(ax, "decoder", xs[5], y, "decoder", f"${likelihood}$",
                w=net_w, math_size=12)
    xhat = _node(ax, "data", xs[6], y, math=XHAT, above="output")
    _arrow(ax, x.right(), enc.left())
    for node, dy in ((mu, 0.2), (logvar, -0.2)):
        _arrow(ax, enc.right(dy), node.left())
        _arrow(ax, node.right(), sample.left(dy * 1.3))
    for a, b in ((sample, z), (z, dec), (dec, xhat)):
        _arrow(ax, a.right(), b.left())
    # the two loss terms: KL from (mu, log sigma^2), reconstruction from x and x-hat
    frame_bottom = logvar.bottom()[1] - 0.08
    ax.add_patch(FancyBboxPatch((mu.x - 0.52, frame_bottom), 1.04, mu.top()[1] + 0.08 - frame_bottom,
                                boxstyle="round,pad=0,rounding_size=0.1", facecolor="none", zorder=1,
                                edgecolor=PALETTE["code"].edge, linewidth=1.0, linestyle=(0, (3, 2))))
    y_loss = 1.05
    kl = _node(ax, "box", mu.x + 0.55, y_loss, "KL to the prior",
               rf"$D_{{\mathrm{{KL}}}}({posterior}\,\|\,{PRIOR})$", role="loss", w=3.3, h=0.8, math_size=12.5)
    _arrow(ax, (mu.x, frame_bottom), (mu.x, kl.top(mu.x - kl.x)[1]), style="loss")
    rec = _node(ax, "box", xhat.x + 0.3 - 1.15, y_loss, "reconstruction",
                f"$-\\log {likelihood}$",
                role="loss", w=2.3, h=0.8, math_size=12.5)
    _arrow(ax, xhat.bottom(), rec.top(xhat.x - rec.x), style="loss")
    _arrow(ax, x.bottom(), (x.x, 0.38), (rec.x - 0.5, 0.38), rec.bottom(-0.5), style="loss")
    _text(ax, (kl.right()[0] + rec.left()[0]) / 2, y_loss, "+", size=18, color=PALETTE["loss"].edge)
    if conditional:
        c = _one_hot(ax, (enc.x + dec.x) / 2, y + 1.75, label="label $\\mathbf{c}$ (one-hot)")
        for side, net in ((c.left(), enc), (c.right(), dec)):
            _arrow(ax, side, (net.x, side[1]), net.top())
    return fig


def vae() -> Figure:
    """Return the VAE diagram: x -> encoder q_φ(z|x) -> μ and log σ² -> sample
    z ~ N(μ, σ²) -> decoder p_θ(x|z) -> x̂; loss = reconstruction + KL(q(z|x) ‖ N(0, I)).
    Introduced in the README (Layout)."""
    return _variational(conditional=False)


def cvae() -> Figure:
    """Return the CVAE diagram: as :func:`vae`, with the one-hot label c fed to both the
    encoder q_φ(z|x, c) and the decoder p_θ(x|z, c); the prior stays N(0, I).
    Introduced in the README (Layout)."""
    return _variational(conditional=True)


def _reparam_panel(ax, y, reparameterized: bool):
    """One row of the reparameterization diagram at height ``y``: encoder -> (μ, σ) -> z ->
    decoder -> loss, the forward pass and the gradient arrows; z is a random node (no gradient
    past it), or with ``reparameterized`` a deterministic node fed by the side input ε."""
    enc = _node(ax, "encoder", 1.15, y, "encoder", r"$q_\phi$", w=1.1, h=(1.35, 0.85), math_size=13)
    mu = _node(ax, "code", 2.45, y + 0.45, math=MU, w=0.6, h=0.62, math_size=15)
    sigma = _node(ax, "code", 2.45, y - 0.45, math=SIGMA, w=0.6, h=0.62, math_size=15)
    if reparameterized:
        z = _node(ax, "box", 4.65, y, "deterministic",
                  r"$\mathbf{z} = \boldsymbol{\mu} + \boldsymbol{\sigma}\odot\boldsymbol{\epsilon}$", role="code",
                  w=2.3, h=0.9, math_size=13)
        eps = _node(ax, "random", z.x + 0.45, y - 1.5, math=rf"$\boldsymbol{{\epsilon}}\sim{PRIOR}$", w=1.95, h=0.72,
                    math_size=13)
        _arrow(ax, eps.top(), z.bottom(0.45), label="side input", label_side="right")
    else:
        z = _node(ax, "random", 4.65, y, "sample",
                  r"$\mathbf{z}\sim\mathcal{N}(\boldsymbol{\mu},\boldsymbol{\sigma}^2)$", w=2.3, h=1.0, math_size=13)
    dec = _node(ax, "decoder", 6.85, y, "decoder", r"$p_\theta$", w=1.1, h=(0.85, 1.35), math_size=13)
    loss = _node(ax, "box", 8.55, y, "loss", r"$\mathcal{L}$", role="loss", w=1.0, h=0.85, math_size=15)
    _arrow(ax, enc.right(0.2), mu.left())
    _arrow(ax, enc.right(-0.2), sigma.left())
    _arrow(ax, mu.right(), z.left(0.2))
    _arrow(ax, sigma.right(), z.left(-0.2))
    _arrow(ax, z.right(), dec.left())
    _arrow(ax, dec.right(), loss.left())
    # gradients, backwards over the top (and under, to sigma)
    _arrow(ax, loss.top(-0.2), dec.top(0.15), style="grad", bend=0.45)
    _arrow(ax, dec.top(-0.25), z.top(0.5), style="grad", bend=0.45)
    if reparameterized:
        _arrow(ax, z.top(-0.5), mu.top(), style="grad", bend=0.45,
               label=r"$\partial\mathcal{L}/\partial\boldsymbol{\mu}$", label_side="above")
        _arrow(ax, z.bottom(-0.7), sigma.bottom(), style="grad", bend=-0.45,
               label=r"$\partial\mathcal{L}/\partial\boldsymbol{\sigma}$", label_side="below")
        _arrow(ax, mu.top(-0.1), enc.top(0.1), style="grad", bend=0.5)
        _arrow(ax, sigma.bottom(-0.1), enc.bottom(0.1), style="grad", bend=-0.5)
    else:
        mx, my = _arrow(ax, z.top(-0.5), mu.top(), style="grad", bend=0.45, head=False)
        _text(ax, mx, my, "✗", size=22, color=PALETTE["loss"].edge, weight="bold")
        _text(ax, mx + 0.3, my + 0.05, "no gradient through a random draw", size=10, color=PALETTE["loss"].edge,
              ha="left", va="bottom")


def reparameterization_trick() -> Figure:
    """Return the reparameterization-trick diagram: sampling z ~ N(μ, σ²) directly blocks the
    gradient, while z = μ + σ ⊙ ε with ε ~ N(0, I) as a side input is a deterministic node the
    gradient flows through to μ, σ and the encoder. Introduced in the README (Layout)."""
    fig, ax = _canvas(9.4, 7.4, "The reparameterization trick",
                      "Move the randomness into a side input, and the code becomes a differentiable function "
                      "of the encoder's outputs.")
    _panel_heading(ax, 6.35, r"(a) Sampling $\mathbf{z}$ directly")
    _reparam_panel(ax, 5.0, reparameterized=False)
    _panel_heading(ax, 3.8, r"(b) Reparameterized: $\mathbf{z} = \boldsymbol{\mu} + \boldsymbol{\sigma}\odot\boldsymbol{\epsilon}$")
    _reparam_panel(ax, 2.45, reparameterized=True)
    _legend(ax, 0.3, [("box", "code", "deterministic node"), ("random", "random", "random node"),
                      ("arrow", "flow", "forward pass"), ("arrow", "grad", "gradient of the loss")])
    return fig


def layerwise_pretraining() -> Figure:
    """Return the greedy layer-wise pretraining diagram for 784 -> 256 -> 64 -> 16: stage 1 an
    autoencoder on the pixels, stage 2 on the stage-1 codes, stage 3 on the stage-2 codes (the
    earlier layers frozen), then the stack fine-tuned end to end with a new head.
    Introduced in the README (Layout)."""
    fig, ax = _canvas(10.0, 7.7, "Greedy layer-wise pretraining",
                      "One small autoencoder per layer, each trained on the codes of the layer before; then the "
                      "stack is fine-tuned end to end.")
    sizes = [784, 256, 64, 16]
    names = [(r"\mathbf{x}", ""), (r"\mathbf{h}", "_1"), (r"\mathbf{h}", "_2"), (r"\mathbf{z}", "")]   # (symbol, index)
    cols = [2.45, 3.95, 5.45, 6.95, 8.45]
    bar_h = {784: 0.9, 256: 0.62, 64: 0.42, 16: 0.26, 10: 0.3}
    loss_colour = PALETTE["loss"].edge

    def bar(col, y, size, name, role):
        node = _node(ax, "data", cols[col], y, role=role, w=0.34, h=bar_h[size], below=str(size))
        _text(ax, node.x, node.top()[1] + 0.07, f"${name}$", size=12.5, va="bottom")
        return node

    def layer(col, y, a, b, kind, math, role=None, below="", label=""):
        x0, x1 = cols[col] + 0.17 + 0.05, cols[col + 1] - 0.17 - 0.05
        return _node(ax, kind, (x0 + x1) / 2, y, label, math, role=role, w=x1 - x0, h=(bar_h[a], bar_h[b]),
                     math_size=12, below=below, size=9.5)

    rows = [("Stage 1", "AE on the pixels"), ("Stage 2", "AE on stage-1 codes"), ("Stage 3", "AE on stage-2 codes"),
            ("Fine-tune", "the stack, initialised\nfrom stages 1–3,\nall layers trained")]
    for k, (heading, what) in enumerate(rows, start=1):
        y = 7.35 - 1.52 * k
        _text(ax, 0.3, y + 0.12, heading, size=11.5, weight="bold", ha="left", va="bottom")
        _text(ax, 0.3, y + 0.04, what, size=10, color=MUTED, ha="left", va="top")
        depth = min(k, 3)
        for i in range(depth + 1):
            bar(i, y, sizes[i], "".join(names[i]), "data" if i == 0 else "code")
        for i in range(depth):
            frozen = k <= 3 and i < k - 1
            layer(i, y, sizes[i], sizes[i + 1], "encoder", f"$f_{i + 1}$", role="frozen" if frozen else None,
                  below="frozen" if frozen else "")
        if k <= 3:   # this stage's decoder and its reconstruction target
            layer(k, y, sizes[k], sizes[k - 1], "decoder", f"$g_{k}$")
            symbol, index = names[k - 1]
            target, recon_name = symbol + index, rf"\hat{{{symbol}}}{index}"
            recon = bar(k + 1, y, sizes[k - 1], recon_name, "data")
            _text(ax, recon.x + 0.32, y, rf"$\|{target}-{recon_name}\|^2$", size=12, color=loss_colour, ha="left")
        else:        # fine-tuning: a new head on the code, trained on the labels with every layer
            layer(3, y, 16, 10, "encoder", "", role="head", label="head")
            out = bar(4, y, 10, r"\hat{\mathbf{y}}", "data")
            _text(ax, out.x + 0.32, y, "cross-entropy\non the labels", size=10, color=loss_colour, ha="left")
    _legend(ax, 0.35, [("box", "encoder", "trained in this stage"), ("box", "frozen", "frozen (an earlier stage)"),
                       ("box", "decoder", "decoder, dropped after its stage"), ("box", "head", "new head")])
    return fig


#: File name in ``images/`` -> the function that draws it, in course order.
DIAGRAMS = {
    "vanilla_autoencoder.png": vanilla_autoencoder,
    "denoising_autoencoder.png": denoising_autoencoder,
    "decoder_as_generator.png": decoder_as_generator,
    "encoder_new_head.png": encoder_new_head,
    "anomaly_detection.png": anomaly_detection,
    "vae.png": vae,
    "reparameterization_trick.png": reparameterization_trick,
    "cvae.png": cvae,
    "layerwise_pretraining.png": layerwise_pretraining,
}


def default_out_dir() -> Path:
    """Return the course checkout's ``images/`` folder (the checkout found as
    :func:`aehelpers.course.nbfiles.repo_root` finds it). Introduced in the README (Layout)."""
    return nbfiles.repo_root() / "images"


def write_all(out_dir=None, names=None, *, dpi: int = DPI) -> list[Path]:
    """Draw the diagrams ``names`` (file names from :data:`DIAGRAMS`, with or without
    ``.png``; default all) as PNGs into ``out_dir`` (default: the checkout's ``images/``;
    created if missing) and return the paths written. Raises ValueError for an unknown name
    or an ``out_dir`` that is an existing file. Introduced in the README (Layout)."""
    out = default_out_dir() if out_dir is None else Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"the output folder {out} is an existing file; pass a folder (it is created if missing)")
    if names is None:
        names = list(DIAGRAMS)
    elif isinstance(names, str):
        names = [names]
    wanted = [n if n.endswith(".png") else f"{n}.png" for n in names]
    unknown = [n for n in wanted if n not in DIAGRAMS]
    if unknown:
        raise ValueError(f"unknown diagram(s) {', '.join(unknown)}; known: {', '.join(DIAGRAMS)}")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in dict.fromkeys(wanted):
        path = out / name
        DIAGRAMS[name]().savefig(path, dpi=dpi, facecolor="white", metadata={"Software": None})   # no version churn
        paths.append(path)
    return paths
