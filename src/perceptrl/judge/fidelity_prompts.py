"""Judge prompt variants compared by the fidelity benchmark (``benchmarks/judge_fidelity.py``).

* ``ours`` — the default prompt (:mod:`perceptrl.judge.prompt`), whose answer format follows the
  decoding (``JudgeConfig.constrained``): verdicts only (tags or JSON: answer first), or, with
  ``json_reasoning``, a bounded reasoning string before the verdicts (reason first, constrained).
* ``per_fact`` — the same prompt with one annotation per request (m requests per response): not a
  template but a way of sending it (:func:`perceptrl.judge.fidelity.run.ajudge_set` ``per_fact=True``).
* ``reason_first`` — for free or grammar-free decoding: the judge first quotes, for every item, the
  words of the response that state it (or ``none``), then gives the verdict lines (tags only: use
  it with ``constrained="off"``). Quoting before deciding is the usual way to make a
  small model look before it answers; it costs ~15 generated tokens per item.

Every variant's verdicts are read by the same parser, and the response is sanitised and shown the
same way, so the hardening is identical across variants.
"""

from __future__ import annotations

from perceptrl.judge.prompt import _EXAMPLES, _FORMAT, JudgeTemplate, default_system, format_answer

_REASON_FORMAT = """\
Reply in two parts, and nothing else.
First, one evidence line per item, in order: "Evidence K:" followed by the shortest quote from the response that states item K, or "none". A quote that states a different value, another object, or a value the response later takes back is not evidence.
Then one verdict line per item, in order:
<info1>1 or 0</info1>
<info2>1 or 0</info2>
...
"""

# evidence lines of the default prompt's worked examples, in order
_EVIDENCE = [
    ['"The radius is OA = 5"', '"OC ⊥ AB"', "none"],
    ['"a right angle at B"', '"hypotenuse AC = 13"', "none"],
    ['"AB ∥ CD"', "none", "none"],
]


def reason_first_system() -> str:
    """The default (hardened, tags) system message with the evidence-then-verdicts format and the
    worked examples answered that way."""
    text = default_system("tags", True)
    if _FORMAT["tags"] not in text or len(_EXAMPLES) != len(_EVIDENCE):
        raise RuntimeError("the default judge prompt changed: update perceptrl.judge.fidelity_prompts")
    text = text.replace(_FORMAT["tags"], _REASON_FORMAT)
    for (_, _, verdicts, _), ev in zip(_EXAMPLES, _EVIDENCE):
        old = "Answer:\n" + format_answer("tags", verdicts) + "\n"
        if old not in text:
            raise RuntimeError("the default judge prompt's worked examples changed")
        lines = "".join(f"Evidence {k}: {e}\n" for k, e in enumerate(ev, 1))
        text = text.replace(old, "Answer:\n" + lines + format_answer("tags", verdicts) + "\n", 1)
    return text


REASON_FIRST_QUERY = ("Visual Key Information:\n{annotations}\nResponse:\n{response}\n"
                      "Answer with {m} evidence lines, then {m} verdict lines:\n")


def variant(name: str) -> tuple[JudgeTemplate, bool]:
    """``(template, per_fact)`` of a prompt variant."""
    if name == "ours":
        return JudgeTemplate(), False
    if name == "per_fact":
        return JudgeTemplate(), True
    if name == "reason_first":
        return JudgeTemplate(system=reason_first_system(), query=REASON_FIRST_QUERY), False
    raise ValueError(f"unknown prompt variant {name!r}; use one of {', '.join(VARIANTS)}")


VARIANTS = ("ours", "per_fact", "reason_first")
