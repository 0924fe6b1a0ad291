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

Steps 1-3 read the answer's form (:mod:`perceptrl.rewards.answer_forms`), step 5 is
:mod:`perceptrl.rewards.math_equal`; this module chains them and is the reward.

math-verify turns LaTeX into sympy with its own parser (no ``eval`` of the input; its plain
expression branch only ever sees digits and operators). Nothing here evaluates a raw string.
math-verify bounds its own work with ``signal.alarm`` (``timeout`` seconds, main thread only);
:mod:`perceptrl.rewards.runner` instead runs this in worker processes with its own timer and
passes ``timeout=None``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from perceptrl.rewards.answer import extract_answer
from perceptrl.rewards.answer_forms import (
    _LETTERS,
    _NO,
    _YES,
    _choice_letter,
    _gold_letter,
    _strip_letter_prefix,
    _unwrap,
    _yes_no,
    normalize_text,
)
from perceptrl.rewards.limits import max_response_chars, over_cap
from perceptrl.rewards.math_equal import _math_equal, _number, _plain_numbers_verdict
from perceptrl.rewards.registry import register_reward

__all__ = [
    "answers_match",
    "accuracy_reward",
    "accuracy_key",
    "score_accuracy_key",
    "normalize_text",
]


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
