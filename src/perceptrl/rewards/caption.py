"""Caption overlap (SATORI-R1, arXiv 2505.19094): ``(BLEU-4 + ROUGE-L F1) / 2`` of the response's
caption against the row's gold ``caption``, both metrics in [0, 1].

The caption is the content of the last ``<caption>…</caption>`` block (tag configurable); a
response without one scores 0; ``None`` when the row has no gold caption. BLEU-4 is sacrebleu's
``sentence_bleu`` (exponential smoothing, its default, so short captions do not collapse to 0);
ROUGE-L is rouge-score's F-measure with stemming.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from perceptrl.rewards.registry import register_reward

__all__ = ["caption_overlap", "make_caption_reward"]


@functools.lru_cache(maxsize=1)
def _rouge():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def caption_overlap(hypothesis: str, reference: str) -> float:
    from sacrebleu.metrics import BLEU

    if not hypothesis.strip() or not reference.strip():
        return 0.0
    bleu = BLEU(effective_order=True).sentence_score(hypothesis, [reference]).score / 100.0
    rouge = _rouge().score(reference, hypothesis)["rougeL"].fmeasure
    return (bleu + rouge) / 2.0


def make_caption_reward(tag: str = "caption"):
    """``tag``: the tag holding the response's caption (SATORI-R1 puts the caption first)."""
    block = re.compile(rf"<{re.escape(tag)}>(.*?)</{re.escape(tag)}>", re.DOTALL)

    def caption(completion: str, row: Mapping) -> float | None:
        gold = row.get("caption")
        if not gold:
            return None
        found = block.findall(completion or "")
        return caption_overlap(found[-1], str(gold)) if found else 0.0

    return caption


register_reward("caption", factory=make_caption_reward)(make_caption_reward())
