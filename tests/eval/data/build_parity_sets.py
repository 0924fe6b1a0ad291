"""Write the hand-made parity sets (``parity_mathvista.jsonl``, ``parity_mathverse.jsonl``).

Each line is one stored response to one item, in the form a run keeps them (``item`` as in
``items.jsonl``), plus ``llm_extraction`` (MathVista: what the extraction LLM answers for a
response the rules do not decide; both harnesses are given this same string, so agreement measures
the rules and the normalisation, not two LLMs) and ``cls`` (the format class, for the report).

Items are modelled on real testmini rows (question types, answer types, precisions, option texts,
MathVerse golds with names and units, ``Choice:`` headers, multi-letter golds); responses state a
right, a wrong or a quirky answer (``2.5`` for an integer, ``1,000``, ``[1,2,3]``, a lower-case
letter, a bare option text) in the formats models write (bare, ``<answer>`` tags, ``\\boxed{}``,
a sentence, a letter with its text). Deterministic: rerun to regenerate.

    python tests/eval/data/build_parity_sets.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
L = "ABCDEFGH"


def vista_item(pid, question, answer, *, choices=None, answer_type=None, precision=None, unit=None):
    qtype = "multi_choice" if choices else "free_form"
    atype = answer_type or ("text" if choices else "integer")
    hint = {
        "text": "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.",
        "integer": "Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3, at the end.",
        "float": f"Hint: Please answer the question requiring a floating-point number with {'one decimal place' if precision == 1 else 'two decimal places'} and provide the final value, e.g., 1.2, 1.3, 1.4, at the end.",
        "list": "Hint: Please answer the question requiring a Python list as an answer and provide the final list, e.g., [1, 2, 3], [1.2, 1.3, 1.4], at the end.",
    }[atype]
    query = f"{hint}\nQuestion: {question}" + (f" (Unit: {unit})" if unit else "")
    if choices:
        query += "\nChoices:\n" + "\n".join(f"({L[i]}) {c}" for i, c in enumerate(choices))
    return {"bench": "mathvista", "id": str(pid), "problem": query, "answer": answer, "choices": None,
            "metadata": {"bench": "mathvista", "options": choices, "question_type": qtype, "answer_type": atype,
                         "precision": precision, "unit": unit}}


# (item, stated answers); a stated answer is (text, extraction the LLM gives, class)
VISTA = [
    (vista_item(1, "What fraction of the shape is blue?", "8/11", choices=["3/11", "8/11", "6/11", "3/5"]),
     ["B", "A", "8/11", "b", "6/11"]),
    (vista_item(2, "Which coin is the largest?", "quarter", choices=["penny", "nickel", "dime", "quarter"]),
     ["D", "quarter", "dime", "Quarter"]),
    (vista_item(3, "Which label marks the longest side?", "A", choices=["B", "A", "C", "D"]),
     ["B", "A", "(B)", "C"]),
    (vista_item(4, "Is the number of red cubes greater than the number of green spheres?", "Yes", choices=["Yes", "No"]),
     ["A", "Yes", "yes", "No"]),
    (vista_item(5, "Is the function even or odd?", "even", choices=["odd", "even", "neither"]),
     ["B", "even", "Even", "odd"]),
    (vista_item(6, "What is the value of the smallest bar?", "2", answer_type="integer"),
     ["2", "2.5", "2.0", "3", "two"]),
    (vista_item(7, "How many people were surveyed in total?", "1000", answer_type="integer"),
     ["1000", "1,000", "1000.0", "999"]),
    (vista_item(8, "What is the perimeter of the rectangle?", "18", answer_type="integer", unit="cm"),
     ["18", "18 cm", "18.9", "16"]),
    (vista_item(9, "What is the length of the blue segment?", "2.4", answer_type="float", precision=1),
     ["2.4", "2.40", "2.43", "2.5", "2.36"]),
    (vista_item(10, "How much money does Luca need? (Unit: $)", "1.45", answer_type="float", precision=2),
     ["1.45", "$1.45", "1.450", "1.4", "1.449"]),
    (vista_item(11, "Between which two years was the peak?", "[2007, 2008]", answer_type="list"),
     ["[2007, 2008]", "[2007,2008]", "2007 and 2008", "[2008, 2007]"]),
    (vista_item(12, "What is the measure of angle ABC?", "45", answer_type="integer"),
     ["45", "45°", "45.5", "135"]),
    (vista_item(13, "What is the y-intercept of the line?", "-3", answer_type="integer"),
     ["-3", "(0, -3)", "-3.0", "3"]),
    (vista_item(14, "Which option gives the area of the triangle?", "24", choices=["12", "24", "36", "48"]),
     ["B", "24", "(B) 24", "12", "A"]),
    (vista_item(15, "What is the ratio of the two areas?", "0.5", answer_type="float", precision=1),
     ["0.5", "1/2", ".5", "0.50"]),
    (vista_item(16, "Which is the highest mountain in the picture?", "Mount Everest",
                choices=["K2", "Mount Everest", "Kangchenjunga", "Lhotse"]),
     ["B", "Everest", "Mount Everest", "K2"]),
]


def vista_extraction(stated: str, choices) -> str:
    """What a good extraction LLM answers: the letter or value the response states."""
    if stated.startswith("(") and stated[1:2].isalpha() and stated[2:3] == ")":
        return stated[1]
    if stated.startswith("$"):
        return stated[1:]
    if stated == "two":
        return "2"
    if stated == "2007 and 2008":
        return "[2007, 2008]"
    for unit in (" cm", "°"):
        if stated.endswith(unit):
            return stated[: -len(unit)]
    return stated


def vista_responses(stated: str):
    """(class, response) pairs stating ``stated``."""
    yield "bare", stated
    yield "answer_tag", f"<think>Reading the figure carefully and checking each value.</think>\n<answer>{stated}</answer>"
    yield "boxed", f"From the chart the value follows directly. Therefore the answer is \\boxed{{{stated}}}."
    yield "sentence", f"Looking at the image, I compare the marked parts. The answer is {stated}."
    yield "markdown", f"**Reasoning:** compare the parts.\n\n**Answer:** {stated}"


# ----------------------------------------------------------------------------- MathVerse


def verse_item(idx, question, answer, version="Text Dominant", qtype=None):
    qtype = qtype or ("multi-choice" if "\nChoice" in question else "free-form")
    options = None
    if "\nChoice" in question:
        lines = question.split("\n")
        start = next(i for i, ln in enumerate(lines) if ln.startswith("Choice"))
        options = [ln.split(":", 1)[1] for ln in lines[start + 1:] if ln[:2] in {f"{c}:" for c in L}]
    return {"bench": "mathverse", "id": str(idx), "problem": question, "answer": answer, "choices": None,
            "metadata": {"bench": "mathverse", "options": options, "problem_version": version,
                         "question_type": qtype}}


VERSE = [
    (verse_item(1, "As shown in the figure, AB is the diameter and angle C = 40°. Find angle B.\nChoices:\nA:40°\nB:50°\nC:60°\nD:80°", "B"),
     ["B", "(B)", "B:50°", "50°", "A", "b"]),
    (verse_item(2, "Find the value of x.\nChoice:\nA:3\nB:4\nC:5\nD:6", "C"),
     ["C", "5", "C. 5", "D", "The answer is C"]),
    (verse_item(3, "Which of the angles are obtuse?\nChoices:\nA:angle 1\nB:angle 2\nC:angle 3\nD:angle 4", "C\nD"),
     ["C, D", "C\nD", "C", "D, C"]),
    (verse_item(4, "Find the area of the circle.", "Area $=9\\pi\\mathrm{cm}^2$"),
     ["9\\pi", "9\\pi \\text{ cm}^2", "Area $=9\\pi\\mathrm{cm}^2$", "28.27", "9"]),
    (verse_item(5, "Find the radius r.", "$r=24.4$"), ["24.4", "r=24.4", "24", "$r=24.4$"]),
    (verse_item(6, "Find the measure of angle 1.", "62^\\circ"), ["62", "62^\\circ", "62°", "118"]),
    (verse_item(7, "Find the length of the ladder.", "4.4 m"), ["4.4", "4.4 m", "4.40", "4"]),
    (verse_item(8, "Find the slope of the line.", "\\frac{7}{4}"), ["\\frac{7}{4}", "7/4", "1.75", "\\frac{4}{7}"]),
    (verse_item(9, "Write the equation of the line.", "y=-2x+5"), ["y=-2x+5", "y = -2x + 5", "-2x+5", "y=2x+5"]),
    (verse_item(10, "Find the coordinates of the vertex.", "(2, 3)"), ["(2, 3)", "(2,3)", "(2, 5)", "(3, 2)"]),
    (verse_item(11, "State the domain of the function.", "[0, 4]"), ["[0, 4]", "[0,4]", "[0, 5]", "(0, 4)"]),
    (verse_item(12, "Find the volume of the cone.", "Volume $=452.389$ cubic units"), ["452.389", "452.39", "452", "144\\pi"]),
    (verse_item(13, "How many cubes are in the stack?", "12"), ["12", "12.0", "1,2", "3 and 12"]),
    (verse_item(14, "Find the total population.", "1000"), ["1000", "1,000", "100", "10^3"]),
]


def verse_responses(stated: str):
    yield "bare", stated
    yield "answer_tag", f"<think>Using the relations in the figure step by step.</think>\n<answer>{stated}</answer>"
    yield "boxed", f"Solving, we find the result.\n\\boxed{{{stated}}}"
    yield "sentence", f"By the properties of the figure, the answer is {stated}."
    yield "two_tags", f"<think>First guess: <answer>0</answer>, but recheck.</think>\n<answer>{stated}</answer>"
    yield "markdown", f"**Step 1.** Apply the theorem.\n**Step 2.** Simplify.\n\n**Answer:** {stated}"
    yield "final_line", f"We get the value after simplifying.\nFinal answer: {stated}."
    yield "empty_box", f"\\boxed{{}} is left blank; the result is {stated}"


def build() -> dict[str, int]:
    counts = {}
    rows = []
    for item, answers in VISTA:
        for stated in answers:
            for cls, resp in vista_responses(stated):
                rows.append({"item": item, "response": resp, "cls": cls,
                             "llm_extraction": vista_extraction(stated, item["metadata"]["options"])})
    (HERE / "parity_mathvista.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    counts["mathvista"] = len(rows)
    rows = []
    for item, answers in VERSE:
        for stated in answers:
            for cls, resp in verse_responses(stated):
                rows.append({"item": item, "response": resp, "cls": cls})
    (HERE / "parity_mathverse.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    counts["mathverse"] = len(rows)
    return counts


if __name__ == "__main__":
    print(build())
