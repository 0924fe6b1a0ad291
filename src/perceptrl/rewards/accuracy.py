"""Accuracy: does the response's final answer equal the gold answer?

:func:`answers_match` is the rule cascade shared by the ``accuracy`` reward and the evaluation
scorers. In order:

1. light text normalisation (``$``, ``\\text{}``, spaces, case, trailing period) — equal strings match;
2. multiple choice — a letter (``B``, ``(B)``, ``B. 8/11``, ``Option B``) is compared as a letter;
   a letter maps to its option text and option text to its letter when ``choices`` is given;
3. yes/no (``true``/``false`` are synonyms);
4. numbers with ``precision`` (decimal places: match when ``|pred - gold| <= 0.5·10^-precision``)
   or ``tolerance`` (absolute: ``|pred - gold| <= tolerance``);
5. math-verify ``parse``/``verify`` (gold first). A bare gold/prediction is wrapped in
   ``\\boxed{}`` before parsing — otherwise ``2\\sqrt{3}`` parses as ``2`` — and a bare ``%`` is
   escaped (``10%`` would be a LaTeX comment). If the wrapped prediction does not parse as math,
   the raw text is tried (``"the area is 12"``).

math-verify turns LaTeX into sympy with its own parser (no ``eval`` of the input; its plain
expression branch only ever sees digits and operators). Nothing here evaluates a raw string.
math-verify bounds its own work with ``signal.alarm`` (``timeout`` seconds, main thread only);
:mod:`perceptrl.rewards.runner` instead runs this in worker processes with its own timer and
passes ``timeout=None``.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from perceptrl.rewards.answer import extract_answer
from perceptrl.rewards.limits import max_response_chars, over_cap
from perceptrl.rewards.registry import register_reward

__all__ = [
    "answers_match",
    "accuracy_reward",
    "accuracy_key",
    "score_accuracy_key",
    "normalize_text",
]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _NoTimeoutWarning(logging.Filter):
    """math-verify warns once per process when its alarm is off; the runner turns it off on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout is disabled")


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_NoTimeoutWarning())

_YES = {"yes", "true", "correct", "y"}
_NO = {"no", "false", "incorrect", "n"}

_TEXT_WRAP_RE = re.compile(r"\\(?:text|textbf|mathrm|mathbf|textit|operatorname)\s*\{([^{}]*)\}")
_GOLD_LETTER_RE = re.compile(r"^\(?([A-Za-z])\)?[.:]?$")
# A leading choice letter: "B", "(B)", "B.", "B)", "B:", "B. 8/11", "Option B", "choice (C)".
_PRED_LETTER_RE = re.compile(r"^(?:(?:option|choice|answer)\s*:?\s*)?\(?([A-Z])\)?(?=$|[.:)\s,])")
_NUMBER_RE = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$")
# A letter named inside a sentence: "the answer is (B)", "option C", "choice: D".
_INLINE_LETTER_RE = re.compile(r"(?i:answer|option|choice)(?:\s+(?i:is))?\s*:?\s*\(?([A-Z])\)?(?![A-Za-z0-9])")


def _unwrap(s: str) -> str:
    """The answer inside tags/boxes if ``s`` carries any, else ``s`` (stripped)."""
    s = s.strip()
    if "<answer>" in s.lower() or "\\boxed" in s or "\\fbox" in s:
        inner = extract_answer(s)
        if inner is not None:
            return inner
    return s


def normalize_text(s: str, *, keep_case: bool = False) -> str:
    """Light normalisation for string equality: unwrap ``\\text{}``, drop ``$``, case, spaces, end dot."""
    prev = None
    while prev != s:
        prev, s = s, _TEXT_WRAP_RE.sub(r"\1", s)
    s = s.replace("$", "").replace("\\!", "").replace("\\,", "").replace("\\ ", " ")
    s = re.sub(r"\s+", " ", s).strip().rstrip(".").strip()
    return s if keep_case else s.lower()


def _choice_letter(s: str) -> str | None:
    m = _PRED_LETTER_RE.match(normalize_text(s).upper() if s else "")
    if not m:
        inline = list(_INLINE_LETTER_RE.finditer(normalize_text(s, keep_case=True))) if s else []
        return inline[-1].group(1) if inline else None
    # "A" alone or followed by punctuation; "a + b" is not a letter answer.
    rest = normalize_text(s)[m.end():].strip()
    if rest and rest[0] in "+-*/^=<>":
        return None
    return m.group(1)


