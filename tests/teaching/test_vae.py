import keras
import numpy as np
import pytest
from keras import ops

from aehelpers._validation import walk_layers
from aehelpers import vae


def to_np(t):
    return ops.convert_to_numpy(t)


def test_kl_to_standard_normal_closed_form_and_monte_carlo():
    mean, log_var = np.array([[0.0, 0.0], [1.0, -0.5]], "float32"), np.array([[0.0, 0.0], [0.5, -1.0]], "float32")
    kl = to_np(vae.kl_to_standard_normal(mean, log_var))
    assert kl[0] == pytest.approx(0.0, abs=1e-7)                                   # q = p
    rng = np.random.default_rng(0)
    sd = np.exp(0.5 * log_var[1])
    z = mean[1] + sd * rng.standard_normal((200_000, 2))
    log_q = -0.5 * (((z - mean[1]) / sd) ** 2 + np.log(2 * np.pi * sd**2)).sum(1)
    log_p = -0.5 * (z**2 + np.log(2 * np.pi)).sum(1)
    assert kl[1] == pytest.approx(np.mean(log_q - log_p), rel=0.02)


def test_kl_normal_general_form_is_asymmetric_and_matches_the_special_case():
    m1, v1 = np.array([[0.3, -1.0]], "float32"), np.array([[0.2, -0.7]], "float32")
    zeros = np.zeros_like(m1)
    np.testing.assert_allclose(to_np(vae.kl_normal(m1, v1, zeros, zeros)), to_np(vae.kl_to_standard_normal(m1, v1)), rtol=1e-6)
    forward, backward = to_np(vae.kl_normal(m1, v1, zeros, zeros)), to_np(vae.kl_normal(zeros, zeros, m1, v1))
    assert forward[0] > 0 and backward[0] > 0 and abs(forward[0] - backward[0]) > 1e-3


def test_bernoulli_nll_matches_summed_binary_cross_entropy():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(3, 4, 4)).astype("float32")
    logits = rng.normal(scale=3, size=(3, 4, 4)).astype("float32")
    p = 1 / (1 + np.exp(-logits))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(3, -1).sum(1)
    np.testing.assert_allclose(to_np(vae.bernoulli_nll_from_logits(x, logits)), expected, rtol=1e-4)
    big = to_np(vae.bernoulli_nll_from_logits(np.ones((1, 2), "float32"), np.array([[-200.0, 200.0]], "float32")))
    assert np.isfinite(big).all() and big[0] == pytest.approx(200.0, rel=1e-4)     # no overflow


def test_sampling_layer_moments_kl_loss_and_clipping():
    layer = vae.GaussianSampling(beta=2.0, seed=0)
    mean = np.full((20_000, 2), [1.0, -2.0], "float32")
    log_var = np.full((20_000, 2), [0.0, np.log(0.25)], "float32")
    z = to_np(layer([mean, log_var]))
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.03)
    np.testing.assert_allclose(z.std(0), [1.0, 0.5], atol=0.03)
    kl = to_np(vae.kl_to_standard_normal(mean[:1], log_var[:1]))[0]
    assert float(to_np(layer.losses[-1])) == pytest.approx(2.0 * kl, rel=1e-5)
    np.testing.assert_array_equal(to_np(layer([mean[:3], log_var[:3]], sample=False)), mean[:3])
    huge = to_np(vae.GaussianSampling(seed=0)([mean[:2], np.full((2, 2), 1e4, "float32")]))
    assert np.isfinite(huge).all()                                                  # log σ² clipped
    restored = vae.GaussianSampling.from_config(layer.get_config())
    assert restored.initial_beta == 2.0 and restored.seed == 0
    assert float(to_np(restored.beta)) == 2.0
    with pytest.raises(ValueError, match="beta"):
        vae.GaussianSampling(beta=-1)


def test_mlp_vae_trains_and_negative_elbo_is_recon_plus_kl():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = (rng.uniform(size=(512, 6, 6)) < np.linspace(0.1, 0.9, 36).reshape(6, 6)).astype("float32")
    model, encoder, decoder = vae.build_mlp_vae((6, 6), latent_dim=2, hidden=(32,))
    before = vae.negative_elbo(model, x)
    model.fit(x, x, epochs=30, batch_size=64, verbose=0)
    after = vae.negative_elbo(model, x)
    assert after < before
    mean, log_var = (to_np(t) for t in encoder(x))
    images = to_np(decoder(mean))
    assert images.shape == (512, 6, 6) and images.min() >= 0 and images.max() <= 1
    kl = to_np(vae.kl_to_standard_normal(mean, np.clip(log_var, *vae.LOGVAR_RANGE))).mean()
    eps = rng.standard_normal((20, *mean.shape)).astype("float32")
    logits = [to_np(decoder.layers[1](mean + np.exp(0.5 * log_var) * e)) for e in eps]   # the logits model
    recon = np.mean([to_np(vae.bernoulli_nll_from_logits(x, lg)).mean() for lg in logits])
    assert after == pytest.approx(recon + kl, rel=0.02)


