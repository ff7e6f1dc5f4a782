import keras
import numpy as np
import pytest
from keras import layers

from aehelpers import latent


@pytest.fixture(scope="module")
def toy():
    """A decoder that squashes 3-d codes into (0, 1) and a classifier whose class is the code's argmax."""
    z = keras.Input((3,))
    decoder = keras.Model(z, layers.Dense(3, use_bias=False, kernel_initializer="identity", activation="sigmoid")(z))
    x = keras.Input((3,))
    logits = layers.Dense(3, use_bias=False, kernel_initializer=keras.initializers.Identity(gain=4.0))(x)
    classifier = keras.Model(x, layers.Softmax()(logits))
    codes = np.repeat(np.eye(3, dtype="float32") * 2.0, 200, axis=0)       # 600 codes, 200 per class
    labels = np.repeat(np.arange(3), 200)
    return decoder, classifier, codes, labels


def test_classify_decoded_returns_probabilities(toy):
    decoder, classifier, codes, labels = toy
    probs = latent.classify_decoded(decoder, classifier, codes)
    assert probs.shape == (600, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(probs.argmax(axis=1) == labels)


def test_classify_decoded_rejects_a_classifier_without_softmax(toy):
    decoder, _, codes, _ = toy
    x = keras.Input((3,))
    with pytest.raises(ValueError, match="class probabilities"):
        latent.classify_decoded(decoder, keras.Model(x, layers.Dense(3)(x)), codes)


def test_classify_decoded_rejects_decodes_outside_0_1(toy):
    _, classifier, codes, _ = toy
    z = keras.Input((3,))
    logits_decoder = keras.Model(z, layers.Dense(3, use_bias=False, kernel_initializer="identity")(z))
    with pytest.raises(ValueError, match=r"decoded images must lie in \[0.0, 1.0\]"):
        latent.classify_decoded(logits_decoder, classifier, codes)    # outputs up to 2: not images


def test_perturbation_curve_falls_from_one_towards_chance(toy):
    decoder, classifier, codes, labels = toy
    curve = latent.perturbation_curve(decoder, classifier, codes, labels, [0, 0.5, 50], rng=0)
    assert list(curve) == ["sigma", "agreement", "unchanged", "confidence"]
    assert curve["agreement"][0] == 1.0 and curve["unchanged"][0] == 1.0
    assert curve["agreement"][0] > curve["agreement"][1] > curve["agreement"][2]
    assert abs(curve["agreement"][2] - 1 / 3) < 0.08                        # pure noise: chance
    again = latent.perturbation_curve(decoder, classifier, codes, labels, [0, 0.5, 50], rng=0)
    np.testing.assert_array_equal(curve["agreement"], again["agreement"])  # seeded


def test_code_spread_and_spread_argument(toy):
    decoder, classifier, codes, labels = toy
    np.testing.assert_allclose(latent.code_spread(codes), codes.std(axis=0))
    zero = latent.perturbation_curve(decoder, classifier, codes, labels, [5.0], spread=np.zeros(3), rng=0)
    assert zero["agreement"][0] == 1.0                                        # no spread, no noise
    with pytest.raises(ValueError, match="one value per code dimension"):
        latent.perturbation_curve(decoder, classifier, codes, labels, [1.0], spread=np.ones(4))


def test_interpolation_ends_and_midpoint_dip(toy):
    decoder, classifier, codes, _ = toy
    curve = latent.interpolation_curve(decoder, classifier, codes[:200], codes[200:400], steps=5)
    np.testing.assert_allclose(curve["alpha"], [0, 0.25, 0.5, 0.75, 1])
    ends = latent.classify_decoded(decoder, classifier, codes[:1]).max()
    assert curve["confidence"][0] == pytest.approx(ends, rel=1e-5)
    assert curve["confidence"][2] < curve["confidence"][0]                  # the midpoint is ambiguous
    assert curve["midpoint"] == curve["confidence"][2]
    assert curve["ends"] == pytest.approx(curve["confidence"][[0, -1]].mean())
    with pytest.raises(ValueError, match="same shape"):
        latent.interpolation_curve(decoder, classifier, codes[:3], codes[:4])
    with pytest.raises(ValueError, match="odd"):
        latent.interpolation_curve(decoder, classifier, codes[:3], codes[3:6], steps=4)


def test_uniform_codes_fill_the_bounding_box():
    codes = np.array([[0.0, -1.0], [2.0, 1.0], [1.0, 0.0]], dtype="float32")
    sample = latent.uniform_codes(codes, 5000, rng=0)
    assert sample.shape == (5000, 2) and sample.dtype == np.float32
    assert sample.min(axis=0) == pytest.approx([0, -1], abs=0.01)
    assert sample.max(axis=0) == pytest.approx([2, 1], abs=0.01)


def test_confident_fraction():
    probs = np.array([[0.95, 0.05], [0.6, 0.4], [0.1, 0.9]])
    assert latent.confident_fraction(probs) == pytest.approx(2 / 3)
    assert latent.confident_fraction(probs, threshold=0.99) == 0.0
    with pytest.raises(ValueError, match=r"shape \(N, n_classes\)"):
        latent.confident_fraction(probs[None])


def test_bad_codes_and_labels_raise_clear_errors(toy):
    decoder, classifier, codes, labels = toy
    with pytest.raises(ValueError, match=r"shape \(N, code_size\)"):
        latent.classify_decoded(decoder, classifier, np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="integer class indices"):
        latent.perturbation_curve(decoder, classifier, codes, labels[:10], [0.0])
    with pytest.raises(ValueError, match="each sigma"):
        latent.perturbation_curve(decoder, classifier, codes, labels, [-1.0])


def test_train_judge_learns_separable_classes_and_reports_test_accuracy(capsys):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    images = np.clip(rng.normal(0.15 + 0.35 * labels[:, None, None], 0.05, (600, 8, 8)), 0, 1).astype("float32")
    judge, accuracy = latent.train_judge(images[:500], labels[:500], images[500:], labels[500:], epochs=8, batch_size=50,
                                         learning_rate=1e-2)
    probs = keras.ops.convert_to_numpy(judge(images[500:]))
    assert probs.shape == (100, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert accuracy == pytest.approx(np.mean(probs.argmax(axis=1) == labels[500:])) and accuracy > 0.9
    assert f"judge: test accuracy {accuracy:.4f}" in capsys.readouterr().out


def test_train_judge_rejects_bad_input():
    x = np.zeros((10, 8, 8), dtype="float32")
    y = np.arange(10) % 2
    with pytest.raises(ValueError, match=r"grey images \(N, height, width\)"):
        latent.train_judge(x[..., None], y, x[..., None], y)
    with pytest.raises(ValueError, match=r"\[0.0, 1.0\]"):
        latent.train_judge(x + 3, y, x, y)
    with pytest.raises(ValueError, match="integer class indices"):
        latent.train_judge(x, y.astype(float), x, y)
    with pytest.raises(ValueError, match="epochs"):
        latent.train_judge(x, y, x, y, epochs=0)


def test_nearest_mean_accuracy_separates_clustered_from_class_free_codes():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 2000)
    centres = np.array([[5, 0], [0, 5], [-5, 0], [0, -5]], "float32")
    clustered = centres[labels] + rng.normal(0, 1, (2000, 2))
    class_free = rng.normal(0, 1, (2000, 2))
    assert latent.nearest_mean_accuracy(clustered[:1000], labels[:1000], clustered[1000:], labels[1000:]) > 0.95
    assert abs(latent.nearest_mean_accuracy(class_free[:1000], labels[:1000], class_free[1000:], labels[1000:]) - 0.25) < 0.06
    with pytest.raises(ValueError, match="same code size"):
        latent.nearest_mean_accuracy(clustered, labels, np.zeros((3, 5)), labels[:3])
    with pytest.raises(ValueError, match="integer class indices"):
        latent.nearest_mean_accuracy(clustered, labels.astype(float), clustered, labels)
    with pytest.raises(ValueError, match=r"classes \[3\] that train_labels lacks"):
        latent.nearest_mean_accuracy(clustered[labels < 3], labels[labels < 3], clustered, labels)
