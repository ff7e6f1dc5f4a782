"""Figures the notebooks repeat: image grids, latent scatter plots, training curves.
Introduced in notebook 01. Every function returns the matplotlib Figure it drew."""

import numpy as np

from aehelpers._validation import as_array, check_positive_int

def _as_images(x, name: str, image_shape=None) -> np.ndarray:
    """Return a batch as (N, H, W) for imshow; accepts (N, H, W), (N, H, W, 1) or (N, H*W)."""
    arr = as_array(x, name, min_ndim=2, dtype=np.float32)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        side = int(round(np.sqrt(arr.shape[1])))
        shape = tuple(image_shape) if image_shape is not None else (side, side)
        if int(np.prod(shape)) != arr.shape[1]:
            raise ValueError(f"{name} has shape {arr.shape}: flat vectors of length {arr.shape[1]} are not square "
                             "images; pass image_shape=(H, W)")
        arr = arr.reshape((len(arr), *shape))
    if arr.ndim != 3:
        raise ValueError(f"{name} must be a batch of grayscale images (N, H, W), (N, H, W, 1) or (N, H*W); got shape {arr.shape}")
    return arr

def show_image_rows(rows: dict, n: int = 10, *, title: str, image_shape=None, col_titles=None, cmap: str = "gray"):
    """Draw one row of ``n`` images per entry of ``rows`` (``{"original": x, "PCA k=32": x_pca}``), the
    label on the left, optional ``col_titles`` above, all on one [0, 1] grey scale (one axes per row:
    fast). Returns the Figure. Introduced in notebook 01."""
    import matplotlib.pyplot as plt

    if not isinstance(rows, dict) or not rows:
        raise ValueError("rows must be a non-empty dict {row label: batch of images}")
    n = check_positive_int(n, "n")
    batches = {label: _as_images(x, f"rows[{label!r}]", image_shape) for label, x in rows.items()}
    short = min(len(b) for b in batches.values())
    if short < n:
        raise ValueError(f"every row needs at least n={n} images; the shortest has {short}")
    if col_titles is not None and len(col_titles) < n:
        raise ValueError(f"col_titles needs at least n={n} entries; got {len(col_titles)}")
    colours = plt.get_cmap(cmap).with_extremes(bad="white")   # the gaps between images are NaN
    gap = 2
    fig, axes = plt.subplots(len(batches), 1, figsize=(1.1 * n, 1.25 * len(batches) + 0.5), squeeze=False)
    for r, (label, batch) in enumerate(batches.items()):
        height, width = batch.shape[1:]
        strip = np.full((height, n * (width + gap) - gap), np.nan, dtype=np.float32)
        for c in range(n):
            strip[:, c * (width + gap):c * (width + gap) + width] = batch[c]
        ax = axes[r, 0]
        ax.imshow(strip, cmap=colours, vmin=0.0, vmax=1.0)
        ax.set(xticks=[], yticks=[], frame_on=False)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        if r == 0 and col_titles is not None:
            for c in range(n):
                ax.text(c * (width + gap) + width / 2, -1.5, str(col_titles[c]), ha="center", va="bottom", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig

def show_images(images, *, title: str, titles=None, ncols: int = 8, image_shape=None, cmap: str = "gray", symmetric: bool = False):
    """Draw a grid of images (e.g. PCA components), each on its own colour scale (``symmetric=True``:
    a diverging map centred on 0 for signed weights). Returns the Figure. Introduced in notebook 01."""
    import matplotlib.pyplot as plt

    batch = _as_images(images, "images", image_shape)
    ncols = min(check_positive_int(ncols, "ncols"), len(batch))
    if titles is not None and len(titles) != len(batch):
        raise ValueError(f"titles has {len(titles)} entries for {len(batch)} images")
    nrows = -(-len(batch) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.4 * nrows + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, image) in enumerate(zip(axes.flat, batch)):
        lim = (float(np.abs(image).max()) or 1.0) if symmetric else None    # symmetric: a diverging map around 0
        ax.imshow(image, cmap=("RdBu_r" if cmap == "gray" else cmap) if symmetric else cmap, vmin=lim and -lim, vmax=lim)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig

def plot_latent_scatter(codes, labels, class_names, *, title: str, ax=None, xlabel: str = "code dimension 1",
                        ylabel: str = "code dimension 2", max_points: int = 5000, seed: int = 0, per_class: bool = False):
    """Scatter 2-D ``codes`` (N, 2) coloured by integer ``labels`` indexing ``class_names`` (a legend; at
    most ``max_points``, a fixed subset); ``per_class=True``: one panel per class, its codes in colour over
    all in grey. Returns the Figure (on ``ax`` if given). Introduced in notebook 01."""
    import matplotlib.pyplot as plt

    codes = as_array(codes, "codes", min_ndim=2)
    labels = np.asarray(labels)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"codes must have shape (N, 2); got {codes.shape}. Project them to 2-D first (e.g. PCA).")
    if labels.shape != (len(codes),):
        raise ValueError(f"labels must have shape ({len(codes)},) to match codes; got {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f"labels must be class ids in [0, {len(class_names) - 1}] to index class_names")
    if len(codes) > max_points:
        keep = np.random.default_rng(seed).choice(len(codes), max_points, replace=False)
        codes, labels = codes[keep], labels[keep]
    cmap = plt.get_cmap("tab10" if len(class_names) <= 10 else "tab20")
    if per_class:
        fig, axes = plt.subplots(2, -(-len(class_names) // 2), figsize=(13, 5.4), sharex=True, sharey=True)
        for k, (name, panel) in enumerate(zip(class_names, axes.flat)):
            panel.scatter(codes[:, 0], codes[:, 1], s=1, color="lightgray", label="all classes")
            panel.scatter(codes[labels == k, 0], codes[labels == k, 1], s=1, color=cmap(k % cmap.N), label=str(name))
            panel.set(title=str(name), xlabel=xlabel if panel in axes[1] else "", ylabel=ylabel if panel in axes[:, 0] else "")
            panel.legend(fontsize=7, loc="upper right", markerscale=5)
        fig.suptitle(title)
        fig.tight_layout()
        return fig
    fig, ax = plt.subplots(figsize=(6.5, 5)) if ax is None else (ax.figure, ax)
    for k, name in enumerate(class_names):
        sel = labels == k
        ax.scatter(codes[sel, 0], codes[sel, 1], s=4, alpha=0.6, color=cmap(k % cmap.N), label=str(name))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(markerscale=3, fontsize=7, loc="best", framealpha=0.8)
    return fig

def plot_history(histories, *, title: str, ax=None, log: bool = True):
    """Plot training (solid) and validation (dashed) curves of a ``History``, its ``.history`` dict, or
    ``{run label: History or dict}``. Returns the Figure. Introduced in notebook 04."""
    import matplotlib.pyplot as plt

    metric = "loss"
    single = hasattr(histories, "history") or (isinstance(histories, dict) and metric in histories)
    runs = {str(k): getattr(h, "history", h) for k, h in ({"": histories} if single else histories).items()} \
        if single or isinstance(histories, dict) else {}
    if not runs or any(not isinstance(h, dict) or metric not in h for h in runs.values()):
        raise ValueError("histories must be a Keras History (or its .history dict, with a 'loss' entry), or a "
                         "non-empty {label: History} dict")
    fig, ax = plt.subplots(figsize=(6, 3.5)) if ax is None else (ax.figure, ax)
    from matplotlib.ticker import MaxNLocator

    colors = plt.get_cmap("tab10")
    for i, (label, h) in enumerate(runs.items()):
        epochs = np.arange(1, len(h[metric]) + 1)
        prefix = f"{label} " if label else ""
        marker = "o" if len(epochs) <= 10 else None  # short runs: show each epoch's point
        ax.plot(epochs, h[metric], color=colors(i % 10), marker=marker, label=f"{prefix}train")
        if f"val_{metric}" in h:
            ax.plot(epochs, h[f"val_{metric}"], color=colors(i % 10), ls="--", marker=marker, label=f"{prefix}validation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel=metric + (" (log scale)" if log else ""), title=title)
    ax.legend(fontsize=7, ncol=2 if len(runs) > 3 else 1)
    return fig
