"""Prompts of the annotation pipeline (Perception-R1 stage 1), in our own words.

* Chain of thought: the problem rendered exactly as in training (``perceptrl.data.prompt``, the
  Perception-R1 ``<think>``/``<answer>``/``\\boxed{}`` instruction), with the images, sent to a
  multimodal model.
* Extraction: a text-only LLM reads the problem and one *verified* chain of thought and lists the
  visual facts that the solution took from the figure. The rules we give it, and why:

  - only facts read off the image (labels, lengths, angles, counts, colours, positions, relations
    such as parallel/perpendicular/tangent) — not the question's given text, not computed results,
    not the final answer: the perception reward must reward *seeing*, not arithmetic;
  - one atomic fact per item, understandable alone (``AB = 10``, ``angle ABC = 40°``,
    ``GE is perpendicular to DF at point E``) — atomic items make presence judgeable;
  - ``name = value`` form for measured values, as short as possible;
  - at most ``max_facts`` items, most important first; none if the solution used no visual fact;
  - output only ``<info1>…</info1>`` lines — the Perception-R1 ``visual_key_info`` format.
"""

from __future__ import annotations

EXTRACTION_SYSTEM = """\
You turn a worked solution of a math problem about a figure into a list of visual facts.

A visual fact is something the solution read off the figure: a label, a length, an angle, a count, a colour, a position, or a relation such as parallel, perpendicular, tangent, midpoint or bisector.

Rules:
1. List only facts taken from the figure. Do not list facts that are only stated in the question text, results the solution computed, or the final answer.
2. One atomic fact per item, understandable on its own, e.g. "AB = 10", "angle ABC = 40°", "GE is perpendicular to DF at point E".
3. Write measured values as "name = value", as short as possible.
4. At most {max_facts} items, the most important first. If the solution used no visual fact, output nothing.
5. Output only lines of the form <info1>fact</info1>, <info2>fact</info2>, ... and nothing else.
"""

EXTRACTION_QUERY = """\
Question:
{problem}

Solution:
{cot}

Visual facts:"""


def extraction_messages(problem: str, cot: str, *, max_facts: int = 8) -> list[dict]:
    """Messages for the extraction LLM (static system message first: prefix caches hit)."""
    system = EXTRACTION_SYSTEM.replace("{max_facts}", str(max_facts))
    user = EXTRACTION_QUERY.replace("{problem}", problem).replace("{cot}", cot)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
