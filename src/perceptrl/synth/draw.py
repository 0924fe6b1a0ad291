"""Drawing primitives shared by the synthetic scenes.

Digits on shapes are drawn as seven-segment glyphs made of rectangles: big, high-contrast, and
byte-identical on every machine (no font rasteriser involved), which is what a tiny vision tower
trained from scratch needs. Letters and multi-character labels use Pillow's embedded default font.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

# High-contrast palette: the colour *names* appear in questions and annotations.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "blue": (30, 70, 230),
    "green": (20, 150, 40),
    "orange": (240, 140, 0),
    "purple": (140, 40, 180),
}

# Segments a..g of a seven-segment display, lit per digit.
_SEGMENTS = {
    0: "abcdef", 1: "bc", 2: "abged", 3: "abgcd", 4: "fgbc",
    5: "afgcd", 6: "afgedc", 7: "abc", 8: "abcdefg", 9: "abcdfg",
}


def canvas(size: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", (size, size), (255, 255, 255))
    return img, ImageDraw.Draw(img)


def draw_digit(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], digit: int,
               fill=(255, 255, 255)) -> None:
    """Draw ``digit`` (0-9) as a seven-segment glyph filling ``box`` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    t = max(2.0, round(min(w, h) * 0.22))  # stroke thickness
    ym = y0 + h / 2
    rects = {
        "a": (x0, y0, x1, y0 + t),
        "g": (x0, ym - t / 2, x1, ym + t / 2),
        "d": (x0, y1 - t, x1, y1),
        "f": (x0, y0, x0 + t, ym),
        "b": (x1 - t, y0, x1, ym),
        "e": (x0, ym, x0 + t, y1),
        "c": (x1 - t, ym, x1, y1),
    }
    for seg in _SEGMENTS[digit]:
        ax0, ay0, ax1, ay1 = rects[seg]
        draw.rectangle((round(ax0), round(ay0), round(ax1) - 1, round(ay1) - 1), fill=fill)


@lru_cache(maxsize=8)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's embedded font at ``size`` px (no system font lookup, so output is reproducible)."""
    return ImageFont.load_default(size=size)


def draw_label(draw: ImageDraw.ImageDraw, center: tuple[float, float], text: str, size: int,
               fill=(0, 0, 0)) -> tuple[int, int, int, int]:
    """Draw ``text`` centred at ``center``; return its pixel box (x0, y0, x1, y1)."""
    f = font(size)
    draw.text((round(center[0]), round(center[1])), text, font=f, fill=fill, anchor="mm")
    x0, y0, x1, y1 = draw.textbbox((round(center[0]), round(center[1])), text, font=f, anchor="mm")
    return int(x0), int(y0), int(x1), int(y1)
