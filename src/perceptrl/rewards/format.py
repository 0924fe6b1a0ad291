"""Format rewards: 1.0 when the response has the required shape, else 0.0.

Three patterns (tags configurable through ``make_format_reward``):

* ``strict_newlines`` — Perception-R1's reference pattern (METHODS.md §1), the whole response is
  ``<think>\\n…\\n</think>\\n<answer>\\n…\\boxed{…}…\\n</answer>`` (surrounding whitespace ignored);
* ``think_answer`` — ``<think>…</think>`` then ``<answer>…</answer>``, any whitespace between;
* ``think_boxed`` — ``<think>…</think>`` then text containing a complete ``\\boxed{…}`` (EasyR1's
  math format).

Each tag must occur exactly once (a response repeating ``<think>`` blocks does not get the
format reward). Implemented with ``str.find`` rather than a backtracking regex so that a 200 KB
response costs linear time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from perceptrl.rewards.answer import last_boxed
from perceptrl.rewards.registry import register_reward

__all__ = ["make_format_reward", "format_ok"]

Pattern = Literal["strict_newlines", "think_answer", "think_boxed"]


def format_ok(
    completion: str,
    pattern: Pattern = "strict_newlines",
    *,
    think_tag: str = "think",
    answer_tag: str = "answer",
) -> bool:
    """Whether ``completion`` has the shape ``pattern`` (see the module docstring)."""
    s = (completion or "").strip()
    to, tc = f"<{think_tag}>", f"</{think_tag}>"
    ao, ac = f"<{answer_tag}>", f"</{answer_tag}>"
    if s.count(to) != 1 or s.count(tc) != 1:
        return False
    if pattern == "think_boxed":
        end = s.find(tc)
        return s.startswith(to) and last_boxed(s[end + len(tc) :]) is not None
    if s.count(ao) != 1 or s.count(ac) != 1:
        return False
    if pattern == "think_answer":
        end = s.find(tc)
        rest = s[end + len(tc) :].lstrip()
        return s.startswith(to) and rest.startswith(ao) and rest.endswith(ac)
    if pattern == "strict_newlines":
        mid = f"\n{tc}\n{ao}\n"
        if not (s.startswith(to + "\n") and s.endswith("\n" + ac)):
            return False
        cut = s.find(mid)
        if cut < len(to):  # also rejects "<think>\n</think>…" sharing the newline
            return False
        answer = s[cut + len(mid) : len(s) - len(ac) - 1]
        return last_boxed(answer) is not None
    raise ValueError(f"unknown format pattern {pattern!r}")


def make_format_reward(pattern: Pattern = "strict_newlines", think_tag: str = "think", answer_tag: str = "answer"):
    """A format reward for ``pattern`` with the given tag names."""
    if pattern not in ("strict_newlines", "think_answer", "think_boxed"):
        raise ValueError(f"unknown format pattern {pattern!r}; use strict_newlines, think_answer or think_boxed")

    def format_reward(completion: str, row: Mapping) -> float:
        return 1.0 if format_ok(completion, pattern, think_tag=think_tag, answer_tag=answer_tag) else 0.0

    format_reward.__name__ = f"format_{pattern}"
    return format_reward


# "format" defaults to the Perception-R1 pattern; the others are registered under their own names.
register_reward("format", factory=make_format_reward)(make_format_reward("strict_newlines"))
for _p in ("strict_newlines", "think_answer", "think_boxed"):
    register_reward(_p, factory=lambda _p=_p, **kw: make_format_reward(_p, **kw))(make_format_reward(_p))
