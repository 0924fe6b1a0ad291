"""A rules extractor for ``name = value`` chains of thought (stage 1 without a server).

For a quick start, and for data whose chains state their facts as ``name = value`` — the synthetic
world's chains (``height of bar A = 3``, ``angle ABC = 40°``), many geometry solutions — stage 1
can run without any model: :class:`RulesExtractor` reads the facts straight from the verified chain.

What it takes: every clause ``NAME = VALUE`` (clauses end at a line break, ``;``, ``,``, `` and ``, or
a sentence end) of the chain's ``<think>`` part (the whole chain if it has none), where

* ``VALUE`` is a single number with an optional unit (``°``, ``^\\circ``, "degrees", ``cm``, …);
* ``NAME`` starts with a letter, holds no digit-operator-digit arithmetic, at most 8 words, and is not
  a computed quantity (``answer``, ``result``, ``total``, ``sum``, ``difference``, ``perimeter``,
  ``area``, ``x``, …: :data:`COMPUTED`);
* a clause with a chained equation (``x = 180 - 40 = 140``) or an operator on the right is skipped:
  derived, not read;
* leading filler ("so", "we read", "from the figure,") is dropped;

de-duplicated (case-insensitive) and capped at ``max_facts``, in order of appearance.

What it cannot do: facts stated in words ("bar A is 3 tall", "AB is parallel to CD"), values
written before their name, relations, and anything that needs judgement about which facts came
from the figure. Use an LLM extractor (``--extract-base-url``) for real data.
"""

from __future__ import annotations

import re
from collections import Counter

from perceptrl.judge.sanitize import sanitize

#: names of results a solution computes (not read off the figure)
COMPUTED = frozenset({"answer", "result", "total", "sum", "difference", "perimeter", "area", "x", "y", "ans",
                      "the answer", "final answer", "solution"})
_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL | re.IGNORECASE)
_CLAUSE_SPLIT = re.compile(r"\n|;|,\s|\band\b|(?<!\d)\.(?!\d)|\.\s")
_VALUE = r"[-+]?\d+(?:\.\d+)?\s*(?:°|\^\s*\{?\\circ\}?|\\circ|degrees?|cm|mm|m|km|units?)?"
_FACT = re.compile(r"^\s*(?P<name>[A-Za-z∠][^=<>]*?)\s*=\s*(?P<value>" + _VALUE + r")\s*$")
_ARITH = re.compile(r"\d\s*[-+*/×÷^]\s*\d|[-+*/×÷]\s*$")
_FILLER = re.compile(r"^(?:so|thus|hence|therefore|then|here|now|we (?:read|see|have|get)|"
                     r"from the (?:figure|image|chart|diagram)|in the (?:figure|image)|reading|note that)\b[\s,:]*",
                     re.IGNORECASE)


def _clean_value(v: str) -> str:
    v = re.sub(r"\s*(?:\^\s*\{?\\circ\}?|\\circ|degrees?)$", "°", v.strip())
    return re.sub(r"\s+", " ", v)


def extract_facts(cot: str, max_facts: int = 8) -> list[str]:
    """The ``name = value`` facts of a chain of thought (see the module docstring)."""
    m = _THINK.search(cot or "")
    text = m.group(1) if m else (cot or "")
    out: list[str] = []
    seen: set[str] = set()
    for clause in _CLAUSE_SPLIT.split(text):
        clause = _FILLER.sub("", clause.strip()).strip().rstrip(".!?:").strip()
        if clause.count("=") != 1:
            continue  # none, or a chained equation (derived)
        fm = _FACT.match(clause)
        if not fm:
            continue
        name = re.sub(r"\s+", " ", fm.group("name").strip()).replace("∠", "angle ")
        name = re.sub(r"\s+", " ", name).strip()
        if _ARITH.search(name) or name.lower() in COMPUTED or len(name.split()) > 8:
            continue
        fact = sanitize(f"{name} = {_clean_value(fm.group('value'))}", instructions=False).text
        if fact.lower() not in seen:
            seen.add(fact.lower())
            out.append(fact)
    return out[:max_facts]


class RulesExtractor:
    """Stage-1 extractor without a model (see the module docstring); never fails."""

    name = "rules"

    def __init__(self) -> None:
        self.usage: Counter = Counter()

    async def extract(self, problem: str, cot: str, *, max_facts: int) -> list[str]:
        self.usage["extractions"] += 1
        return extract_facts(cot, max_facts)
