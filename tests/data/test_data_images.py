"""Image normalisation shared by validation, --fix and the training input pipeline."""

from __future__ import annotations

import io
import os
from pathlib import Path

from data_fixtures import jpeg_bytes, palette_with_transparency, png_bytes
from PIL import Image

from perceptrl.data.images import escapes_root, fit_size, load_rgb_images, to_rgb
from perceptrl.data.schema import Example


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_alpha_and_palette_transparency_become_white_not_black():
    rgba = _open(png_bytes(color=(0, 0, 0, 0), mode="RGBA"))
    assert to_rgb(rgba).getpixel((5, 5)) == (255, 255, 255)
    pal = _open(palette_with_transparency())
    out = to_rgb(pal)
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (255, 255, 255)


def test_cmyk_and_16_bit_convert_to_rgb():
    assert to_rgb(_open(jpeg_bytes(mode="CMYK"))).mode == "RGB"
    grey16 = Image.linear_gradient("L").resize((64, 64)).convert("I;16")
    out = to_rgb(grey16)
    assert out.mode == "RGB" and out.getextrema()[0][1] > 200  # scaled, not clipped to white


def test_exif_rotation_is_applied():
    img = _open(jpeg_bytes((80, 60), orientation=6))
    assert img.size == (80, 60)
    assert to_rgb(img).size == (60, 80)


def test_fit_size_respects_bounds_and_aspect():
    assert fit_size(100, 100, 3136, 1_806_336) == (100, 100)
    w, h = fit_size(4000, 3000, None, 1_000_000)
    assert w * h <= 1_000_000 and abs(w / h - 4 / 3) < 0.01
    w, h = fit_size(10, 20, 3136, None)
    assert w * h >= 3136 and abs(h / w - 2) < 0.1


def test_load_rgb_images_from_bytes_and_paths(tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes((300, 200)))
    ex = Example("x", ["a.png", jpeg_bytes((80, 60), orientation=6)], "<image><image>?", "1", root=str(tmp_path))
    a, b = load_rgb_images(ex, max_pixels=30_000)
    assert a.mode == b.mode == "RGB"
    assert a.width * a.height <= 30_000 and b.size == (60, 80)


def test_escapes_root_sees_through_dotdot_and_symlinks(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "out.png").write_bytes(b"x")
    (root / "in.png").write_bytes(b"x")
    os.symlink(tmp_path / "out.png", root / "link.png")
    assert not escapes_root(root / "in.png", root)
    assert escapes_root(root / ".." / "out.png", root)
    assert escapes_root(root / "link.png", root)
    assert escapes_root(tmp_path / "out.png", root)


def test_example_image_path_and_resolve_path_agree_on_home(tmp_path, monkeypatch):
    """One rule for where a path-valued image points: ``~`` is expanded by both
    :meth:`Example.image_path` (what is loaded) and :func:`resolve_path` (what is validated)."""
    from perceptrl.data import images, schema
    from perceptrl.data.schema import Example

    monkeypatch.setenv("HOME", str(tmp_path))
    ex = Example(id="1", images=["~/a.png", "b.png", str(tmp_path / "c.png")], problem="<image>", answer="1",
                 root="/data/root")
    for i, src in enumerate(ex.images):
        assert ex.image_path(i) == images.resolve_path(src, ex.root)
    assert ex.image_path(0) == tmp_path / "a.png"
    assert ex.image_path(1) == Path("/data/root/b.png")
    assert images.resolve_path is schema.resolve_path  # one function, not a twin
