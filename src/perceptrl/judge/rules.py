"""The rules judge: deterministic verdicts for structured annotations (the synthetic world).

Annotations of the synthetic world are atomic facts ``LHS = RHS`` (``number on the red circle = 7``,
``height of bar C = 6``, ``AB = 10``, ``angle ABC = 40°``) or short relation sentences.

Normalisation (both annotation and response): lower-case; ``^\\circ``, ``^{\\circ}``, ``\\circ``
and "N degrees" become ``°``; ``\\text``/``\\mathrm``-style commands, ``$``, ``\\``, ``{``, ``}``
removed; ``∠`` becomes "angle ";
whitespace collapsed (line breaks kept: they end a clause); spaces around ``=`` and before ``°`` dropped.

An ``LHS = RHS`` fact is **present** when the response contains the LHS (at word boundaries) and,
within the same clause (up to the next ``,``, ``;``, ``.`` (not a decimal point) or newline, and
at most :data:`WINDOW` characters), one of the connectors ``=``, ``:``, ``is``, ``equals``,
``is equal to``, ``of``, ``measures`` followed by the RHS. Numeric RHS values match numerically
(``7`` = ``7.0``; ``7`` ≠ ``70``) with the same trailing unit (e.g. ``°``) when the annotation has one.
**Spray guard:** if the response also states the same LHS with a different complete numeric
value (the clause ends after it: ``AB = 11,``; a derivation ``angle ABC = 180° − 140°`` does not
count), the fact is *not* credited — listing ``AB = 1, AB = 2, …, AB = 20`` earns nothing.

A relation sentence (no ``=``) is present when its normalised text (trailing punctuation dropped)
occurs in the normalised response.

What it cannot judge: paraphrases ("the red circle shows seven"), the value before the name
("7 is the number on the red circle"), synonyms and other notations (``∥`` vs "parallel", ``m∠B``),
unit conversions, facts implied but not stated, and anything that needs the image. Use an LLM
judge for real data.
"""

from __future__ import annotations

import re

WINDOW = 40  # characters after the LHS in which its value must appear

_CONNECTOR = re.compile(r"\s*(?:=|:|is equal to|equals|is|of|measures|was)?\s*")
_NUM = re.compile(r"[-+]?\d+(?:\.\d+)?")
_CLAUSE_END = re.compile(r"[,;\n]|\.(?!\d)")


def normalize(text: str) -> str:
    """The normal form both sides are compared in (see the module docstring)."""
    t = text.lower()
    t = re.sub(r"\^\s*\{?\s*\\circ\s*\}?", "°", t)
    t = t.replace("\\circ", "°").replace("∠", "angle ")
    t = re.sub(r"(\d)\s*degrees?\b", r"\1°", t)
    t = re.sub(r"\\(?:text|mathrm|mathit|mathbf|operatorname|overline|mbox)\s*", "", t)
    t = re.sub(r"[$\\{}]", "", t)
    # newlines end a clause (facts are often stated one per line), so they survive; other
    # whitespace runs collapse to one space
    t = re.sub(r"[^\S\n]+", " ", t)
    t = re.sub(r" ?\n[\s]*", "\n", t).strip()
    t = re.sub(r"[^\S\n]*=[^\S\n]*", " = ", t)
    t = re.sub(r"[^\S\n]+°", "°", t)
    return t


def _split_fact(annotation: str) -> tuple[str, str] | None:
    norm = normalize(annotation)
    if "=" not in norm:
        return None
    lhs, rhs = norm.split("=", 1)
    lhs, rhs = lhs.strip(), rhs.strip().rstrip(".")
    if not lhs or not rhs:
        return None
    return lhs, rhs


def _value_after(text: str, pos: int) -> str:
    """The clause after position ``pos`` (the candidate value region), connector stripped."""
    window = text[pos : pos + WINDOW]
    end = _CLAUSE_END.search(window)
    if end:
        window = window[: end.start()]
    m = _CONNECTOR.match(window)
    return window[m.end() :].strip() if m else window.strip()


def _matches(value: str, rhs: str) -> bool | None:
    """True if ``value`` starts with ``rhs``; False if it states a different value; None if it
    states no value at all."""
    if not value:
        return None
    rhs_num = _NUM.fullmatch(rhs) or re.fullmatch(r"([-+]?\d+(?:\.\d+)?)\s*(\S.*)", rhs)
    if rhs_num:
        got = _NUM.match(value)
        if not got:
            return None
        want_num = float(rhs_num.group(1) if rhs_num.re.groups else rhs_num.group(0))
        unit = rhs_num.group(2) if rhs_num.re.groups else ""
        rest = value[got.end() :].lstrip()
        if float(got.group(0)) != want_num:
            # a complete different value ("AB = 11,") contradicts; a derivation ("180° − 140° = 40°") does not
            return False if re.fullmatch(r"[^\w\s]{0,2}|" + re.escape(unit), rest) else None
        return rest.startswith(unit) if unit else not rest[:1].isdigit()
    if value.startswith(rhs):
        tail = value[len(rhs) : len(rhs) + 1]
        return not (tail.isalnum())
    return None


def _fact_present(lhs: str, rhs: str, response: str) -> bool:
    pattern = re.compile(r"(?<![a-z0-9])" + re.escape(lhs) + r"(?![a-z0-9])")
    found = False
    for m in pattern.finditer(response):
        ok = _matches(_value_after(response, m.end()), rhs)
        if ok is False:
            return False  # spray guard: a contradicting value for the same quantity
        found = found or bool(ok)
    return found


def judge_rules(annotations: list[str], response: str) -> list[int]:
    """One verdict (1 present / 0 absent) per annotation, deterministic."""
    resp = normalize(response)
    flat = resp.replace("\n", " ")  # relation sentences may wrap across lines
    verdicts = []
    for ann in annotations:
        fact = _split_fact(ann)
        if fact is None:
            sentence = normalize(ann).replace("\n", " ").rstrip(" .")
            verdicts.append(int(bool(sentence) and sentence in flat))
        else:
            verdicts.append(int(_fact_present(*fact, resp)))
    return verdicts
