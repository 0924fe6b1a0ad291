"""Judge prompt variants compared by the fidelity benchmark (``benchmarks/judge_fidelity.py``).

* ``ours`` — the default prompt (:mod:`perceptrl.judge.prompt`): answer first, verdict lines only.
* ``per_fact`` — the same prompt with one annotation per request (m requests per response): not a
  template but a way of sending it (:func:`perceptrl.judge.fidelity.ajudge_set` ``per_fact=True``).
* ``reason_first`` — the judge first quotes, for every item, the words of the response that state
  it (or ``none``), then gives the verdict lines. Quoting before deciding is the usual way to make a
  small model look before it answers; it costs ~15 generated tokens per item.

Every variant ends in the same ``<infoK>0|1</infoK>`` lines, read by the same parser, so the
hardening (sanitiser, fence, parser) is identical across variants.
"""

from __future__ import annotations

from perceptrl.judge.prompt import DEFAULT_QUERY, DEFAULT_SYSTEM, JudgeTemplate

_OURS_FORMAT = """\
Reply with exactly one line per item, in order, and nothing else:
<info1>1 or 0</info1>
<info2>1 or 0</info2>
...
"""

_REASON_FORMAT = """\
Reply in two parts, and nothing else.
First, one evidence line per item, in order: "Evidence K:" followed by the shortest quote from the response that states item K, or "none". A quote that states a different value, another object, or a value the response later takes back is not evidence.
Then one verdict line per item, in order:
<info1>1 or 0</info1>
<info2>1 or 0</info2>
...
"""

_REASON_EXAMPLE_ANSWERS = [
    ("<info1>1</info1>\n<info2>1</info2>\n<info3>0</info3>",
     'Evidence 1: "The radius is OA = 5"\nEvidence 2: "OC ⊥ AB"\nEvidence 3: none\n'
     "<info1>1</info1>\n<info2>1</info2>\n<info3>0</info3>"),
    ("<info1>1</info1>\n<info2>1</info2>\n<info3>0</info3>",
     'Evidence 1: "a right angle at B"\nEvidence 2: "hypotenuse AC = 13"\nEvidence 3: none\n'
     "<info1>1</info1>\n<info2>1</info2>\n<info3>0</info3>"),
    ("<info1>1</info1>\n<info2>0</info2>\n<info3>0</info3>",
     'Evidence 1: "AB ∥ CD"\nEvidence 2: none\nEvidence 3: none\n'
     "<info1>1</info1>\n<info2>0</info2>\n<info3>0</info3>"),
]


def _reason_first_system() -> str:
    if _OURS_FORMAT not in DEFAULT_SYSTEM:  # the default prompt changed: rebuild this variant by hand
        raise RuntimeError("the default judge prompt no longer contains its answer-format paragraph")
    text = DEFAULT_SYSTEM.replace(_OURS_FORMAT, _REASON_FORMAT)
    for old, new in _REASON_EXAMPLE_ANSWERS:
        head, sep, tail = text.partition("Answer:\n" + old)
        if not sep:
            raise RuntimeError("the default judge prompt's worked examples changed")
        text = head + "Answer:\n" + new + tail
    return text


REASON_FIRST_QUERY = DEFAULT_QUERY.replace(
    "Answer with {m} lines, <info1> to <info{m}>:", "Answer with {m} evidence lines, then {m} verdict lines:")


def variant(name: str) -> tuple[JudgeTemplate, bool]:
    """``(template, per_fact)`` of a prompt variant."""
    if name == "ours":
        return JudgeTemplate(), False
    if name == "per_fact":
        return JudgeTemplate(), True
    if name == "reason_first":
        return JudgeTemplate(system=_reason_first_system(), query=REASON_FIRST_QUERY), False
    raise ValueError(f"unknown prompt variant {name!r}; use one of {', '.join(VARIANTS)}")


VARIANTS = ("ours", "per_fact", "reason_first")