def _gold_letter(gold: str, choices: Sequence[str] | None) -> str | None:
    m = _GOLD_LETTER_RE.match(normalize_text(gold, keep_case=True))
    if not m:
        return None
    letter = m.group(1).upper()
    if choices is not None and _LETTERS.index(letter) >= len(choices):
        return None
    if choices is None and m.group(1).islower():  # a bare lower-case "x" is a variable, not a choice
        return None
    return letter


def _strip_letter_prefix(option: str) -> str:
    """``"B. 8/11"`` → ``"8/11"`` (options are often stored with their letter)."""
    m = re.match(r"^\(?[A-Z]\)?[.:)]\s*", option.strip())
    return option.strip()[m.end():] if m else option.strip()


def _yes_no(s: str) -> str | None:
    words = re.findall(r"[a-z]+", normalize_text(s))
    if not words:
        return None
    w = words[0]
    return "yes" if w in _YES else "no" if w in _NO else None


def _wrap(s: str) -> str:
    """Wrap a bare answer so math-verify parses all of it (``2\\sqrt{3}`` is not ``2``)."""
    s = s.strip()
    if "\\boxed" in s or (s.startswith("$") and s.endswith("$") and len(s) > 1):
        return s
    s = re.sub(r"(?<!\\)%", r"\\%", s)
    return "\\boxed{" + s + "}"


_PROSE_RE = re.compile(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}")
_COMMAND_RE = re.compile(r"\\[A-Za-z]+")
_ENV_RE = re.compile(r"\\(?:begin|end)\s*\{[^{}]*\}")
_WORD_RE = re.compile(r"(?<![A-Za-z])[A-Za-z]+(?![A-Za-z])")
# Words of three letters or more that are math, not prose (function names, \text-less units).
_MATH_WORDS = frozenset(
    "sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh log exp lim max min mod gcd lcm deg det "
    "sqrt frac dfrac tfrac pi inf infty mph kph rad".split()
)
# English words of two letters that only prose has ("x is 3", "it is 5").
_PROSE_SHORT = frozenset("is be so we it of to as at by if an am us".split())


def _looks_like_text(s: str) -> bool:
    """Inline math (``$…$``) or prose ("the angle is 60", "x equals 3", "x is 3"): let
    math-verify find the math itself. Prose is two words of ≥ 2 letters in a row, or one English
    word (≥ 3 letters and not a math name such as ``sin`` or ``max``, or a two-letter word such
    as "is"); LaTeX commands and environment names (``\\begin{pmatrix}``) are not words.
    Wrapped in ``\\boxed{}`` instead, "x equals 3" parses as the product x·e·q·u·a·l·s·3."""
    if "$" in s or "\\(" in s or "\\[" in s:
        return True
    bare = _COMMAND_RE.sub(" ", _ENV_RE.sub(" ", s))
    if _PROSE_RE.search(bare):
        return True
    for w in _WORD_RE.findall(bare):
        lw = w.lower()
        if (len(w) >= 3 and lw not in _MATH_WORDS) or lw in _PROSE_SHORT:
            return True
    return False


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


def _values_match(pred: str, gold: str, precision: int | None, tolerance: float | None, timeout) -> bool:
    if normalize_text(pred) == normalize_text(gold):
        return True
    if precision is not None or tolerance is not None:
        a, b = _number(pred, timeout), _number(gold, timeout)
        if a is not None and b is not None:
            tol = tolerance if tolerance is not None else 0.0
            if precision is not None:
                tol = max(tol, 0.5 * 10 ** (-int(precision)))
            return abs(a - b) <= tol + 1e-12
    plain = _plain_numbers_verdict(pred, gold)
    if plain is not None:
        return plain
    return _math_equal(pred, gold, timeout)


def _default_timeout(timeout: int | None) -> int | None:
    # math-verify's alarm only works in the main thread; elsewhere run without (the caller bounds it).
    return timeout if threading.current_thread() is threading.main_thread() else None


