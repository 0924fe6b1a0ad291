"""lmms-eval 0.7.3's answer rules for its reasoning tasks (MathVerse ``compute_score``), restated.

Steps 1-3 of the reasoning tasks in :mod:`perceptrl.eval.harness_lmms`'s docstring: the answer
extraction, the option-letter and relaxed match, then math-verify. Apart from the scorer so the
rules (pure functions, no client) can be read and tested alone.
"""

from __future__ import annotations

import re

def last_boxed_content(text: str) -> str:
    """Content of the last ``\\boxed{…}`` whose braces close, else ``""``."""
    found = ""
    start = text.find("\\boxed{")
    while start != -1:
        depth, i = 0, start + len("\\boxed")
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    found = text[start + len("\\boxed{"):i]
                    break
            i += 1
        start = text.find("\\boxed{", start + 1)
    return found


_TRAILING_NUMBER = re.compile(r"\b(\d+(?:\.\d+)?)\b(?:\s*\.?\s*$)")


def reasoning_extract(response: str) -> str:
    """Step 1: first ``<answer>`` block, else last boxed, else the number ending a line (last first)."""
    m = re.search(r"<answer>(.*?)</answer>", response, re.DOTALL)
    if m:
        return m.group(1)
    boxed = last_boxed_content(response)
    if boxed:
        return boxed
    for line in reversed(response.strip().split("\n")):
        if line.strip():
            n = _TRAILING_NUMBER.search(line)
            if n:
                return n.group(1)
    return ""


def has_answer_format(response: str) -> float:
    """lmms-eval's format score: 1 for think/analysis + answer tags or a box; 0.8 for a long
    solution with math and an extractable answer; else 0 (it gates the judge's second look)."""
    for tag in ("think", "analysis"):
        if re.fullmatch(rf"<{tag}>.*</{tag}>.*<answer>.*</answer>", response, re.DOTALL):
            return 1.0
    if last_boxed_content(response):
        return 1.0
    if len(response.strip()) > 50 and re.search(r"[=+\-*/()\[\]\\]", response) and reasoning_extract(response):
        return 0.8
    return 0.0


_MCQ_LETTERS = "ABCDEFGH"
# phrases after which the first capital option letter counts (lmms-eval's answer-phrase rule)
_ANSWER_PHRASES = (
    "the answer is", "answer is", "the correct answer is", "correct answer is", "the answer", "answer",
    "correct answer", "the correct answer", "the best answer is", "best answer is", "the best answer",
    "best answer", "the option is", "option is", "the correct option is", "correct option is",
    "the choice is", "choice is", "the correct choice is", "correct choice is", "i choose", "i select",
    "i pick", "my answer is", "my choice is",
)
# (mark after the letter, rank): a later-listed rule loses to an earlier one at any position
_MARKS = ((".", 5), (":", 4), (")", 3), (" ", 2), ("-", 1), ("_", 1), ("=", 1))


def option_letter(text: str) -> str:
    """The option letter lmms-eval's reasoning tasks read from ``text`` (``""`` if none).

    Every rule proposes (letter, position, rank); the highest rank wins, and among equal ranks the
    *earliest* position. Ranks: the text starts with a letter 10, ends with one 9, ``1. A`` 8, a
    letter after an answer phrase 7, ``(A)`` 6, ``A.`` 5, ``A:`` 4, ``A)`` 3, ``A `` 2, ``A-``/``A_``/
    ``A=`` 1, any capital A–H anywhere 0 (only when nothing else matched). Positions count in the
    text with ``,.!?;:'"`` stripped from both ends and a space added on each side."""
    if not text or not text.strip():
        return ""
    core = text.strip()
    for ch in ",.!?;:'\"":
        core = core.strip(ch)
    s = f" {core} "
    cands: list[tuple[int, int, str]] = []  # (rank, -position, letter)
    for L in _MCQ_LETTERS:
        if f"({L})" in s:
            cands.append((6, -s.rfind(f"({L})"), L))
        for mark, rank in _MARKS:
            if f"{L}{mark}" in s:
                cands.append((rank, -s.rfind(f"{L}{mark}"), L))
    low = s.lower()
    for phrase in _ANSWER_PHRASES:
        if phrase in low:
            start = low.find(phrase)
            for L in _MCQ_LETTERS:
                pos = s.find(L, start)
                if pos != -1:
                    cands.append((7, -pos, L))
    stripped = s.strip()
    for L in _MCQ_LETTERS:
        if stripped.startswith(L):
            cands.append((10, 0, L))
        if stripped.endswith(L):
            cands.append((9, -(len(s) - 1), L))
    for i, L in enumerate(_MCQ_LETTERS):
        if f"{i + 1}. {L}" in s:
            cands.append((8, -s.rfind(f"{i + 1}. {L}"), L))
    if not cands:
        cands = [(0, -s.rfind(L), L) for L in _MCQ_LETTERS if L in s]
    if not cands:
        return ""
    return max(cands, key=lambda c: (c[0], c[1]))[2]


def _drop_period(s: str) -> str:
    return (s[:-1] if s.endswith(".") else s).strip()


def relaxed_match(pred: str, gold: str, portion: float = 0.9) -> bool:
    """Step 2: option letters when the gold reads as one; else containment at ≥ 90 % length; else equality."""
    g_letter = option_letter(gold)
    if g_letter in _MCQ_LETTERS and g_letter:
        return option_letter(pred).lower().strip() == g_letter.lower().strip()
    if pred in gold and len(pred) >= portion * len(gold):
        return True
    if gold in pred and len(gold) >= portion * len(pred):
        return True
    return pred.strip() == gold.strip()


def math_verify_equal(pred: str, gold: str) -> bool:
    """Step 3: math-verify on the raw strings, gold first; any error is a 0."""
    try:
        from math_verify import parse, verify

        return bool(verify(parse(gold), parse(pred)))
    except Exception:  # noqa: BLE001 - the harness treats every failure as a wrong answer
        return False


def reasoning_rules(response: str, gold: str) -> tuple[bool, str]:
    """Steps 1–3: ``(correct, extracted answer)``."""
    pred = _drop_period(reasoning_extract(response).strip())
    g = _drop_period(str(gold))
    ok = relaxed_match(pred, g) or math_verify_equal(pred, g)
    return ok, pred
