"""Measuring what a decoder does off the training codes (notebook 05, repeated on a VAE in 07): decode
codes with a ``decoder`` and ask an independent ``classifier`` (softmax) which class it sees and how
confident it is. Noise is in units of the codes' own per-dimension spread, so an AE and a VAE compare.
"""

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

def train_judge(x_train, y_train, x_test, y_test, *, epochs: int = 4, batch_size: int = 512,
                learning_rate: float = 4e-3, label: str = "judge"):
    """Train the course's independent judge of decoded images, a small CNN (16 and 32 stride-2 filters, 64
    units, softmax) on grey ``(N, H, W)`` images in [0, 1] with Adam and cosine decay, print its test
    accuracy and return ``(judge, test_accuracy)``. Introduced in notebook 05."""
    import keras
    from keras import layers

    from aehelpers.models import run
    from aehelpers.training import fit

    x_train, x_test = (as_array(x, name, min_ndim=3, dtype=np.float32) for x, name in ((x_train, "x_train"), (x_test, "x_test")))
    if x_train.ndim != 3 or x_test.shape[1:] != x_train.shape[1:]:
        raise ValueError(f"x_train and x_test must be grey images (N, height, width) of one size; got {x_train.shape} "
                         f"and {x_test.shape}")
    check_range(x_train, "x_train", 0.0, 1.0)
    y_train, y_test = _labels(y_train, len(x_train)), _labels(y_test, len(x_test))
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    steps = check_positive_int(epochs, "epochs") * -(-len(x_train) // check_positive_int(batch_size, "batch_size"))
    image = keras.Input(x_train.shape[1:], name="image")
    h = layers.Reshape((*x_train.shape[1:], 1))(image)
    h = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Dense(64, activation="relu")(layers.Flatten()(h))
    judge = keras.Model(image, layers.Dense(n_classes, activation="softmax", name="probs")(h), name="judge")
    rate = keras.optimizers.schedules.CosineDecay(check_number(learning_rate, "learning_rate", strict=True, high=1.0), steps)
    judge.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy", steps_per_execution=20)
    fit(judge, x_train, y_train, epochs=epochs, batch_size=batch_size, label=label, plot=False, max_lines=2)
    accuracy = float(np.mean(run(judge, x_test).argmax(axis=1) == y_test))
    print(f"{label}: test accuracy {accuracy:.4f}")
    return judge, accuracy

def nearest_mean_accuracy(train_codes, train_labels, test_codes, test_labels) -> float:
    """Return the fraction of ``test_codes`` whose nearest (Euclidean) class mean of ``train_codes`` is
    their own class: high for codes clustered by class, ~1/n_classes for codes without class.
    Introduced in notebook 05."""
    train_codes, test_codes = _codes(train_codes, "train_codes"), _codes(test_codes, "test_codes")
    if train_codes.shape[1] != test_codes.shape[1]:
        raise ValueError(f"train_codes and test_codes must have the same code size; got {train_codes.shape[1]} and "
                         f"{test_codes.shape[1]}")
    train_labels, test_labels = _labels(train_labels, len(train_codes)), _labels(test_labels, len(test_codes))
    classes = np.unique(train_labels)
    if missing := set(np.unique(test_labels)) - set(classes):
        raise ValueError(f"test_labels has classes {sorted(map(int, missing))} that train_labels lacks: no class mean to compare with")
    means = np.stack([train_codes[train_labels == k].mean(axis=0) for k in classes])
    nearest = classes[np.argmin(((test_codes[:, None, :] - means[None]) ** 2).sum(axis=-1), axis=1)]
    return float(np.mean(nearest == test_labels))

def classify_decoded(decoder, classifier, codes, batch_size: int = 4096) -> np.ndarray:
    """Return the classifier's probabilities ``(N, n_classes)`` for the decoded ``codes``. Introduced in notebook 05."""
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
    """Return the per-dimension standard deviation of ``codes``, the unit of noise. Introduced in notebook 05."""
    return _codes(codes).std(axis=0)

def perturbation_curve(decoder, classifier, codes, labels, sigmas, *, spread=None, rng=None) -> dict:
    """Add noise ``sigma * spread * eps`` to each code, decode, classify; return
    ``{"sigma", "agreement", "unchanged", "confidence"}`` over ``sigmas``: the fraction classified as
    ``labels``, as the unperturbed decode, and the mean confidence. Introduced in notebook 05."""
    codes = _codes(codes)
    labels = _labels(labels, len(codes))
    spread = code_spread(codes) if spread is None else as_array(spread, "spread", dtype=np.float32)
    if spread.shape != (codes.shape[1],):
        raise ValueError(f"spread must have one value per code dimension, shape ({codes.shape[1]},); got {spread.shape}")
    rng = np.random.default_rng(rng)
    sigmas = np.array([check_number(s, "each sigma") for s in np.atleast_1d(sigmas)], dtype=np.float64)
    agreement, unchanged, confidence = [], [], []
    unperturbed = classify_decoded(decoder, classifier, codes).argmax(axis=1)
    for sigma in sigmas:
        noisy = codes + (sigma * spread * rng.standard_normal(codes.shape)).astype(np.float32)
        probs = classify_decoded(decoder, classifier, noisy)
        agreement.append(np.mean(probs.argmax(axis=1) == labels))
        unchanged.append(np.mean(probs.argmax(axis=1) == unperturbed))
        confidence.append(np.mean(probs.max(axis=1)))
    return {"sigma": sigmas, "agreement": np.array(agreement), "unchanged": np.array(unchanged),
            "confidence": np.array(confidence)}

def interpolation_curve(decoder, classifier, codes_a, codes_b, steps: int = 11) -> dict:
    """Decode and classify ``steps`` (odd) points on the line from each ``codes_a[i]`` to ``codes_b[i]``;
    return ``{"alpha", "confidence", "ends", "midpoint"}``: the mean confidence per step, at the ends and
    at the middle. Introduced in notebook 05."""
    a, b = _codes(codes_a, "codes_a"), _codes(codes_b, "codes_b")
    if a.shape != b.shape:
        raise ValueError(f"codes_a and codes_b must have the same shape (pairs); got {a.shape} and {b.shape}")
    if (steps := check_positive_int(steps, "steps")) < 3 or steps % 2 == 0:
        raise ValueError(f"steps must be odd and at least 3 (two ends and a middle step); got {steps}")
    alphas = np.linspace(0.0, 1.0, steps)
    confidence = np.array([classify_decoded(decoder, classifier, (1 - t) * a + t * b).max(axis=1).mean() for t in alphas])
    return {"alpha": alphas, "confidence": confidence, "ends": float(confidence[[0, -1]].mean()),
            "midpoint": float(confidence[steps // 2])}

def uniform_codes(codes, n: int, rng=None) -> np.ndarray:
    """Return ``n`` codes drawn uniformly from the bounding box of ``codes``. Introduced in notebook 05."""
    codes = _codes(codes)
    n = check_positive_int(n, "n")
    rng = np.random.default_rng(rng)
    return rng.uniform(codes.min(axis=0), codes.max(axis=0), size=(n, codes.shape[1])).astype(np.float32)

def confident_fraction(probs, threshold: float = 0.9) -> float:
    """Return the fraction of rows of ``probs`` whose largest probability is >= ``threshold``. Introduced in notebook 05."""
    probs = as_array(probs, "probs", min_ndim=2)
    if probs.ndim != 2:
        raise ValueError(f"probs must be class probabilities of shape (N, n_classes); got {probs.shape}")
    threshold = check_number(threshold, "threshold", high=1.0)
    return float(np.mean(probs.max(axis=1) >= threshold))
