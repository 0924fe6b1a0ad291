"""Equality of two answers as mathematics (step 5 of :func:`perceptrl.rewards.accuracy.answers_match`):
math-verify ``parse``/``verify`` (gold first), with what keeps it bounded and fast: answers nested
too deep are not parsed, large powers are never evaluated, two plain decimals or two closed-form
numbers that surely differ are decided without ``simplify``. Numbers for ``precision``/``tolerance``
comparisons (step 4) are read here too.

math-verify bounds its own work with ``signal.alarm`` (``timeout`` seconds, main thread only);
:mod:`perceptrl.rewards.runner` instead runs this in worker processes with its own timer and
passes ``timeout=None``.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from fractions import Fraction
from typing import Any

from perceptrl.rewards.answer_forms import _NUMBER_RE, _looks_like_text, _wrap, normalize_text


class _NoTimeoutWarning(logging.Filter):
    """math-verify warns once per process when its alarm is off; the runner turns it off on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout is disabled")


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_NoTimeoutWarning())


_MAX_BRACE_DEPTH = 8
_BRACE_TOKEN_RE = re.compile(r"\\.|[{}]", re.DOTALL)


def _brace_depth(s: str) -> int:
    """The deepest nesting of unescaped ``{…}`` groups in ``s`` (one pass; ``\\{`` is not a group)."""
    depth = deepest = 0
    for m in _BRACE_TOKEN_RE.finditer(s):
        c = m.group(0)
        if c == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif c == "}" and depth:
            depth -= 1
    return deepest


@functools.lru_cache(maxsize=4096)
def _parse(s: str, timeout: int | None) -> tuple:
    """math-verify's parse of an answer: a bare answer wrapped in ``\\boxed{}`` first, text with
    inline math or prose as it is first; the other form when the first yields no math. Cached: the
    gold of a prompt is parsed once for all its rollouts (and within a worker, across batches).

    Text nesting ``{…}`` more than ``_MAX_BRACE_DEPTH`` (8) deep is not parsed (``()``, no math):
    math-verify's LaTeX parser (ANTLR) is exponential in redundant brace nesting — ``{``×10 ``3``
    ``}``×10 takes about 1 s, 20 levels over a minute — and no final answer nests groups that deep.
    (Other pathological forms, e.g. 500 nested parentheses, are left to the runner's item timeout.)"""
    from math_verify import parse

    if _brace_depth(s) > _MAX_BRACE_DEPTH:
        return ()

    forms = (s, _wrap(s)) if _looks_like_text(s) else (_wrap(s), s)
    first = parse(forms[0], parsing_timeout=timeout)
    if any(_is_sympy(p) for p in first):
        return tuple(first)
    second = parse(forms[1], parsing_timeout=timeout)
    if any(_is_sympy(p) for p in second):
        return tuple(second)
    return tuple(first)


def _is_sympy(x: Any) -> bool:
    from sympy import Basic, MatrixBase

    return isinstance(x, (Basic, MatrixBase))


def _as_float(parsed: tuple) -> float | None:
    """A finite float when the first sympy value is a number (``10*(1/100)``, ``2*sqrt(3)``).

    Powers with a non-number or large exponent are refused, so ``10^{10^{10}}`` is never evaluated.
    """
    for p in parsed:
        if not _is_sympy(p):
            continue
        try:
            if not getattr(p, "is_number", False) or p.count_ops() > 8 or _has_big_pow(p):
                return None
            v = complex(p.evalf())
        except (TypeError, ValueError, OverflowError, AttributeError):
            return None
        if v.imag != 0 or not math.isfinite(v.real):
            return None
        return v.real
    return None


def _has_big_pow(expr: Any) -> bool:
    from sympy import Number, Pow

    for pw in expr.atoms(Pow):
        if not isinstance(pw.exp, Number) or abs(pw.exp) > 64:
            return True
    return False


def _number(s: str, timeout: int | None) -> float | None:
    t = normalize_text(s).replace(",", "")
    if _NUMBER_RE.match(t):
        return float(t)
    return _as_float(_parse(s, timeout))


def _surely_different(g: Any, p: Any) -> bool:
    """True when two closed-form numbers differ by more than 1e-6 (relative to max(1, |·|)).

    math-verify would then answer False too (its numeric check rounds to 6 decimals; its
    symbolic check simplifies ``g - p``, which cannot be zero), but only after a sympy
    ``simplify`` that costs ~50 ms per wrong irrational answer. Percentages (math-verify treats
    ``9%`` as equal to ``9``), symbols, relations, sets and huge powers are left to math-verify.
    """
    from sympy import Expr, UnevaluatedExpr

    for x in (g, p):
        if not isinstance(x, Expr) or not x.is_number or x.has(UnevaluatedExpr) or _has_big_pow(x) or x.count_ops() > 12:
            return False
    try:
        a, b = complex(g.evalf(30)), complex(p.evalf(30))
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        return False
    if not all(math.isfinite(v) for v in (a.real, a.imag, b.real, b.imag)):
        return False
    return abs(a - b) > 1e-6 * max(1.0, abs(a), abs(b))


def _math_equal(pred: str, gold: str, timeout: int | None) -> bool:
    from math_verify import verify

    gold_parsed = _parse(gold, timeout)
    if not gold_parsed:
        return False
    pred_parsed = _parse(pred, timeout)
    if not pred_parsed:
        return False
    for g in gold_parsed:
        for p in pred_parsed:
            if _is_sympy(g) and _is_sympy(p) and _surely_different(g, p):
                continue
            if verify(g, p, timeout_seconds=timeout):
                return True
    return False


def _plain_numbers_verdict(pred: str, gold: str) -> bool | None:
    """Two plain decimals decided without a parser: equal → True, apart by more than 1e-6
    (relative) → False (math-verify's verdicts too); anything else → None (ask math-verify)."""
    a, b = normalize_text(pred), normalize_text(gold)
    if not (_NUMBER_RE.match(a) and _NUMBER_RE.match(b)):
        return None
    fa, fb = Fraction(a), Fraction(b)
    if fa == fb:
        return True
    if abs(fa - fb) > Fraction(1, 10**6) * max(1, abs(fa), abs(fb)):
        return False
    return None
