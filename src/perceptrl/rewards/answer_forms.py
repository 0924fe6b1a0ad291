"""The forms a final answer takes, read without a math parser: light text normalisation (``$``,
``\\text{}``, spaces, case, trailing period), multiple-choice letters (``B``, ``(B)``, ``B. 8/11``,
``Option B``), yes/no, whether an answer is prose rather than math, and the ``\\boxed{}`` wrap
math-verify needs (steps 1-3 of :func:`perceptrl.rewards.accuracy.answers_match`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from perceptrl.rewards.answer import extract_answer

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


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
