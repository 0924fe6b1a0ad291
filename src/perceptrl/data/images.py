"""Image helpers shared by readers, writers, validation and the training/eval input pipeline.

The one function train/eval should use to turn an :class:`Example`'s images into model inputs is
:func:`load_rgb_images`: it applies the EXIF orientation (processors ignore it, so a phone photo is
seen sideways), flattens alpha onto white (as transformers' ``convert_to_rgb`` does: a transparent
diagram converted with a plain ``.convert("RGB")`` turns black-on-black), converts CMYK/palette/16-bit
images to RGB, and optionally resizes into the pixel bounds the recipe trains with.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

from PIL import Image, ImageOps

from perceptrl.data.schema import Example, ImageSource, resolve_path  # noqa: F401 - resolve_path re-exported

# Perception-R1 / EasyR1 recipe bounds (docs/methods.md §1: "image pixels 3,136..1,806,336").
DEFAULT_MIN_PIXELS = 3136
DEFAULT_MAX_PIXELS = 1806336

# EXIF tag 0x0112; values other than 1 mean the stored pixels must be rotated/flipped for display.
EXIF_ORIENTATION = 0x0112


def escapes_root(path: Path, root: str | os.PathLike) -> bool:
    """True when ``path`` (after resolving ``..`` and symlinks) lies outside ``root``."""
    real = os.path.realpath(path)
    real_root = os.path.realpath(root)
    return os.path.commonpath([real, real_root]) != real_root


def read_image_bytes(src: ImageSource, root: str | os.PathLike | None = None) -> bytes:
    """The encoded bytes of an image source (files are read verbatim, never re-encoded).

    A path that leads outside ``root`` (``..``, absolute, symlink) raises ``PermissionError``:
    converting an untrusted dataset must not copy arbitrary files of this machine into the output.
    """
    if isinstance(src, bytes):
        return src
    if isinstance(src, Image.Image):
        return encode_image(src)
    path = resolve_path(src, root)
    if root is not None and escapes_root(path, root):
        raise PermissionError(f"image path {src!r} leads outside the dataset folder {root}")
    return path.read_bytes()


def encode_image(img: Image.Image, format: str | None = None) -> bytes:
    """Encode a PIL image (PNG unless it came from a JPEG and is still JPEG-compatible)."""
    fmt = format or ("JPEG" if img.format == "JPEG" and img.mode in ("RGB", "L") else "PNG")
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


def image_extension(data: bytes) -> str:
    """A file extension for encoded image bytes (``.png`` when the format is unknown)."""
    try:
        fmt = Image.open(io.BytesIO(data)).format or "PNG"
    except Exception:  # noqa: BLE001 - unknown bytes still need a file name
        return ".bin"
    return {"JPEG": ".jpg", "TIFF": ".tif"}.get(fmt, "." + fmt.lower())


def exif_orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(EXIF_ORIENTATION, 1) or 1)
    except Exception:  # noqa: BLE001 - unreadable EXIF means no rotation info
        return 1


def to_rgb(img: Image.Image) -> Image.Image:
    """EXIF-transpose, flatten alpha onto white, convert to RGB."""
    if exif_orientation(img) != 1:
        img = ImageOps.exif_transpose(img)
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grey: scale into 8 bits instead of clipping to white
        lo, hi = img.getextrema()
        scale = 255.0 / (hi - lo) if hi > lo else 1.0
        return img.point(lambda v: (v - lo) * scale).convert("L").convert("RGB")
    return img.convert("RGB")


def fit_size(width: int, height: int, min_pixels: int | None, max_pixels: int | None) -> tuple[int, int]:
    """The size with the same aspect ratio whose area lies in ``[min_pixels, max_pixels]``."""
    area = width * height
    scale = 1.0
    if max_pixels is not None and area > max_pixels:
        scale = math.sqrt(max_pixels / area)
        w, h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
        return w, h
    if min_pixels is not None and area < min_pixels:
        scale = math.sqrt(min_pixels / area)
        return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))
    return width, height


def fit_pixels(img: Image.Image, min_pixels: int | None, max_pixels: int | None) -> Image.Image:
    """Resize (bicubic) so the pixel count lies within the bounds; unchanged when it already does."""
    size = fit_size(img.width, img.height, min_pixels, max_pixels)
    if size == img.size:
        return img
    return img.resize(size, Image.Resampling.BICUBIC)


def load_rgb_images(
    example: Example, *, min_pixels: int | None = None, max_pixels: int | None = None
) -> list[Image.Image]:
    """Decoded RGB images of ``example``, upright, optionally resized into pixel bounds.

    Call :func:`perceptrl.data.validate.ensure_valid` first: this function does not guard against
    missing files or decompression bombs.
    """
    return [load_rgb_image(example, i, min_pixels=min_pixels, max_pixels=max_pixels)
            for i in range(len(example.images))]


def load_rgb_image(
    example: Example, i: int, *, min_pixels: int | None = None, max_pixels: int | None = None
) -> Image.Image:
    """Image ``i`` of ``example`` as :func:`load_rgb_images` decodes it (upright, alpha on white, RGB)."""
    img = example.load_image(i)
    img.load()
    return fit_pixels(to_rgb(img), min_pixels, max_pixels)
