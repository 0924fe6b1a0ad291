"""Write the hand-made MathVision and WeMath parity sets (``parity_mathvision.jsonl``,
``parity_wemath.jsonl``) for the VLMEvalKit half of ``benchmarks/eval_parity_vlmevalkit.py``.

Same line form as ``build_parity_sets.py`` (``item``, ``response``, ``llm_extraction``, ``cls``).
Items are modelled on real rows: MATH-V golds are letters (options as text, or drawn in the
figure: letters only) or free-form values in LaTeX (``\\frac{1}{2}``, ``3\\sqrt{2}``, ``60^\\circ``);
We-Math items have 2–5 options with numeric or textual content and a letter gold. Responses state
a right, a wrong or a quirky answer in the formats models write. Deterministic.

    python tests/eval/data/build_parity_sets_vlmevalkit.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def vision_item(idx, question, answer, options=None):
    return {"bench": "mathvision", "id": str(idx), "problem": question, "answer": answer, "choices": options,
            "metadata": {"bench": "mathvision", "options": None,
                         "question_type": "multi_choice" if options else "free_form"}}


def letters_item(idx, question, answer, n=5):
    """An item whose options are drawn in the figure (MATH-V: ``["A", …, "E"]``)."""
    opts = list("ABCDE"[:n])
    item = vision_item(idx, question + "\nChoices: " + ", ".join(opts), answer)
    item["metadata"]["options"] = opts
    item["metadata"]["question_type"] = "multi_choice"
    return item


VISION = [
    (vision_item(1, "Which number is on the hidden face?", "B", ["2", "3", "4", "5", "6"]),
     ["B", "3", "(B) 3", "b", "C", "The answer is B"]),
    (letters_item(2, "Which figure shows the view from above?", "D"), ["D", "(D)", "E", "d", "option D"]),
    (vision_item(3, "What is the area of the shaded part?", "\\frac{1}{2}"), ["\\frac{1}{2}", "1/2", "0.5", "\\frac{1}{3}", "0.50"]),
    (vision_item(4, "How long is the diagonal?", "3\\sqrt{2}"), ["3\\sqrt{2}", "3√2", "4.2426", "\\sqrt{18}", "3"]),
    (vision_item(5, "How many triangles are there?", "12"), ["12", "12.0", "twelve", "13", "1,2"]),
    (vision_item(6, "What is the angle x?", "60^\\circ"), ["60^\\circ", "60", "60°", "120^\\circ"]),
    (vision_item(7, "What fraction is coloured?", "2/3"), ["2/3", "\\frac{2}{3}", "0.6667", "0.666666667", "3/2"]),
    (vision_item(8, "Which shape is different?", "A", ["cube", "sphere", "cone", "cylinder", "prism"]),
     ["A", "cube", "Cube", "sphere", "the cube (A)"]),
    (vision_item(9, "What is the total?", "2^3"), ["8", "2^3", "1"]),
]

WEMATH = [
    ({"bench": "wemath", "id": "1|2steps_1", "problem": "What is the area of the rectangle?", "answer": "B",
      "choices": ["12 cm²", "24 cm²", "36 cm²", "48 cm²", "No correct answer"], "metadata": {"bench": "wemath"}},
     ["B", "24 cm²", "B. 24 cm²", "A", "b", "No correct answer"]),
    ({"bench": "wemath", "id": "1|2steps_2", "problem": "Which angle is a right angle?", "answer": "C",
      "choices": ["∠1", "∠2", "∠3", "∠4"], "metadata": {"bench": "wemath"}},
     ["C", "∠3", "(C)", "D", "angle 3"]),
    ({"bench": "wemath", "id": "2|3steps_1", "problem": "Which pair of numbers fits?", "answer": "A",
      "choices": ["300, 400", "400, 300", "300, 300", "No correct answer"], "metadata": {"bench": "wemath"}},
     ["A", "300, 400", "400, 300", "A. 300, 400", "C"]),
    ({"bench": "wemath", "id": "2|3steps_multi", "problem": "How many faces does the solid have?", "answer": "D",
      "choices": ["4", "5", "6", "8"], "metadata": {"bench": "wemath"}},
     ["D", "8", "eight", "6", "The correct answer is D"]),
]


def vision_extraction(stated: str) -> str:
    if stated.startswith("(") and stated[2:3] == ")":
        return stated[1]
    return {"The answer is B": "B", "option D": "D", "twelve": "12", "the cube (A)": "A", "3√2": "3\\sqrt{2}"}.get(stated, stated)


def responses(stated: str):
    yield "bare", stated
    yield "answer_tag", f"<think>Look at the figure and count.</think>\n<answer>{stated}</answer>"
    yield "sentence", f"Comparing the parts of the figure, the answer is {stated}."
    yield "wemath_format", f"<Thought process>: compare the options <Answer>: {stated}"
    yield "markdown", f"**Reasoning:** compare.\n\n**Answer:** {stated}"


def build() -> dict[str, int]:
    counts = {}
    for name, table in (("mathvision", VISION), ("wemath", WEMATH)):
        rows = [{"item": item, "response": resp, "cls": cls, "llm_extraction": vision_extraction(stated)}
                for item, answers in table for stated in answers for cls, resp in responses(stated)]
        (HERE / f"parity_{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        counts[name] = len(rows)
    return counts


if __name__ == "__main__":
    print(build())
