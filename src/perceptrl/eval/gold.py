"""The bare value a benchmark's free-form gold states, for golds written as sentences or with units.

MathVerse's free-form golds (``data/testmini*.json``) are often not a value but how a textbook
writes the result: ``Area $=9 \\pi \\mathrm{cm}^{2}$``, ``$r=24.4$``, ``Volume $=452.389$ cubic
units``, ``62^\\circ``, ``4.4 m``, ``{8}{5} \\pi`` (a ``\\frac`` lost its name), ``=\\frac{7}{4}``; MATH-V
has a few too (``69{degrees}``, and ``\\frac`` whose ``\\f`` became a form feed when the JSON was written).
A response answering ``9\\pi`` is right, and the benchmark's own GPT-4 judge accepts it, but an
exact or math-verify comparison with the whole sentence fails (and math-verify on the sentence
accepts the wrong ``9``). :func:`gold_variants` gives the gold itself and then the value it
states (label, dollar signs, units, degree marks removed); the scorer compares a prediction with
that value (and accepts the whole gold, verbatim).

Only *presentation* is removed, never part of the value: a label is dropped only when it is a
word (``Area``, ``Surface Area``, ``S.A.``, ``Center``) or a one-letter name whose right-hand side
is a number (``r=24.4``; ``y=-2 x+5`` stays an equation), and only a closed list of unit words is
stripped (``\\pi`` is never a unit). Equations, intervals and coordinate pairs are left as they are.
"""

from __future__ import annotations

import re

_UNIT_WORDS = (
    "mm", "cm", "dm", "m", "km", "g", "kg", "mg", "ml", "l", "ft", "in", "yd", "mi", "s", "h", "min",
    "units", "unit", "square units", "cubic units", "metres", "meters", "metre", "meter", "litres", "liters",
    "litre", "liter", "degrees", "km / h", "km/h", "m/s",
)
_UNIT_ALT = "|".join(sorted((re.escape(u).replace(r"\ ", r"\s*") for u in _UNIT_WORDS), key=len, reverse=True))
# a power after a unit: ^2, ^{3}, ², or a digit glued to the unit as option texts write it ("0.5cm2")
_POWER = r"(?:\s*\$?\s*\^\s*\{?\s*[23]\s*\}?\s*\$?|[²³]|(?<=[A-Za-z])[23](?![0-9]))?"
# a unit at the end: \mathrm{~cm}^{2}, \text { units }^2, "cm^2", " cubic units", "units $^{3}$"
_TRAILING_UNIT = re.compile(
    rf"(?<![\\A-Za-z])\s*(?:\\mathrm\s*\{{\s*~?\s*(?:{_UNIT_ALT})\s*\}}|\\text\s*\{{\s*(?:{_UNIT_ALT})\s*\}}|(?:{_UNIT_ALT})){_POWER}\s*$",
    re.IGNORECASE,
)
_DEGREES = re.compile(r"\s*(?:\^\s*\{?\s*\\circ\s*\}?|°|掳|\\circ)\s*(?:T\b)?\s*$")  # 掳: a mis-decoded °
_PERCENT = re.compile(r"\s*\\?%\s*$")
_NUMBERISH = re.compile(r"^[-+]?\s*(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:\s*\\pi)?$|^\\frac\{[^{}]+\}\{[^{}]+\}$")
_WORD_LABEL = re.compile(r"^[A-Za-z][A-Za-z. ]*[A-Za-z.]$")  # Area, Surface Area, S.A. of rectangular prism
_LETTER_LABEL = re.compile(r"^[A-Za-z]$")


def _strip_math(s: str) -> str:
    s = s.strip()
    s = re.sub(r"^\\\[|\\\]\.?$", "", s).strip()
    return s.replace("$", "").strip()


def _drop_label(s: str) -> str:
    """``Area =9 \\pi cm^2`` → ``9 \\pi cm^2``; ``r=24.4`` → ``24.4``; equations unchanged."""
    if s.startswith("="):
        return s[1:].strip()
    if s.count("=") != 1:
        return s
    left, right = (p.strip() for p in s.split("="))
    left = re.sub(r"^\\mathrm\s*\{([^{}]*)\}$", r"\1", left)  # \mathrm{SA}
    if not right:
        return s
    if _WORD_LABEL.match(left) and len(left) > 1:
        return right
    if _LETTER_LABEL.match(left) and _NUMBERISH.match(_strip_units(right)):
        return right
    return s


def _strip_units(s: str) -> str:
    prev = None
    while prev != s:
        prev = s
        for pattern in (_TRAILING_UNIT, _DEGREES, _PERCENT):
            out = re.sub(r"[\s~]+$", "", pattern.sub("", s).strip())
            if out and not re.search(r"[=+\-*/^_(,<>]$", out):  # "5=s" keeps its s: a unit follows a value
                s = out
    return s


def bare_value(gold: str) -> str:
    """The value ``gold`` states, with the presentation removed (see the module doc)."""
    s = str(gold).replace("\x0c", "\\f").strip()  # "\frac" read from JSON as a form feed + "rac" (MATH-V)
    s = re.sub(r"\{\s*degrees?\s*\}\s*$", "", s)  # MATH-V "69{degrees}"
    lines = [ln.strip() for ln in s.splitlines() if ln.strip()]
    if len(lines) > 1 and len(set(lines)) == 1:  # "-4.9\n-4.9"
        s = lines[0]
    s = _strip_math(s)
    s = _drop_label(s)
    s = _strip_units(s).rstrip(".").strip()
    if re.match(r"^\{[^{}]+\}\{[^{}]+\}", s):  # "{8}{5} \pi": \frac lost its name
        s = "\\frac" + s
    s = re.sub(r"(?<=\d)\.(?=\s*$)", "", s)  # "216." → "216"
    return s or str(gold).strip()


def gold_variants(gold: str) -> list[str]:
    """``[gold]``, plus its bare value when that differs."""
    bare = bare_value(gold)
    return [gold] if bare == str(gold).strip() else [gold, bare]
