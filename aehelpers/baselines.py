"""Non-neural baselines: the PCA projection that notebook 01 teaches in its own cells, reused by later
notebooks (02 PCA denoising, 04 PCA reconstruction error as an anomaly score)."""

import numpy as np

from ._validation import as_array, check_positive_int

def pca_reconstruct(pca, x, k: int | None = None, *, clip: tuple[float, float] | None = None) -> np.ndarray:
    """Return ``(x - mean) W_k^T W_k + mean`` for a fitted scikit-learn ``PCA`` (top ``k`` components,
    default all: fit once, sweep ``k``), float32, shaped like ``x``; ``clip=(0, 1)`` clips pixels.
    Introduced in notebook 02."""
    components = getattr(pca, "components_", None)
    if components is None:
        raise ValueError("pca must be a fitted sklearn.decomposition.PCA; call pca.fit(x_train) first")
    arr = as_array(x, "x", dtype=np.float64)
    flat = arr.reshape(len(arr), -1)
    if flat.shape[1] != components.shape[1]:
        raise ValueError(f"x has {flat.shape[1]} features per example (shape {arr.shape}); the PCA was "
                         f"fitted on {components.shape[1]}. Pass data shaped like the training data.")
    k = len(components) if k is None else check_positive_int(k, "k")
    if k > len(components):
        raise ValueError(f"k={k} exceeds the {len(components)} fitted components; fit the PCA with "
                         f"n_components >= {k}")
    basis = components[:k]
    out = (flat - pca.mean_) @ basis.T @ basis + pca.mean_
    if clip is not None:
        low, high = clip
        out = np.clip(out, low, high)
    return out.reshape(arr.shape).astype(np.float32)