@pytest.mark.parametrize("value", [255.0, 0.5])
def test_negative_elbo_refuses_anything_but_binary_images(value):
    model, encoder, _ = vae.build_mlp_vae((4, 4), latent_dim=2, hidden=(8,))
    with pytest.raises(ValueError, match=r"must be binary .*vae\.binarize"):
        vae.negative_elbo(model, np.full((2, 4, 4), value))
    with pytest.raises(ValueError, match=r"must be binary"):
        vae.importance_sampled_nll(encoder, model.get_layer("vae_decoder_logits"), np.full((2, 4, 4), value), k=2)


def test_negative_elbo_uses_beta_one_and_restores_beta():
    keras.utils.set_random_seed(0)
    x = (np.random.default_rng(0).uniform(size=(256, 4, 4)) < 0.5).astype("float32")
    model, encoder, _ = vae.build_mlp_vae((4, 4), latent_dim=2, hidden=(8,), beta=0.0)
    sampler = [layer for layer in model.layers if isinstance(layer, vae.GaussianSampling)][0]
    weighted = float(model.evaluate(x, x, batch_size=256, verbose=0))          # β = 0: reconstruction only
    mean, log_var = encoder(x)
    kl = float(np.mean(to_np(vae.kl_to_standard_normal(mean, log_var))))
    assert vae.negative_elbo(model, x, batch_size=256) == pytest.approx(weighted + kl, rel=0.05)
    assert float(to_np(sampler.beta)) == 0.0


def test_run_returns_one_array_per_output():
    from aehelpers.models import run

    _, encoder, _ = vae.build_mlp_vae((4, 4), latent_dim=3, hidden=(8,))
    mean, log_var = run(encoder, np.zeros((5, 4, 4), "float32"), batch_size=2)
    assert mean.shape == (5, 3) and log_var.shape == (5, 3)


class _PlainSampling(keras.layers.Layer):
    """A notebook-style sampling layer whose β is a Python number (as notebook 06 writes it)."""

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = beta

    def call(self, inputs):
        mean, log_var = inputs
        self.add_loss(self.beta * keras.ops.mean(vae.kl_to_standard_normal(mean, log_var)))
        return mean


def test_build_mlp_vae_uses_a_given_sampling_layer_and_negative_elbo_accepts_python_beta_one():
    x = (np.random.default_rng(0).uniform(size=(64, 4, 4)) < 0.5).astype("float32")
    model, encoder, _ = vae.build_mlp_vae((4, 4), latent_dim=2, hidden=(8,), sampling=_PlainSampling(name="mine"))
    assert any(layer.name == "mine" for layer in model.layers)
    assert not any(isinstance(layer, vae.GaussianSampling) for layer in walk_layers(model))
    mean, log_var = encoder(x)
    recon = float(np.mean(to_np(vae.bernoulli_nll_from_logits(x, model(x)))))   # deterministic: z = mean
    kl = float(np.mean(to_np(vae.kl_to_standard_normal(mean, log_var))))
    assert vae.negative_elbo(model, x, batch_size=64) == pytest.approx(recon + kl, rel=1e-4)


def test_negative_elbo_refuses_a_python_beta_other_than_one_and_bad_sampling():
    model, _, _ = vae.build_mlp_vae((4, 4), latent_dim=2, hidden=(8,), sampling=_PlainSampling(beta=0.5))
    with pytest.raises(ValueError, match="beta=0.5 as a Python number"):
        vae.negative_elbo(model, np.zeros((4, 4, 4), "float32"))
    with pytest.raises(ValueError, match="sampling must be a Keras layer"):
        vae.build_mlp_vae((4, 4), latent_dim=2, hidden=(8,), sampling=lambda t: t[0])


