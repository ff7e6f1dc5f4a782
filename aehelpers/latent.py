"""Measuring what a decoder does off the training codes (notebook 05; notebook 06 repeats the
same measurements on a VAE).

Every measurement decodes codes with a ``decoder`` (a Keras model: codes -> images) and asks
an independent ``classifier`` (a Keras model: images -> class probabilities) two things: which
class it sees, and how confident it is (the largest probability). Noise levels are in units of
the codes' own spread (per-dimension standard deviation), so an AE and a VAE compare fairly.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, check_number, check_positive_int, check_range


def _codes(codes, name: str = "codes") -> np.ndarray:
    arr = as_array(codes, name, min_ndim=2, dtype=np.float32)
    if arr.ndim != 2 or len(arr) == 0:
        raise ValueError(f"{name} must be a non-empty batch of code vectors, shape (N, code_size); got {arr.shape}")
    return arr


def _labels(labels, n: int) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"labels must be {n} integer class indices, shape ({n},); got shape {arr.shape}, dtype {arr.dtype}")
    return arr


def build_classifier(input_shape=(28, 28), n_classes: int = 10, *, learning_rate: float = 4e-3,
                     decay_steps: int | None = None, steps_per_execution: int = 20):
    """Return a small compiled CNN classifier (two stride-2 convolutions, 16 and 32 filters, a
    64-unit layer, softmax over ``n_classes``) for ``input_shape`` grey images in [0, 1]: the
    independent judge of decoded images. Notebook 05 trains it 6 epochs with batch 512 (about
    0.89 test accuracy on Fashion-MNIST); notebooks 06 and 07 reuse it. Adam runs at a constant
    ``learning_rate`` or, with ``decay_steps``, one decaying to 0 along a cosine over that many
    steps (notebook 07: 3 epochs of batches of 256, about 0.986 on MNIST). ``steps_per_execution``
    batches run per call into the backend, which saves time on a CPU without changing the
    result. Introduced in notebook 05."""
    import keras
    from keras import layers

    from aehelpers.models import _shape

    shape = _shape(input_shape)
    if len(shape) != 2:
        raise ValueError(f"input_shape must be (height, width) of grey images, e.g. (28, 28); got {input_shape!r}")
    n_classes = check_positive_int(n_classes, "n_classes")
    image = keras.Input(shape, name="image")
    h = layers.Reshape((*shape, 1))(image)
    h = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Dense(64, activation="relu")(layers.Flatten()(h))
    model = keras.Model(image, layers.Dense(n_classes, activation="softmax", name="probs")(h), name="judge")
    rate = check_number(learning_rate, "learning_rate", strict=True, high=1.0)
    if decay_steps is not None:
        rate = keras.optimizers.schedules.CosineDecay(rate, check_positive_int(decay_steps, "decay_steps"))
    model.compile(optimizer=keras.optimizers.Adam(rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=check_positive_int(steps_per_execution, "steps_per_execution"))
    return model


def nearest_mean_accuracy(train_codes, train_labels, test_codes, test_labels) -> float:
    """Return the fraction of ``test_codes`` whose nearest class mean (Euclidean; means of
    ``train_codes`` per class of ``train_labels``) is their own class: high when the codes are
    clustered by class, about 1 / n_classes when they carry no class. Labels are integer class
    ids; every test class must occur in the training labels. Introduced in notebook 05
    (computed in its own cell there; notebook 07 uses this helper)."""
    train_codes, test_codes = _codes(train_codes, "train_codes"), _codes(test_codes, "test_codes")
    if train_codes.shape[1] != test_codes.shape[1]:
        raise ValueError(f"train_codes and test_codes must have the same code size; got {train_codes.shape[1]} and "
                         f"{test_codes.shape[1]}")
    train_labels, test_labels = _labels(train_labels, len(train_codes)), _labels(test_labels, len(test_codes))
    classes = np.unique(train_labels)
    missing = np.setdiff1d(np.unique(test_labels), classes)
    if missing.size:
        raise ValueError(f"test_labels has classes {missing.tolist()} that train_labels lacks: no class mean to compare with")
    means = np.stack([train_codes[train_labels == k].mean(axis=0) for k in classes])
    nearest = classes[np.argmin(((test_codes[:, None, :] - means[None]) ** 2).sum(axis=-1), axis=1)]
    return float(np.mean(nearest == test_labels))


def classify_decoded(decoder, classifier, codes, batch_size: int = 4096) -> np.ndarray:
    """Return the classifier's class probabilities ``(N, n_classes)`` for the decoded ``codes``
    ``(N, code_size)``. Introduced in notebook 05."""
    from aehelpers.models import run

    codes = _codes(codes)
    images = run(decoder, codes, batch_size)
    check_range(images, "decoded images", 0.0, 1.0)   # e.g. a decoder that outputs logits
    probs = run(classifier, images, batch_size)
    sums = probs.sum(axis=1) if probs.ndim == 2 else None
    if sums is None or probs.min() < 0 or not np.allclose(sums, 1.0, atol=1e-3):
        detail = f"shape {probs.shape}" if sums is None else f"rows summing to {sums.min():.3g} .. {sums.max():.3g}"
        raise ValueError(f"classifier must output class probabilities (a softmax), shape (N, n_classes); got {detail}")
    return probs


def code_spread(codes) -> np.ndarray:
    """Return the per-dimension standard deviation of ``codes`` ``(N, code_size)``: the unit in
    which noise levels are measured. Introduced in notebook 05."""
    return _codes(codes).std(axis=0)


def perturbation_curve(decoder, classifier, codes, labels, sigmas, *, spread=None, draws: int = 1, rng=None) -> dict:
    """Add Gaussian noise ``sigma * spread * eps`` to each code, decode and classify.

    Returns ``{"sigma", "agreement", "unchanged", "confidence"}`` (arrays over ``sigmas``): the
    fraction of decodes classified as ``labels`` (the original images' classes), the fraction
    classified as the unperturbed decode is (so it starts at 1 whatever the reconstruction
    quality), and the mean classifier confidence. ``spread`` defaults to :func:`code_spread` of
    ``codes``; ``draws`` noise draws per code. Introduced in notebook 05.
    """
    codes = _codes(codes)
    labels = _labels(labels, len(codes))
    spread = code_spread(codes) if spread is None else as_array(spread, "spread", dtype=np.float32)
    if spread.shape != (codes.shape[1],):
        raise ValueError(f"spread must have one value per code dimension, shape ({codes.shape[1]},); got {spread.shape}")
    draws = check_positive_int(draws, "draws")
    rng = np.random.default_rng(rng)
    sigmas = np.array([check_number(s, "each sigma") for s in np.atleast_1d(sigmas)], dtype=np.float64)
    agreement, unchanged, confidence = [], [], []
    repeated, targets = np.repeat(codes, draws, axis=0), np.repeat(labels, draws)
    unperturbed = classify_decoded(decoder, classifier, repeated).argmax(axis=1)
    for sigma in sigmas:
        noisy = repeated + (sigma * spread * rng.standard_normal(repeated.shape)).astype(np.float32)
        probs = classify_decoded(decoder, classifier, noisy)
        agreement.append(np.mean(probs.argmax(axis=1) == targets))
        unchanged.append(np.mean(probs.argmax(axis=1) == unperturbed))
        confidence.append(np.mean(probs.max(axis=1)))
    return {"sigma": sigmas, "agreement": np.array(agreement), "unchanged": np.array(unchanged),
            "confidence": np.array(confidence)}


def interpolate(code_a, code_b, steps: int = 11) -> np.ndarray:
    """Return ``steps`` codes on the straight line from ``code_a`` to ``code_b`` (both
    ``(code_size,)``), shape ``(steps, code_size)``; the first is ``code_a``, the last ``code_b``.
    Introduced in notebook 05."""
    a, b = _codes(np.atleast_2d(code_a), "code_a"), _codes(np.atleast_2d(code_b), "code_b")
    if a.shape != b.shape or len(a) != 1:
        raise ValueError(f"code_a and code_b must be single codes of the same size; got {a.shape} and {b.shape}")
    steps = check_positive_int(steps, "steps")
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (the two end points); got {steps}")
    alphas = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    return (1 - alphas) * a + alphas * b


def interpolation_curve(decoder, classifier, codes_a, codes_b, steps: int = 11) -> dict:
    """Decode and classify ``steps`` points on the line between each pair of codes
    ``codes_a[i]``, ``codes_b[i]``. Returns ``{"alpha", "confidence", "ends", "midpoint"}``: the
    mixing weight of ``codes_b`` and the mean classifier confidence at each step over all pairs,
    the mean confidence at the two ends, and at the middle step (``steps`` must be odd, so there
    is one). Introduced in notebook 05."""
    a, b = _codes(codes_a, "codes_a"), _codes(codes_b, "codes_b")
    if a.shape != b.shape:
        raise ValueError(f"codes_a and codes_b must have the same shape (pairs); got {a.shape} and {b.shape}")
    steps = check_positive_int(steps, "steps")
    if steps < 3 or steps % 2 == 0:
        raise ValueError(f"steps must be odd and at least 3 (two ends and a middle step); got {steps}")
    alphas = np.linspace(0.0, 1.0, steps)
    confidence = np.array([classify_decoded(decoder, classifier, (1 - t) * a + t * b).max(axis=1).mean() for t in alphas])
    return {"alpha": alphas, "confidence": confidence, "ends": float(confidence[[0, -1]].mean()),
            "midpoint": float(confidence[steps // 2])}


def uniform_codes(codes, n: int, rng=None) -> np.ndarray:
    """Return ``n`` codes drawn uniformly from the bounding box of ``codes`` (each dimension
    between its minimum and maximum), float32 ``(n, code_size)``. Introduced in notebook 05."""
    codes = _codes(codes)
    n = check_positive_int(n, "n")
    rng = np.random.default_rng(rng)
    return rng.uniform(codes.min(axis=0), codes.max(axis=0), size=(n, codes.shape[1])).astype(np.float32)


def confident_fraction(probs, threshold: float = 0.9) -> float:
    """Return the fraction of rows of ``probs`` ``(N, n_classes)`` whose largest probability is at
    least ``threshold``. Introduced in notebook 05."""
    probs = as_array(probs, "probs", min_ndim=2)
    if probs.ndim != 2:
        raise ValueError(f"probs must be class probabilities of shape (N, n_classes); got {probs.shape}")
    threshold = check_number(threshold, "threshold", high=1.0)
    return float(np.mean(probs.max(axis=1) >= threshold))


def concept_vector(codes, has_concept) -> np.ndarray:
    """Return the mean code of the examples with the concept minus the mean code of those
    without (a long/short "portfolio" of latents), shape ``(code_size,)``. ``has_concept`` is a
    boolean mask over ``codes`` with both values present. Introduced in notebook 05."""
    codes = _codes(codes)
    mask = np.asarray(has_concept)
    if mask.shape != (len(codes),) or mask.dtype != bool:
        raise ValueError(f"has_concept must be a boolean mask of shape ({len(codes)},); got shape {mask.shape}, dtype {mask.dtype}")
    if mask.all() or not mask.any():
        raise ValueError("has_concept must mark some examples True and some False (with and without the concept)")
    return codes[mask].mean(axis=0) - codes[~mask].mean(axis=0)
