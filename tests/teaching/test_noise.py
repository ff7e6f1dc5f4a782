import numpy as np
import pytest

from aehelpers import noise

KINDS = {"gaussian": noise.gaussian, "masking": noise.masking, "salt_and_pepper": noise.salt_and_pepper}


@pytest.fixture
def images():
    return np.random.default_rng(0).random((50, 28, 28)).astype(np.float32)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_shape_dtype_range_and_input_untouched(images, kind):
    before = images.copy()
    out = KINDS[kind](images, 0.3, rng=1)
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(images, before)
    assert not np.array_equal(out, images)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_same_seed_same_noise_and_level_zero_is_identity(images, kind):
    np.testing.assert_array_equal(KINDS[kind](images, 0.2, 7), KINDS[kind](images, 0.2, np.random.default_rng(7)))
    np.testing.assert_array_equal(KINDS[kind](images, 0.0, 7), images)


def test_gaussian_noise_has_the_requested_std_before_clipping():
    x = np.full((200, 28, 28), 0.5, dtype=np.float32)  # far from the clip bounds for std 0.1
    out = noise.gaussian(x, 0.1, rng=0)
    assert np.std(out - x) == pytest.approx(0.1, rel=0.02)
    assert abs(np.mean(out - x)) < 0.002


def test_gaussian_clips_to_unit_range():
    x = np.zeros((100, 10), dtype=np.float32)
    out = noise.gaussian(x, 0.5, rng=0)
    assert out.min() == 0.0 and (out == 0.0).mean() == pytest.approx(0.5, abs=0.02)


def test_masking_zeros_the_requested_fraction():
    x = np.ones((100, 784), dtype=np.float32)
    out = noise.masking(x, 0.25, rng=0)
    assert set(np.unique(out)) == {0.0, 1.0}
    assert (out == 0).mean() == pytest.approx(0.25, abs=0.01)


def test_salt_and_pepper_fraction_and_balance():
    x = np.full((100, 784), 0.5, dtype=np.float32)
    out = noise.salt_and_pepper(x, 0.2, rng=0)
    assert (out != 0.5).mean() == pytest.approx(0.2, abs=0.01)
    assert (out == 1.0).mean() == pytest.approx(0.1, abs=0.01)
    assert (out == 0.0).mean() == pytest.approx(0.1, abs=0.01)
    np.testing.assert_array_equal(noise.salt_and_pepper(x, 1.0, rng=0) != 0.5, True)


@pytest.mark.parametrize("kind, level, match", [
    ("gaussian", -0.1, r"std .* >= 0; got -0.1"),
    ("gaussian", float("nan"), r"std .* finite"),
    ("gaussian", "high", r"std .* must be a number"),
    ("masking", 1.5, r"fraction .* in \[0, 1\]; got 1.5"),
    ("salt_and_pepper", -0.2, r"fraction .* in \[0, 1\]"),
])
def test_bad_noise_level_raises(images, kind, level, match):
    with pytest.raises(ValueError, match=match):
        KINDS[kind](images, level, rng=0)


def test_bad_inputs_raise_clear_errors(images):
    with pytest.raises(ValueError, match=r"at least 2 dimensions .* got shape \(784,\)"):
        noise.gaussian(images[0].ravel(), 0.2, rng=0)
    with pytest.raises(ValueError, match=r"non-empty batch"):
        noise.gaussian(np.zeros((0, 28, 28)), 0.2, rng=0)
    with pytest.raises(ValueError, match=r"\[0.0, 1.0\].*divide uint8 pixels by 255"):
        noise.gaussian(images * 255, 0.2, rng=0)
    with pytest.raises(ValueError, match=r"must hold numbers"):
        noise.masking(np.array([["a", "b"]]), 0.2, rng=0)
    with pytest.raises(ValueError, match=r"rng must be .*Generator"):
        noise.gaussian(images, 0.2, rng=None)
    with pytest.raises(ValueError, match=r"rng must be .*Generator"):
        noise.gaussian(images, 0.2, rng="seed")
