"""Helpers for the data tests: real image bytes of every bad kind, and the seeded dataset."""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from pathlib import Path

from PIL import Image


def png_bytes(size=(64, 64), color=(200, 30, 30), mode="RGB", noise=False) -> bytes:
    img = Image.effect_noise(size, 60).convert(mode) if noise else Image.new(mode, size, color)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(size=(64, 64), color=(20, 90, 200), mode="RGB", orientation: int | None = None) -> bytes:
    img = Image.new(mode, size, color if mode != "CMYK" else (10, 200, 30, 0))
    buf = io.BytesIO()
    kw = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kw["exif"] = exif.tobytes()
    img.save(buf, format="JPEG", **kw)
    return buf.getvalue()


def png_bomb(width=100_000, height=100_000) -> bytes:
    """A 100-byte PNG whose header claims 10^10 pixels (what a decompression bomb looks like)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def palette_with_transparency() -> bytes:
    img = Image.new("P", (64, 64), 0)
    img.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    img.info["transparency"] = 0
    buf = io.BytesIO()
    img.save(buf, format="PNG", transparency=0)
    return buf.getvalue()


# row id -> the error codes validation must report (warnings listed separately)
SEEDED_ERRORS: dict[str, set[str]] = {
    "missing": {"missing_image"},
    "corrupt": {"corrupt_image"},
    "truncated": {"truncated_image"},
    "bomb": {"decompression_bomb"},
    "dotdot": {"path_escape"},
    "absolute": {"path_escape"},
    "symlink": {"path_escape"},
    "too-small": {"pixels_out_of_bounds"},
    "too-big": {"pixels_out_of_bounds"},
    "placeholders": {"placeholder_mismatch"},
    "empty-answer": {"empty_answer"},
    "bad-annotations": {"malformed_annotations"},
    "vision-token": {"vision_token_in_text"},
    "sliver": {"aspect_ratio"},
    "no-image": {"no_image"},
    "bad-box": {"malformed_boxes"},
}
SEEDED_WARNINGS: dict[str, set[str]] = {
    "cmyk": {"image_mode"},
    "palette": {"image_mode"},
    "rgba": {"image_mode"},
    "rotated": {"exif_rotated"},
}
GOOD_IDS = ("good-png", "good-jpeg", "long-prompt", "cmyk", "palette", "rgba", "rotated")
# pixel bounds used with the seeded set (small, so the test images stay small)
MIN_PIXELS, MAX_PIXELS = 1024, 40_000


def write_seeded_jsonl(tmp_path: Path) -> Path:
    """A JSONL + image folder dataset with one row per bad-input kind, plus good rows.

    Duplicate ids are tested separately (they make two rows bad at once)."""
    root = tmp_path / "ds"
    img = root / "images"
    img.mkdir(parents=True)
    files = {
        "good.png": png_bytes(),
        "good.jpg": jpeg_bytes(),
        "corrupt.png": os.urandom(300),
        "truncated.png": png_bytes((96, 96), noise=True)[:800],
        "bomb.png": png_bomb(),
        "cmyk.jpg": jpeg_bytes(mode="CMYK"),
        "palette.png": palette_with_transparency(),
        "rgba.png": png_bytes(color=(0, 0, 0, 0), mode="RGBA"),
        "rotated.jpg": jpeg_bytes((80, 60), orientation=6),
        "small.png": png_bytes((10, 10)),
        "big.png": png_bytes((300, 200)),
        "sliver.png": png_bytes((1000, 4)),
    }
    for name, data in files.items():
        (img / name).write_bytes(data)
    outside = tmp_path / "outside.png"
    outside.write_bytes(png_bytes())
    os.symlink(outside, img / "link.png")

    def row(id_, images, problem="<image>What is x?", answer="3", **extra):
        return {"id": id_, "images": images, "problem": problem, "answer": answer, **extra}

    rows = [
        row("good-png", ["images/good.png"], visual_annotations=["AB = 10", "angle ABC > 30°, $x<y$"]),
        row("good-jpeg", ["images/good.jpg"], choices=["1", "3"]),
        row("long-prompt", ["images/good.png"], problem="<image>" + " ".join(["Compute the area of triangle ABC"] * 60)),
        row("missing", ["images/nope.png"]),
        row("corrupt", ["images/corrupt.png"]),
        row("truncated", ["images/truncated.png"]),
        row("bomb", ["images/bomb.png"]),
        row("dotdot", ["../outside.png"]),
        row("absolute", [str(outside)]),
        row("symlink", ["images/link.png"]),
        row("cmyk", ["images/cmyk.jpg"]),
        row("palette", ["images/palette.png"]),
        row("rgba", ["images/rgba.png"]),
        row("rotated", ["images/rotated.jpg"]),
        row("too-small", ["images/small.png"]),
        row("too-big", ["images/big.png"]),
        row("placeholders", ["images/good.png"], problem="<image> and <image>: which is larger?"),
        row("empty-answer", ["images/good.png"], answer="  "),
        row("bad-annotations", ["images/good.png"], visual_key_info="<info1>AB = 10</info1>\n<info3>CD = 4</info3>"),
        row("vision-token", ["images/good.png"], problem="<image>What is <|image_pad|> x?"),
        row("sliver", ["images/sliver.png"]),
        row("no-image", []),
        row("bad-box", ["images/good.png"], boxes=[{"x0": 50, "y0": 5, "x1": 10, "y1": 20}]),
    ]
    path = root / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
