"""Repetition penalty on word n-grams (Perception-R1, docs/methods.md §1).

Words are the lower-cased whitespace-separated tokens of the response;
``r = max_penalty · (1 − unique n-grams / total n-grams)``, 0 when the response has fewer than
``ngram_size`` words. Defaults from the Perception-R1 recipe: 20-grams, ``max_penalty = −2.0``.

Cost: one ``split`` and one set of n-gram tuples, linear in the length (×``ngram_size``). The
registered reward gives a response longer than :func:`~perceptrl.rewards.limits.max_response_chars`
the full ``max_penalty`` without reading it: scoring only a window would let a repetitive head
escape the penalty, and a degenerate response must never gain by growing
(:mod:`perceptrl.rewards.limits`).
"""

from __future__ import annotations

from collections.abc import Mapping

from perceptrl.rewards.limits import over_cap
from perceptrl.rewards.registry import register_reward

__all__ = ["repetition_penalty", "make_repetition_reward"]


def repetition_penalty(text: str, ngram_size: int = 20, max_penalty: float = -2.0) -> float:
    """The penalty of ``text`` (exact on any length; no cap here)."""
    words = (text or "").lower().split()
    if len(words) < ngram_size:
        return 0.0
    total = len(words) - ngram_size + 1
    unique = len(set(zip(*(words[i:] for i in range(ngram_size)))))  # n-grams built in C
    return max_penalty * (1.0 - unique / total) + 0.0  # + 0.0 turns -0.0 into 0.0


def make_repetition_reward(ngram_size: int = 20, max_penalty: float = -2.0):
    """``ngram_size``: words per n-gram (Perception-R1: 20); ``max_penalty``: score when every
    n-gram repeats (Perception-R1: −2.0), and of a response over the cap."""
    if ngram_size < 1 or max_penalty > 0:
        raise ValueError("ngram_size must be >= 1 and max_penalty <= 0")

    def repetition(completion: str, row: Mapping) -> float:
        if over_cap(completion):
            return float(max_penalty)
        return repetition_penalty(completion, ngram_size, max_penalty)

    return repetition


register_reward("repetition", penalty=True, factory=make_repetition_reward)(make_repetition_reward())
