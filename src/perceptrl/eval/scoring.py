"""Rule-cascade scoring of one response against its item (EVAL.md, "greedy + rules" / "avg@k").

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

Items reach the scorer as plain dicts (``items.jsonl`` of a run), so stored runs can be rescored
without the benchmark files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from perceptrl.eval.gold import gold_variants
from perceptrl.rewards.accuracy import answers_match
from perceptrl.rewards.answer import extract_answer

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NUMBER_RE = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?|-?\.\d+")


def item_options(item: Mapping[str, Any]) -> list[str] | None:
    """Options of an item: its ``choices``, else options parsed from its text (``metadata.options``)."""
    opts = item.get("choices") or (item.get("metadata") or {}).get("options")
    return [str(o) for o in opts] if opts else None


def _fallback_answer(response: str, options: list[str] | None) -> str | None:
    """Last option letter (when the item has options) or last number of a free response."""
    if options:
        letters = _LETTERS[: len(options)]
        hits = re.findall(rf"(?:\(([{letters}])\)|\b([{letters}])\b(?=\s*(?:[.):,]|$)))", response)
        if hits:
            a, b = hits[-1]
            return a or b
    nums = _NUMBER_RE.findall(response)
    return nums[-1].replace(",", "") if nums else None


def extract_prediction(response: str, item: Mapping[str, Any]) -> tuple[str | None, str]:
    """``(answer, how)`` with ``how`` in ``answer_tag | boxed | phrase | fallback | none``."""
    ans = extract_answer(response)
    if ans is not None:
        how = "answer_tag" if "<answer>" in response.lower() else "boxed" if "\\boxed" in response or "\\fbox" in response else "phrase"
        return ans, how
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
    variants = [gold] if options else gold_variants(gold)
    if len(variants) > 1 and pred.strip() == gold.strip():
        ok = True
    else:
        ok = answers_match(
            pred,
            variants[-1],
            choices=options,
            precision=int(precision) if precision is not None else None,
            tolerance=meta.get("tolerance"),
        )
    return {"correct": bool(ok), "pred": pred, "extracted_by": how}
