import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from aehelpers import plotting  # noqa: E402

rng = np.random.default_rng(0)


def teardown_function():
    plt.close("all")


def test_show_image_rows_layout_and_labels():
    x = rng.random((12, 28, 28))
    fig = plotting.show_image_rows({"original": x, "flat": x.reshape(12, -1), "chan": x[..., None]}, n=5, title="T")
    assert len(fig.axes) == 3                       # one axes per row, the 5 images side by side
    assert fig._suptitle.get_text() == "T"
    assert [ax.get_ylabel() for ax in fig.axes] == ["original", "flat", "chan"]
    strip = fig.axes[0].get_images()[0].get_array()
    assert strip.shape == (28, 5 * 28 + 4 * 2)     # 2-pixel gaps between the images
    np.testing.assert_allclose(strip[:, 30:58], x[1])
    titled = plotting.show_image_rows({"a": x}, n=3, title="t", col_titles=["c0", "c1", "c2"])
    assert [t.get_text() for t in titled.axes[0].texts] == ["c0", "c1", "c2"]
    with pytest.raises(ValueError, match="col_titles needs at least n=3"):
        plotting.show_image_rows({"a": x}, n=3, title="t", col_titles=["c0"])


def test_show_image_rows_bad_input():
    with pytest.raises(ValueError, match="at least n=10"):
        plotting.show_image_rows({"a": rng.random((3, 28, 28))}, title="t")
    with pytest.raises(ValueError, match="not square images"):
        plotting.show_image_rows({"a": rng.random((10, 30))}, title="t")
    with pytest.raises(ValueError, match="non-empty dict"):
        plotting.show_image_rows([], title="t")


def test_show_images_grid_with_titles():
    fig = plotting.show_images(rng.normal(size=(10, 784)), titles=[f"PC {i}" for i in range(10)], ncols=5,
                               title="components", symmetric=True)
    assert len(fig.axes) == 10 and fig.axes[3].get_title() == "PC 3"
    with pytest.raises(ValueError, match="titles has 2 entries for 10 images"):
        plotting.show_images(rng.normal(size=(10, 784)), titles=["a", "b"], title="t")


def test_latent_scatter_has_legend_axes_labels_and_subsamples():
    codes = rng.normal(size=(6000, 2))
    labels = rng.integers(0, 3, 6000)
    fig = plotting.plot_latent_scatter(codes, labels, ["cat", "dog", "fish"], title="codes", max_points=1000)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cat", "dog", "fish"]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "codes"
    assert sum(len(c.get_offsets()) for c in ax.collections) == 1000


def test_latent_scatter_per_class_draws_one_panel_per_class():
    codes, labels = rng.normal(size=(300, 2)), np.arange(300) % 4
    fig = plotting.plot_latent_scatter(codes, labels, list("abcd"), title="panels", per_class=True, xlabel="z1", ylabel="z2")
    assert len(fig.axes) == 4 and fig._suptitle.get_text() == "panels"
    for k, ax in enumerate(fig.axes):
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["all classes", "abcd"[k]]
        assert len(ax.collections[0].get_offsets()) == 300 and len(ax.collections[1].get_offsets()) == 75
    assert [ax.get_xlabel() for ax in fig.axes] == ["", "", "z1", "z1"] and fig.axes[0].get_ylabel() == "z2"


def test_latent_scatter_bad_input():
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plotting.plot_latent_scatter(rng.normal(size=(5, 3)), np.zeros(5, int), ["a"], title="t")
    with pytest.raises(ValueError, match="class ids"):
        plotting.plot_latent_scatter(rng.normal(size=(5, 2)), np.full(5, 4), ["a", "b"], title="t")


def test_plot_history_single_and_many():
    h = {"loss": [0.3, 0.2, 0.1], "val_loss": [0.35, 0.25, 0.2]}
    fig = plotting.plot_history(h, title="one")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["train", "validation"] and fig.axes[0].get_xlabel() == "epoch"
    fig = plotting.plot_history({"k=2": h, "k=8": {"loss": [1, 0.5]}}, title="many")
    assert len(fig.axes[0].lines) == 3
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)  # whole epochs only
    with pytest.raises(ValueError, match="'loss' entry"):
        plotting.plot_history({"run": {"acc": [1]}}, title="bad")
