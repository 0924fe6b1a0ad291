"""How much of a response the rewards read: one character cap for the whole rewards path.

A trainer stops generating at its maximum completion length (Perception-R1: 4,096 tokens), so a
completion it hands to the rewards is never longer than that many tokens. Qwen2.5's tokenizer
averages about 3–4.5 characters per token on chain-of-thought text; the default cap,
``DEFAULT_MAX_RESPONSE_CHARS = 65,536`` characters, is 4,096 tokens × 16 characters — four times
the longest legitimate reference response, or 8,192 tokens at a generous 8 characters per token.
A longer response cannot come from a correctly configured trainer: it is a degenerate generation
or an offline input built to stall the reward path. What such a response scores is the **floor of
each term**, so that being long never pays:

* ``format`` (every pattern): 0, without scanning;
* ``repetition``: its ``max_penalty`` (−2.0), without scanning (scoring only a window would let a
  repetitive head escape the penalty);
* ``accuracy``: read from the **last** ``max_response_chars()`` characters (the final answer is at
  the end), so a long legitimate answer is still graded; with format 0 and repetition at its
  floor such a response totals at most 0.9 − 2.0 = −1.1 without the judge, no more than any
  response under the cap with the same answer;
* ``perception``: 0 without a judge request (counted as ``judge/over_cap``): the judge's prompt
  would be longer than the response, and nothing is to be gained from paying for its tokens;
* length rewards need no cap: they are one linear pass and a longer response is never paid more.

``perceptrl train`` sets the cap to ``max(65,536, 16 × max_completion_length)`` unless
``$PERCEPTRL_MAX_RESPONSE_CHARS`` is set (:func:`perceptrl.train.rewards_setup.apply_response_cap`).

The pure functions (:func:`~perceptrl.rewards.format.format_ok`,
:func:`~perceptrl.rewards.repetition.repetition_penalty`,
:func:`~perceptrl.rewards.answer.extract_answer`) are exact on any length and linear in it; the
registered rewards apply the cap.

Raise the cap when training with longer completions (set it to about 8 × ``max_completion_length``):
``set_max_response_chars(n)`` in the process that scores (the reward runner's parent: the keys and
light rewards are computed there), or the environment variable ``PERCEPTRL_MAX_RESPONSE_CHARS``.
The first over-cap response of a process logs a warning naming both.
"""

from __future__ import annotations

import logging
import os

from perceptrl.errors import PerceptrlError

__all__ = ["DEFAULT_MAX_RESPONSE_CHARS", "ENV_VAR", "max_response_chars", "set_max_response_chars", "over_cap"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_RESPONSE_CHARS = 65_536
ENV_VAR = "PERCEPTRL_MAX_RESPONSE_CHARS"

_override: int | None = None
_warned = False


def _valid(n: object, where: str) -> int:
    try:
        value = int(str(n).strip())
    except ValueError:
        value = 0
    if value < 1:
        raise PerceptrlError(f"the response character cap must be a positive integer, got {n!r}", where=where,
                             fix=f"set it to about 8 x your max_completion_length (default {DEFAULT_MAX_RESPONSE_CHARS})")
    return value


def max_response_chars() -> int:
    """The cap in characters: :func:`set_max_response_chars`, else ``$PERCEPTRL_MAX_RESPONSE_CHARS``,
    else :data:`DEFAULT_MAX_RESPONSE_CHARS`."""
    if _override is not None:
        return _override
    env = os.environ.get(ENV_VAR)
    if env:
        return _valid(env, ENV_VAR)
    return DEFAULT_MAX_RESPONSE_CHARS


def set_max_response_chars(n: int | None) -> None:
    """Set the cap for this process (``None``: back to the environment variable / default)."""
    global _override
    _override = None if n is None else _valid(n, "set_max_response_chars")


def over_cap(text: str | None) -> bool:
    """Whether ``text`` is longer than the cap (the first time in a process, logs a warning)."""
    global _warned
    if text is None or len(text) <= max_response_chars():
        return False
    if not _warned:
        _warned = True
        logger.warning(
            "a response of %d characters is over the rewards' cap of %d: it scores format 0 and the maximum "
            "repetition penalty, and its accuracy is read from its last %d characters. If your completions "
            "are legitimately this long, raise the cap (about 8 x max_completion_length) with %s or "
            "perceptrl.rewards.limits.set_max_response_chars()",
            len(text), max_response_chars(), max_response_chars(), ENV_VAR,
        )
    return True
