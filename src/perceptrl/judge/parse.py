"""Read verdicts from a judge's answer (docs/methods.md §1, reference bugs 1 and 2).

The reference takes the *last* match of a greedy tag regex over the judge output and divides by
the number of tags it found. Here:

* only the judge's own answer is parsed (never the prompt or the response it was shown);
* reasoning is dropped first: every ``<think>…</think>`` block *anywhere* in the answer, then —
  for templates that open the block in the prompt — everything up to a remaining ``</think>``,
  and — for an answer cut off while reasoning — everything after an unclosed ``<think>``;
* two answer formats are read: tag lines ``<infoK>v</infoK>`` (or ``<infoK>v</info>``: a closing tag
  without its index, which small judges write, is accepted; one naming another index is not) (free text, or the ``grammar``
  constrained mode) and a JSON object ``{"info1": v, …}`` (the ``json_schema`` constrained modes).
  When the answer (after reasoning, optionally inside a ```` ```json ```` fence) *is* a JSON object,
  only its top-level ``infoK`` keys are read, so text inside a ``"reasoning"`` string can never
  become a verdict. Otherwise tags and ``"infoK": v`` pairs are both read (a truncated JSON answer
  keeps the verdicts it got to);
* a verdict value is ``1``/``0``, ``1.0``/``0.0`` (any number of zeros) or ``true``/``false``
  (case-insensitive; quoted or not in JSON). Anything else — ``yes``, ``0.5``, ``2`` — is not a
  verdict: the prompt never offers it and a fraction is not a presence decision, so that index is
  *missing*;
* exactly one verdict per annotation index ``1..m``: several verdicts for one index that agree
  count once, disagreeing ones make that index *conflicting*; both missing and conflicting
  verdicts count 0 and are reported;
* verdicts for indices outside ``1..m`` are ignored (reported as ``extra``);
* ``r_v = Σ verdicts / m`` — the denominator is always the number of annotations.

Every step is a single regex pass or one ``json`` decode: linear in the answer's length.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

#: a verdict value, as it may appear in a tag or a JSON value (matched case-insensitively)
VALUE = r"(?:true|false|[01](?:\.0*)?)"
# the closing tag may omit its index (``<info1>1</info>``: what small judges write) but may not name
# another one
_TAG = re.compile(rf"<\s*info\s*(\d+)\s*>\s*({VALUE})\s*<\s*/\s*info\s*(?:\1\s*)?>", re.IGNORECASE)
_PAIR = re.compile(rf"[\"']info\s*(\d+)[\"']\s*:\s*[\"']?({VALUE})[\"']?(?![\w.])", re.IGNORECASE)
_THINK_TAG = re.compile(r"<(/)?think>", re.IGNORECASE)
_KEY = re.compile(r"info(\d+)", re.IGNORECASE)


@dataclass
class Verdicts:
    """Verdicts for one judged response."""

    verdicts: list[int]
    missing: list[int] = field(default_factory=list)  # 1-based indices with no verdict
    conflicting: list[int] = field(default_factory=list)  # 1-based indices with disagreeing verdicts
    extra: int = 0  # verdicts for indices outside 1..m
    #: where the verdicts were read: ``json`` (a JSON object answer), ``tags`` (tag lines and/or
    #: JSON-style pairs in free text) or ``none`` (nothing usable)
    source: str = "none"

    @property
    def m(self) -> int:
        return len(self.verdicts)

    @property
    def parsed(self) -> int:
        """How many indices got a usable verdict."""
        return self.m - len(self.missing) - len(self.conflicting)

    @property
    def score(self) -> float:
        """``r_v = (1/m) Σ_j o_j``; 0 when there are no annotations (docs/methods.md §1)."""
        return sum(self.verdicts) / self.m if self.m else 0.0


def strip_reasoning(answer: str) -> str:
    """The answer without its reasoning (see the module docstring); one pass over the
    ``<think>``/``</think>`` tags (a lazy ``<think>.*?</think>`` regex is quadratic when a block
    is never closed)."""
    text = answer or ""
    kept: list[str] = []
    inside = False
    pos = 0
    for m in _THINK_TAG.finditer(text):
        if m.group(1) is None:  # <think>
            if not inside:
                kept.append(text[pos : m.start()])
                inside = True
        elif inside:  # </think> closing a block
            inside = False
            pos = m.end()
        else:  # a </think> whose block was opened in the prompt: everything before it is reasoning
            kept = []
            pos = m.end()
    if not inside:
        kept.append(text[pos:])
    return " ".join(kept)


def value_of(v: object) -> int | None:
    """A verdict value as 0/1, or ``None`` when it is not one (see the module docstring)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return int(v) if v in (0, 1) else None
    if isinstance(v, str) and re.fullmatch(VALUE, v.strip(), re.IGNORECASE):
        s = v.strip().lower()
        return 1 if s == "true" or s.startswith("1") else 0
    return None


def _json_object(text: str) -> dict | None:
    body = text.strip()
    if body.startswith("```") and body.endswith("```") and len(body) >= 6:  # a ```json fence
        body = body[3:-3]
        if body[:4].lower() == "json":
            body = body[4:]
        body = body.strip()
    if not body.startswith("{"):
        return None
    try:
        obj, end = json.JSONDecoder().raw_decode(body)
    except ValueError:
        return None
    if not isinstance(obj, dict) or body[end:].strip():
        return None
    return obj


def parse_verdicts(answer: str, m: int) -> Verdicts:
    """Parse a judge answer for ``m`` annotations."""
    text = strip_reasoning(answer)
    found: list[tuple[int, int]] = []  # (index, value) in answer order
    obj = _json_object(text)
    if obj is not None:
        source = "json"
        for key, raw in obj.items():
            km = _KEY.fullmatch(str(key).strip())
            v = value_of(raw)
            if km and v is not None:
                found.append((int(km.group(1)), v))
    else:
        source = "tags"
        for match in (*_TAG.finditer(text), *_PAIR.finditer(text)):
            found.append((int(match.group(1)), value_of(match.group(2))))  # type: ignore[arg-type]
    seen: dict[int, set[int]] = {}
    extra = 0
    for k, v in found:
        if 1 <= k <= m:
            seen.setdefault(k, set()).add(v)
        else:
            extra += 1
    verdicts, missing, conflicting = [], [], []
    for k in range(1, m + 1):
        vals = seen.get(k)
        if not vals:
            missing.append(k)
            verdicts.append(0)
        elif len(vals) > 1:
            conflicting.append(k)
            verdicts.append(0)
        else:
            verdicts.append(next(iter(vals)))
    if not seen:
        source = "none"
    return Verdicts(verdicts, missing, conflicting, extra, source)