def test_conditional_vae_takes_labels_everywhere_and_its_elbo_needs_them():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 256)
    # each class lights a different third of a 6-pixel image: the label explains most of x
    x = np.zeros((256, 6), "float32")
    for k in range(3):
        x[y == k, 2 * k:2 * k + 2] = 1.0
    labels = np.eye(3, dtype="float32")[y]
    cvae, encoder, decoder = vae.build_mlp_vae((6,), latent_dim=2, hidden=(16,), n_classes=3, name="cvae")
    plain, _, _ = vae.build_mlp_vae((6,), latent_dim=2, hidden=(16,), name="plain")
    for model, inputs in ((cvae, [x, labels]), (plain, x)):
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=vae.bernoulli_nll_from_logits)
        model.fit(inputs, x, epochs=40, batch_size=64, verbose=0)
    mean, log_var = (to_np(t) for t in encoder([x, labels]))
    images = to_np(decoder([np.zeros((3, 2), "float32"), np.eye(3, dtype="float32")]))   # z = 0, each label
    assert mean.shape == (256, 2) and images.shape == (3, 6)
    # the label reaches every Dense layer: the input and each hidden layer, in encoder and decoder
    for model in (encoder, cvae.get_layer("cvae_decoder_logits")):
        assert sum(isinstance(layer, keras.layers.Concatenate) for layer in model.layers) == 2
    assert np.all(images.argmax(axis=1) // 2 == np.arange(3))        # the label picks the lit pixels
    assert vae.negative_elbo(cvae, x, labels) < vae.negative_elbo(plain, x)
    with pytest.raises(ValueError, match="pass the one-hot labels"):
        vae.negative_elbo(cvae, x)
    with pytest.raises(ValueError, match=r"one-hot, shape \(256, 3\)"):
        vae.negative_elbo(cvae, x, y)
    with pytest.raises(ValueError, match="not conditional"):
        vae.negative_elbo(plain, x, labels)


def test_binarize_draws_each_pixel_with_its_grey_level():
    grey = np.tile(np.linspace(0, 1, 5, dtype="float32"), (4000, 1))
    sample = vae.binarize(grey, 0)
    assert sample.dtype == np.float32 and set(np.unique(sample)) <= {0.0, 1.0}
    np.testing.assert_allclose(sample.mean(axis=0), np.linspace(0, 1, 5), atol=0.03)
    np.testing.assert_array_equal(sample, vae.binarize(grey, np.random.default_rng(0)))
    with pytest.raises(ValueError, match=r"\[0.0, 1.0\]"):
        vae.binarize(grey * 255, 0)


def test_train_vae_redraws_the_binarization_every_epoch(monkeypatch, capsys):
    keras.utils.set_random_seed(0)
    grey = np.random.default_rng(1).uniform(0.2, 0.8, (128, 6)).astype("float32")
    seen = []
    original = keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda self, x, y, **kw: seen.append(np.array(x)) or original(self, x, y, **kw))
    model, _, _ = vae.build_mlp_vae((6,), latent_dim=2, hidden=(8,))
    seconds = vae.train_vae(model, grey, epochs=3, batch_size=32, binarize_rng=0, label="dyn")
    assert seconds > 0 and len(seen) == 3
    assert all(set(np.unique(x)) == {0.0, 1.0} for x in seen) and not np.array_equal(seen[0], seen[1])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("dyn")]
    assert [ln.split(" · ")[1] for ln in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    seen.clear()
    vae.train_vae(model, grey, epochs=2, batch_size=32, label="grey")    # without binarize_rng: x as it is, one fit
    assert len(seen) == 1 and np.array_equal(seen[0], grey)


def test_importance_sampled_nll_matches_the_exact_likelihood_of_a_1d_vae():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = vae.binarize(np.tile(np.linspace(0.1, 0.9, 8, dtype="float32"), (300, 1)), rng)
    model, encoder, _ = vae.build_mlp_vae((8,), latent_dim=1, hidden=(16,))
    vae.train_vae(model, x, epochs=30, batch_size=64, learning_rate=1e-2, label="tiny", max_lines=1)
    logits_model = model.get_layer("vae_decoder_logits")
    grid = np.linspace(-8, 8, 4001, dtype="float32")[:, None]                       # p(x) = ∫ p(x|z) p(z) dz
    logits = to_np(logits_model(grid))
    log_px_z = -np.array([to_np(vae.bernoulli_nll_from_logits(np.repeat(xi[None], len(grid), 0), logits)) for xi in x[:20]])
    log_joint = log_px_z - 0.5 * grid[:, 0] ** 2 - 0.5 * np.log(2 * np.pi)
    top = log_joint.max(axis=1, keepdims=True)
    exact = -(top[:, 0] + np.log(np.exp(log_joint - top).sum(axis=1) * (grid[1, 0] - grid[0, 0])))
    estimate = vae.importance_sampled_nll(encoder, logits_model, x[:20], k=2000, rng=1)
    np.testing.assert_allclose(estimate, exact, atol=0.05)
    assert np.mean(estimate) <= vae.negative_elbo(model, x[:20]) + 0.5     # the bound it tightens
