"""The architecture diagrams: one script draws them all, the committed PNGs exist, bad input
is refused clearly, and the drawings keep their text on the canvas and apart."""

import itertools
import struct
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from aehelpers.course import cli, diagrams  # noqa: E402
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels from the PNG header; fails on anything that is not a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


def check_diagram_png(path: Path) -> None:
    """A readable PNG of a notebook-sized diagram at ~150 dpi on white, with a real drawing."""
    width, height = png_size(path)
    assert 8 * 150 <= width <= 10 * 150 and 3 * 150 <= height <= 8 * 150, (path.name, width, height)
    pixels = mpimg.imread(path)[..., :3]
    assert pixels.shape == (height, width, 3)
    assert np.allclose(pixels[0, 0], 1.0) and np.allclose(pixels[-1, -1], 1.0), f"{path.name}: background not white"
    inked = np.any(pixels < 0.9, axis=-1).mean()
    assert 0.03 < inked < 0.5, f"{path.name}: {inked:.1%} of the pixels drawn"
    colourful = (pixels.max(axis=-1) - pixels.min(axis=-1) > 0.1).mean()
    assert colourful > 0.01, f"{path.name}: no palette colours"


def test_write_all_writes_exactly_the_registry(tmp_path):
    out = tmp_path / "new" / "images"          # created if missing
    paths = diagrams.write_all(out)
    assert [p.name for p in paths] == list(diagrams.DIAGRAMS)
    assert sorted(p.name for p in out.iterdir()) == sorted(diagrams.DIAGRAMS)
    assert len(diagrams.DIAGRAMS) == 9
    for path in paths:
        check_diagram_png(path)


def test_write_all_some_names(tmp_path):
    paths = diagrams.write_all(tmp_path, ["vae", "cvae.png", "vae.png"])
    assert [p.name for p in paths] == ["vae.png", "cvae.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cvae.png", "vae.png"]


def test_committed_images_exist_and_are_diagrams(repo_root):
    for name in diagrams.DIAGRAMS:
        path = repo_root / "images" / name
        assert path.is_file(), f"images/{name} is missing: run `python -m aehelpers.course diagrams`"
        check_diagram_png(path)


def test_bad_input_is_refused_clearly(tmp_path, capsys):
    a_file = tmp_path / "not_a_folder.png"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="is an existing file"):
        diagrams.write_all(a_file)
    with pytest.raises(ValueError, match=r"unknown diagram\(s\) nope.png; known: vanilla_autoencoder.png"):
        diagrams.write_all(tmp_path, ["vae", "nope"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder.png"]   # nothing half-written
    assert cli.main(["diagrams", "--out", str(a_file)]) == 2
    assert "is an existing file" in capsys.readouterr().err
    assert cli.main(["diagrams", "--out", str(tmp_path), "--only", "nope"]) == 2
    assert "unknown diagram" in capsys.readouterr().err


def test_command_lines(tmp_path, capsys):
    assert cli.main(["diagrams", "--out", str(tmp_path / "a"), "--only", "vae"]) == 0
    assert cli.main(["diagrams", "--out", str(tmp_path / "b"), "--only", "cvae.png", "vae.png"]) == 0
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["vae.png"]
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["cvae.png", "vae.png"]
    assert "wrote " in capsys.readouterr().out


def test_default_folder_is_the_checkouts_images(monkeypatch, tmp_path, repo_root):
    monkeypatch.chdir(tmp_path)      # outside any checkout: the package's own checkout
    assert diagrams.default_out_dir() == repo_root / "images"


@pytest.mark.parametrize("name", list(diagrams.DIAGRAMS))
def test_diagram_layout(name):
    """Each diagram has a title, every text lies on the canvas, and no two texts overlap."""
    fig = diagrams.DIAGRAMS[name]()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]
    assert texts[0].get_fontweight() == "bold" and texts[0].get_fontsize() >= 14   # the title comes first
    boxes = []
    for t in texts:
        box = t.get_window_extent(renderer)
        assert (box.x0 >= canvas.x0 + 5 and box.x1 <= canvas.x1 - 5 and box.y0 >= canvas.y0 + 5
                and box.y1 <= canvas.y1 - 5), f"{name}: {t.get_text()!r} runs off the canvas"
        boxes.append((t.get_text(), box.padded(-1)))
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{name}: {a!r} overlaps {b!r}"


def test_one_palette():
    roles = set(diagrams.PALETTE)
    assert {"data", "encoder", "decoder", "code", "loss", "frozen", "discarded"} <= roles
    fills = [r.fill for r in diagrams.PALETTE.values()]
    assert len(set(fills)) == len(fills), "two roles share a colour"
