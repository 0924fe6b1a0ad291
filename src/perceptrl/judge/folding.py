"""The views of a text that injection detection reads (:mod:`perceptrl.judge.sanitize`), each
mapped back to original character positions: the *folded* view (homoglyph table, NFKC, ``anyascii``
transliteration, lower case; zero-width and format characters and combining marks dropped) and the
*native* view (NFKC, lower case, invisibles dropped, no transliteration)."""

from __future__ import annotations

import bisect
import functools
import itertools
import unicodedata

from anyascii import anyascii

# Look-alikes that transliteration maps to a *different* Latin letter than the one they resemble
# (anyascii maps Cyrillic "р" to "r"; to the eye it is "p").
_HOMOGLYPHS = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ɡ": "g", "ı": "i", "ο": "o", "ν": "v", "ι": "i", "κ": "k", "α": "a",
    "τ": "t", "ρ": "p", "ѡ": "w", "ᐸ": "<", "ᐳ": ">", "˂": "<", "˃": ">", "❮": "<", "❯": ">",
    "❬": "<", "❭": ">", "⧼": "<", "⧽": ">", "〈": "<", "〉": ">", "⟨": "<", "⟩": ">", "‹": "<", "›": ">",
    "«": "<<", "»": ">>", "《": "<<", "》": ">>", "＜": "<", "＞": ">",
    "ǀ": "|", "∣": "|", "│": "|", "¦": "|", "⁄": "/", "∕": "/", "⧸": "/",
}
_INVISIBLE = "\u034f\u115f\u1160\u3164\uffa0"


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cf", "Mn", "Me") or ch in _INVISIBLE


@functools.lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    if _invisible(ch):
        return ""  # zero-width, bidi controls, combining marks, invisible fillers
    mapped = _HOMOGLYPHS.get(ch)
    if mapped is None:
        nf = unicodedata.normalize("NFKC", ch)
        mapped = "".join(c if c.isascii() else anyascii(c) for c in nf)
    return mapped.lower()


@functools.lru_cache(maxsize=65536)
def _native_char(ch: str) -> str:
    return "" if _invisible(ch) else unicodedata.normalize("NFKC", ch).lower()


class _Origin:
    """Folded position -> original index, from the cumulative lengths of the mapped characters
    (built at C speed; a lookup is a binary search)."""

    def __init__(self, cum: list[int] | None, n: int):
        self.cum = cum  # None: the identity (ASCII text)
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, p: int) -> int:
        return p if self.cum is None else bisect.bisect_right(self.cum, p)


def _view(text: str, fn) -> tuple[str, _Origin]:
    if text.isascii():
        return text.lower(), _Origin(None, len(text))
    mapped = list(map(fn, text))  # fn is lru-cached: one dictionary hit per character
    cum = list(itertools.accumulate(map(len, mapped)))
    return "".join(mapped), _Origin(cum, cum[-1] if cum else 0)


def fold(text: str) -> tuple[str, list[int]]:
    """The detection view of ``text`` and, for each of its characters, the index of the original
    character it came from."""
    folded, origin = _view(text, _fold_char)
    return folded, [origin[i] for i in range(len(folded))]
