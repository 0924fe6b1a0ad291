"""Rule-cascade scoring of one response against its item (docs/eval-protocols.md, "greedy + rules" / "avg@k").

Cascade:

1. the answer: ``<answer>…</answer>`` content, else the last ``\\boxed{}``, else an "answer is …"
   phrase (:func:`perceptrl.rewards.answer.extract_answer`), else the last option letter (when
   the item has options) or the last number in the response;
2. benchmark rules on that answer: MathVista strips the item's ``unit`` (``5 cm`` → ``5``);
3. :func:`perceptrl.rewards.accuracy.answers_match`: exact match after normalisation, option
   letter ↔ option text (so MathVision/WeMath/MathVerse accept the letter *or* the text),
   yes/no, numeric precision from the row (MathVista ``precision`` = decimal places:
   ``|pred − gold| ≤ 0.5·10^−precision``), then math-verify with the gold wrapped in ``\\boxed{}``;
   a free-form gold written as a sentence or with units (MathVerse ``Area $=9 \\pi \\mathrm{cm}^{2}$``)
   also matches the value it states (:mod:`perceptrl.eval.gold`).

Guards against false positives found by comparing with lmms-eval (issue 16), applied before the
shared matcher:

* MathVista golds are option *texts*; they are turned into their letter first, so an option text
  that looks like a letter (options ``["B", "A"]``, gold ``"A"``) is not confused with letter A;
* a bare lower-case letter (``b``) is a variable, not option B;
* a prediction that states several values (``3 and 5``) does not match a single-number gold
  (math-verify keeps only the last number of such prose);
* a multi-letter gold (``C\nD``, ``C, D``) matches the same *set* of letters, nothing less;
* a prediction that is word for word one option's text is that option (found against VLMEvalKit:
  ``400, 300`` matched the gold option ``300, 400`` as the same set of numbers although it is
  option B's text).

Extraction also reads We-Math's ``<Answer>: <B>`` (an open tag, no closing one; found against
VLMEvalKit), a final ``Answer: …`` line (``**Answer:** B``, ``Final answer: 12.``), a
bare option text (``… it is a quarter.``) when the item has options and no letter is found, and
takes a short one-line response whole (``yes``, ``S 23.5°W``) before falling back to its last
number.

Items reach the scorer as plain dicts (``items.jsonl`` of a run), so stored runs can be rescored
without the benchmark files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from perceptrl.eval.gold import bare_value, gold_variants
from perceptrl.rewards.accuracy import answers_match
from perceptrl.rewards.answer import extract_answer

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NUMBER_RE = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?|-?\.\d+")


def item_options(item: Mapping[str, Any]) -> list[str] | None:
    """Options of an item: its ``choices``, else options parsed from its text (``metadata.options``)."""
    opts = item.get("choices") or (item.get("metadata") or {}).get("options")
    return [str(o) for o in opts] if opts else None


_SHORT_ANSWER_CHARS = 32


def _last_option_text(response: str, options: list[str]) -> str | None:
    """The option text named last in the response (whole words, case-insensitive); numeric options
    are left to the number fallback (a number in the working is no answer)."""
    best: tuple[int, str] | None = None
    for opt in options:
        t = opt.strip()
        if not t or _NUMBER_RE.fullmatch(t):
            continue
        hits = [m.start() for m in re.finditer(rf"(?<![A-Za-z0-9]){re.escape(t)}(?![A-Za-z0-9])", response, re.IGNORECASE)]
        if hits and (best is None or hits[-1] > best[0]):
            best = (hits[-1], t)
    return best[1] if best else None


def _fallback_answer(response: str, options: list[str] | None) -> str | None:
    """Last option letter, else the option text named last (items with options); else a short
    one-line response taken whole (``yes``, ``S 23.5°W``); else the last number."""
    if options:
        letters = _LETTERS[: len(options)]
        hits = re.findall(rf"(?:\(([{letters}])\)|\b([{letters}])\b(?=\s*(?:[.):,]|$)))", response)
        if hits:
            a, b = hits[-1]
            return a or b
        text = _last_option_text(response, options)
        if text is not None:
            return text
    short = response.strip()
    if short and "\n" not in short and len(short) <= _SHORT_ANSWER_CHARS and "=" not in short and len(short.split()) <= 3:
        return short.rstrip(".").strip()
    nums = _NUMBER_RE.findall(response)
    return nums[-1].replace(",", "") if nums else None


# a final "Answer: …" line, as chat models write it in markdown ("**Answer:** B", "Final answer: 12.")
_ANSWER_LINE = re.compile(r"^[\s*#_>-]*(?:final\s+)?answer\s*[*_]*\s*[:：]\s*[*_]*\s*(.+?)\s*$",
                          re.IGNORECASE | re.MULTILINE)


def _answer_line(response: str) -> str | None:
    hits = _ANSWER_LINE.findall(response)
    if not hits:
        return None
    ans = re.sub(r"^[*_]+|[*_]+$", "", hits[-1]).strip().rstrip(".").strip()
    return ans or None


def extract_prediction(response: str, item: Mapping[str, Any]) -> tuple[str | None, str]:
    """``(answer, how)`` with ``how`` in ``answer_tag | boxed | phrase | answer_line | fallback | none``."""
    ans = extract_answer(response)
    if ans is not None:
        how = "answer_tag" if "<answer>" in response.lower() else "boxed" if "\\boxed" in response or "\\fbox" in response else "phrase"
        if how == "phrase":  # markdown emphasis around a phrase answer ("**Answer:** B" reads as "** B")
            ans = re.sub(r"^[*_\s]+|[*_\s]+$", "", ans)
        elif how == "answer_tag" and "</answer>" not in response.lower():
            # We-Math's requested format "<Thought process>: … <Answer>: <B>" has no closing tag
            ans = re.sub(r"^[\s:：]+|\s+$", "", ans)
            ans = re.sub(r"^<+\s*(.*?)\s*>+$", r"\1", ans, flags=re.DOTALL)
        if ans:
            return ans, how
    ans = _answer_line(response or "")
    if ans is not None:
        return ans, "answer_line"
    ans = _fallback_answer(response or "", item_options(item))
    return (ans, "fallback") if ans is not None else (None, "none")


def strip_unit(pred: str, unit: str | None) -> str:
    """Remove a trailing unit (MathVista ``unit``) from a numeric answer: ``5 cm^2`` → ``5``."""
    if not unit:
        return pred
    u = re.escape(unit.strip())
    pattern = rf"\s*(?:\\text\{{\s*{u}\s*\}}|\\mathrm\{{\s*{u}\s*\}}|{u})(?:\^\{{?[23]\}}?|[²³])?\s*\.?$"
    out = re.sub(pattern, "", pred.strip())
    return out if out else pred


_BARE_LOWER_LETTER = re.compile(r"^\(?[a-z]\)?\.?$")
_LETTER_SET = re.compile(r"^\(?[A-Z]\)?(?:\s*(?:,|;|\n|\band\b|\s)\s*\(?[A-Z]\)?)+$")
_VALUE = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# two or more values listed in prose: "3 and 5", "3, 5", "3 or 5", "3; 5" (not "1,000", not "3+5")
_SEVERAL_VALUES = re.compile(rf"{_VALUE}(?:\s*(?:,\s+|;|\band\b|\bor\b)\s*{_VALUE})+")


def _letters(s: str) -> list[str]:
    return re.findall(r"[A-Z]", s)


def _several_values(pred: str) -> bool:
    """The prediction lists two or more different numbers (and the gold is one number)."""
    t = re.sub(r"\$|\\text\{[^{}]*\}", " ", pred)
    if re.search(r"[\[\](){}]", t):  # a list, tuple or interval is the matcher's to compare
        return False
    found = [m.group(0) for m in re.finditer(_SEVERAL_VALUES, t)]
    if not found:
        return False
    nums = {n.replace(",", "") for n in re.findall(_VALUE, found[-1].replace(", ", " , "))}
    return len(nums) > 1


def _words(s: str) -> str:
    return " ".join(s.lower().split())


def _pre_verdict(pred: str, gold: str, options: list[str] | None) -> bool | None:
    """Cases decided before the shared matcher (the false positives in the module doc)."""
    p = pred.strip()
    if options and _BARE_LOWER_LETTER.match(p):  # "b" is a variable, unless an option's text is "b"
        text = p.strip("().")
        hits = [_LETTERS[i] for i, o in enumerate(options) if o.strip() == text]
        return bool(hits) and (gold.strip() in hits or gold.strip() == text)
    g = gold.strip()
    if options and not re.fullmatch(r"\(?[A-Za-z]\)?\.?", p):
        same = [i for i, o in enumerate(options) if _words(o) == _words(p)]
        if len(same) == 1:  # word for word one option's text: that option, right or wrong
            return g == _LETTERS[same[0]] or _words(g) == _words(options[same[0]])
    if _LETTER_SET.match(g) and len(_letters(g)) > 1:
        return _LETTER_SET.match(p) is not None and sorted(set(_letters(p))) == sorted(set(_letters(g)))
    if re.fullmatch(_VALUE, g.replace(" ", "")) and _several_values(p):
        return False
    return None


def score_response(response: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """Score one response: ``{"correct": bool, "pred": str | None, "extracted_by": str}``."""
    meta = item.get("metadata") or {}
    pred, how = extract_prediction(response or "", item)
    if pred is None:
        return {"correct": False, "pred": None, "extracted_by": how}
    if meta.get("bench") == "mathvista" or meta.get("unit"):
        pred = strip_unit(pred, meta.get("unit"))
    precision = meta.get("precision")
    options = item_options(item)
    # A free-form gold written as a sentence or with units ("Area $=9 \\pi \\mathrm{cm}^{2}$") is
    # compared by the value it states (perceptrl.eval.gold): math-verify on the whole sentence
    # both rejects the right "9\\pi" and accepts the wrong "9". Multiple-choice golds are letters
    # or option texts and stay as they are.
    gold = str(item["answer"])
    if options and meta.get("bench") == "mathvista" and gold in options:
        gold = _LETTERS[options.index(gold)]  # the option's letter: "A" as option text is not letter A
    variants = [gold] if options else gold_variants(gold)
    pre = _pre_verdict(pred, variants[-1], options)
    if pre is not None:
        ok = pre
    elif len(variants) > 1 and pred.strip() == gold.strip():
        ok = True
    else:
        ok = answers_match(
            pred,
            variants[-1],
            choices=options,
            precision=int(precision) if precision is not None else None,
            tolerance=meta.get("tolerance"),
        )
    if not ok and pre is None and options:
        ok = _matches_option_value(pred, variants[-1], options, precision, meta.get("tolerance"))
    return {"correct": bool(ok), "pred": pred, "extracted_by": how}


def _matches_option_value(pred: str, gold: str, options: list[str], precision, tolerance) -> bool:
    """A value answer to a letter gold, compared by the values the options state: option texts
    carry units (``0.5cm2``, ``5 cm``) that the matcher would read as part of the value, and a
    bare number must not match the last number of an option. Right only when the prediction's
    value equals the gold option's value and no other option's."""
    g = gold.strip().strip("().")
    if not (len(g) == 1 and g in _LETTERS[: len(options)]) or re.fullmatch(r"\(?[A-Za-z]\)?\.?", pred.strip()):
        return False
    value = bare_value(pred)
    hits = [i for i, o in enumerate(options)
            if answers_match(value, bare_value(o), precision=int(precision) if precision is not None else None,
                             tolerance=tolerance)]
    return hits == [_LETTERS.index(g)]
