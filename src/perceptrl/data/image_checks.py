"""The image checks of :func:`perceptrl.data.validate.validate_examples`: every image is opened
(path inside the dataset folder, file present, fully decodable, not a decompression bomb), then its
mode, EXIF orientation, pixel count and aspect ratio are checked. Codes: see
:mod:`perceptrl.data.validate`."""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

from PIL import Image, UnidentifiedImageError

from perceptrl.data.images import escapes_root, exif_orientation, resolve_path
from perceptrl.data.schema import Example
from perceptrl.data.validation_report import Issue

# Qwen-VL's smart_resize raises for |h/w| >= 200 (transformers qwen2_vl image processing).
MAX_ASPECT_RATIO = 200
# Modes processors convert silently but lossily (alpha onto black, CMYK/16-bit colour shifts).
RGB_SAFE_MODES = ("RGB", "L")


def image_issues(
    ex: Example, row: int, k: int, min_pixels: int | None, max_pixels: int | None, pixel_bounds: str = "error"
) -> tuple[list[Issue], Image.Image | None]:
    """Checks of image ``k``; returns the issues and the decoded image when it decoded."""
    fld = f"images[{k}]"

    def issue(code: str, reason: str, fix: str, severity: str = "error") -> Issue:
        return Issue(row, ex.id, fld, code, reason, fix, severity)

    opener, problem = _opener(ex, ex.images[k], issue)
    if problem is not None:
        return [problem], None
    img, problem = _decode(ex.images[k], opener, issue)
    if problem is not None:
        return [problem], None
    return _decoded_issues(img, min_pixels, max_pixels, pixel_bounds, issue), img


def _opener(ex: Example, src: Any, issue) -> tuple[Any, Issue | None]:
    """What ``Image.open`` reads for ``src`` (a path inside the dataset folder, or the bytes;
    ``None`` for an image already decoded), or the issue that stops it from being opened."""
    if isinstance(src, str):
        if not src:
            return None, issue("missing_image", "empty image entry", "give the image's path or bytes")
        path = resolve_path(src, ex.root)
        if ex.root is not None and escapes_root(path, ex.root):
            via_symlink = os.path.realpath(path) != os.path.abspath(path)  # abspath folds "..", keeps links
            how = "a symlink pointing" if via_symlink else "a path"
            return None, issue(
                "path_escape",
                f"{how} outside the dataset folder {ex.root}: {src!r} -> {os.path.realpath(path)}",
                "copy the image into the dataset folder and use a relative path inside it",
            )
        if not path.is_file():
            return None, issue("missing_image", f"file not found: {path}", "restore the file or fix the path")
        opener: Any = path
    elif isinstance(src, bytes):
        opener = io.BytesIO(src)
    else:
        opener = None
    return opener, None


def _decode(src: Any, opener: Any, issue) -> tuple[Image.Image | None, Issue | None]:
    """The fully decoded image (``Image.load()``: truncated data shows here), or why it is not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = src if opener is None else Image.open(opener)
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        return None, issue(
            "decompression_bomb",
            f"image too large to decode safely ({e})",
            "downscale the image offline (it is over PIL's MAX_IMAGE_PIXELS); raise that limit only for trusted data",
        )
    except UnidentifiedImageError:
        return None, issue("corrupt_image", "not a decodable image", "replace the file with a valid PNG/JPEG")
    except OSError as e:
        if "truncated" in str(e).lower():
            return None, issue("truncated_image", f"image data is cut short ({e})", "re-download or re-export the image")
        return None, issue("corrupt_image", f"cannot decode the image ({e})", "replace the file with a valid PNG/JPEG")
    except Exception as e:  # noqa: BLE001 - any decoder failure is a corrupt image, never a crash
        return None, issue("corrupt_image", f"cannot decode the image ({type(e).__name__}: {e})", "replace the file with a valid PNG/JPEG")
    return img, None


def _decoded_issues(img: Image.Image, min_pixels: int | None, max_pixels: int | None, pixel_bounds: str,
                    issue) -> list[Issue]:
    """Mode, EXIF orientation, pixel count and aspect ratio of a decoded image."""
    issues = []
    if img.mode not in RGB_SAFE_MODES:
        kind = f"has an alpha channel (mode {img.mode})" if "A" in img.mode or "transparency" in img.info else f"is in mode {img.mode}"
        issues.append(
            issue(
                "image_mode",
                f"image {kind}; perceptrl converts it to RGB (alpha onto white)",
                "nothing needed with perceptrl's loader; `--fix` stores RGB",
                "warning",
            )
        )
    orient = exif_orientation(img)
    if orient != 1:
        issues.append(
            issue(
                "exif_rotated",
                f"EXIF orientation {orient}: the stored pixels are rotated/flipped; perceptrl transposes them",
                "nothing needed with perceptrl's loader; `--fix` stores upright pixels",
                "warning",
            )
        )
    w, h = img.size
    px = w * h
    out_of_bounds = (min_pixels is not None and px < min_pixels) or (max_pixels is not None and px > max_pixels)
    if out_of_bounds and pixel_bounds != "off":
        handled = pixel_bounds == "warning"
        issues.append(
            issue(
                "pixels_out_of_bounds",
                f"{w}x{h} = {px} pixels, outside [{min_pixels}, {max_pixels}]" + ("; it will be resized into bounds" if handled else ""),
                "`--fix` resizes it into bounds (same aspect ratio)",
                "warning" if handled else "error",
            )
        )
    if min(w, h) == 0 or max(w, h) / min(w, h) >= MAX_ASPECT_RATIO:
        issues.append(
            issue(
                "aspect_ratio",
                f"{w}x{h}: aspect ratio >= {MAX_ASPECT_RATIO}, which Qwen-VL image processors refuse",
                "crop or pad the image to a less extreme shape",
            )
        )
    return issues