def answers_match(
    pred: str | None,
    gold: str | None,
    *,
    choices: Sequence[str] | None = None,
    precision: int | None = None,
    tolerance: float | None = None,
    timeout: int | None = 5,
) -> bool:
    """True when ``pred`` states the same answer as ``gold`` (see the module docstring).

    ``pred`` may be a bare answer or a whole response (its ``<answer>``/``\\boxed{}`` is read).
    ``timeout``: math-verify's per-call limit in seconds (its default, 5); ``None`` disables it
    (caller bounds the time, as the reward runner does).
    """
    if pred is None or gold is None:
        return False
    pred_s, gold_s = _unwrap(str(pred)), _unwrap(str(gold))
    if not pred_s or not gold_s:
        return False
    timeout = _default_timeout(timeout)
    if precision is not None and not isinstance(precision, int):
        precision = int(float(precision))
    if tolerance is not None:
        tolerance = float(tolerance)
    if normalize_text(pred_s) == normalize_text(gold_s):
        return True

    # Multiple choice.
    opts = list(choices) if choices else None
    g_letter = _gold_letter(gold_s, opts)
    p_letter = _choice_letter(pred_s)
    if g_letter is not None:
        if p_letter is not None:
            return p_letter == g_letter
        if opts:
            option = _strip_letter_prefix(opts[_LETTERS.index(g_letter)])
            return _values_match(pred_s, option, precision, tolerance, timeout)
        return False
    if opts:
        if p_letter is not None and _LETTERS.index(p_letter) < len(opts):
            pred_s = _strip_letter_prefix(opts[_LETTERS.index(p_letter)])
            if normalize_text(pred_s) == normalize_text(gold_s):
                return True

    # Yes / no.
    g_yn = _yes_no(gold_s) if normalize_text(gold_s) in _YES | _NO else None
    if g_yn is not None:
        return _yes_no(pred_s) == g_yn

    return _values_match(pred_s, gold_s, precision, tolerance, timeout)


# --------------------------------------------------------------------------- the reward


def _row_choices(row: Mapping) -> tuple[str, ...] | None:
    ch = row.get("choices")
    return tuple(str(c) for c in ch) if ch else None


_MAX_PRED_CHARS = 2000


def accuracy_key(completion: str, row: Mapping) -> tuple | None:
    """Everything the accuracy of ``completion`` depends on, as a small hashable key.

    The runner scores identical keys once and ships only keys (not 200 KB responses) to workers.
    The reference falls back to the whole response when there is no answer; we do the same
    but keep only its last 2,000 characters (math-verify extracts the last answer anyway); an
    extracted answer is capped the same way (no real final answer is that long). A response
    over :func:`~perceptrl.rewards.limits.max_response_chars` is read from its last that many
    characters (the answer is at the end; see :mod:`perceptrl.rewards.limits`).
    ``None`` when the row has no gold answer (reward not applicable).
    """
    gold = row.get("answer")
    if gold is None or str(gold).strip() == "":
        return None
    text = completion or ""
    if over_cap(text):
        text = text[-max_response_chars():]
    pred = extract_answer(text)
    if pred is None:
        pred = text
    pred = pred[-_MAX_PRED_CHARS:]
    return (
        pred,
        str(gold),
        _row_choices(row),
        row.get("precision"),
        row.get("tolerance"),
    )


def score_accuracy_key(key: tuple, timeout: int | None = 5) -> float:
    pred, gold, choices, precision, tolerance = key
    if not pred.strip():
        return 0.0
    ok = answers_match(pred, gold, choices=choices, precision=precision, tolerance=tolerance, timeout=timeout)
    return 1.0 if ok else 0.0


def warmup() -> None:
    """Import math-verify and the sympy modules its comparisons import lazily (simplify, units,
    percentages…), and compile its regexes, once — before the runner forks its workers, so that
    no worker spends its first items importing."""
    pairs = (
        ("\\frac{1}{2}", "0.5"), ("x=3", "3"), ("10\\%", "0.1"), ("1", "10\\%"), ("9\\sqrt{2}", "8\\sqrt{2}"),
        ("x^2 - 1", "(x-1)(x+1)"), ("60^\\circ", "\\frac{\\pi}{3}"), ("(1, 2)", "[1, 2]"), ("x < 2", "x \\le 2"),
        ("2 \\text{ cm}", "2"), ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "(1,2)"), ("\\{1,2\\}", "\\{2,1\\}"),
    )
    for pred, gold in pairs:
        answers_match(pred, gold, timeout=None)
    from sympy import Symbol, simplify, sqrt

    simplify(sqrt(8) - 2 * sqrt(2) + Symbol("x") ** 2 - Symbol("x") * Symbol("x"))


@register_reward("accuracy", heavy=True, key=accuracy_key, score_key=score_accuracy_key, warmup=warmup)
def accuracy_reward(completion: str, row: Mapping) -> float | None:
    """1.0 iff the final answer equals the row's gold ``answer`` (Perception-R1 r_acc); None without gold."""
    key = accuracy_key(completion, row)
    if key is None:
        return None
    return score_accuracy_key(key)
