"""Format rewards: 1.0 when the response has the required shape, else 0.0.

Three patterns (tags configurable through ``make_format_reward``):

* ``strict_newlines`` — Perception-R1's reference pattern (docs/methods.md §1), the whole response is
  ``<think>\\n…\\n</think>\\n<answer>\\n…\\boxed{…}…\\n</answer>`` (surrounding whitespace ignored).
  Each ``\\n`` is its own character: ``<think>\\n</think>`` (one newline serving both sides) does not
  match, ``<think>\\n\\n</think>`` (an empty thought) does, as with the reference's
  ``\\n.*?\\n``;
* ``think_answer`` — ``<think>…</think>`` then ``<answer>…</answer>``, any whitespace between;
* ``think_boxed`` — ``<think>…</think>`` then text containing a complete ``\\boxed{…}`` (EasyR1's
  math format).

The box a pattern requires is written exactly as the prompt asks, ``\\boxed{…}`` with something in
it (:func:`~perceptrl.rewards.answer.has_strict_box`, the reference's ``\\boxed{.+?}``):
``\\boxed{}``, ``\\boxed{ }``, ``\\boxed {3}``, ``\\boxed 3`` and ``\\fbox{3}`` get no format reward —
the reference rejects them too, and a format reward exists to reward following the instruction.
(The *accuracy* reward still reads ``3`` from the last three: it grades the answer, not the
typography.) The group must also close: ``\\boxed{\\frac{1}{2}`` is not a box (the reference's
lazy ``.+?}`` would accept it).

Each tag must occur exactly once (a response repeating ``<think>`` blocks does not get the
format reward). Implemented with ``str.find``/``str.count`` and the one-pass box scanner rather
than a backtracking regex, so the check is linear in the length of the response. The registered
rewards score a response longer than :func:`~perceptrl.rewards.limits.max_response_chars` 0
without reading it (:mod:`perceptrl.rewards.limits`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from perceptrl.rewards.answer import has_strict_box
from perceptrl.rewards.limits import over_cap
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
    """Whether ``completion`` has the shape ``pattern`` (see the module docstring). Exact on any length."""
    s = (completion or "").strip()
    to, tc = f"<{think_tag}>", f"</{think_tag}>"
    ao, ac = f"<{answer_tag}>", f"</{answer_tag}>"
    if s.count(to) != 1 or s.count(tc) != 1:
        return False
    if pattern == "think_boxed":
        end = s.find(tc)
        return s.startswith(to) and has_strict_box(s[end + len(tc) :])
    if s.count(ao) != 1 or s.count(ac) != 1:
        return False
    if pattern == "think_answer":
        end = s.find(tc)
        rest = s[end + len(tc) :].lstrip()
        return s.startswith(to) and rest.startswith(ao) and rest.endswith(ac)
    if pattern == "strict_newlines":
        head, mid, tail = to + "\n", f"\n{tc}\n{ao}\n", "\n" + ac
        if not (s.startswith(head) and s.endswith(tail)):
            return False
        cut = s.find(mid)
        # The thought's closing "\n" must come after the opening "<think>\n": cut >= len(head).
        # (cut == len(to) is "<think>\n</think>", one newline shared by both sides.)
        if cut < len(head):
            return False
        answer = s[cut + len(mid) : len(s) - len(tail)]
        return has_strict_box(answer)
    raise ValueError(f"unknown format pattern {pattern!r}")


def make_format_reward(pattern: Pattern = "strict_newlines", think_tag: str = "think", answer_tag: str = "answer"):
    """A format reward for ``pattern`` with the given tag names (0 over the response cap)."""
    if pattern not in ("strict_newlines", "think_answer", "think_boxed"):
        raise ValueError(f"unknown format pattern {pattern!r}; use strict_newlines, think_answer or think_boxed")

    def format_reward(completion: str, row: Mapping) -> float:
        if over_cap(completion):
            return 0.0
        return 1.0 if format_ok(completion, pattern, think_tag=think_tag, answer_tag=answer_tag) else 0.0

    format_reward.__name__ = f"format_{pattern}"
    return format_reward


# "format" defaults to the Perception-R1 pattern; the others are registered under their own names.
register_reward("format", factory=make_format_reward)(make_format_reward("strict_newlines"))
for _p in ("strict_newlines", "think_answer", "think_boxed"):
    register_reward(_p, factory=lambda _p=_p, **kw: make_format_reward(_p, **kw))(make_format_reward(_p))
