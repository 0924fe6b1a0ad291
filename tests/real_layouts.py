"""Benchmark and dataset folders as they are downloaded from the benchmarks' GitHub repositories.

Each builder writes a few rows of our own in exactly the public file's shape (same keys, nesting,
null conventions and relative-path conventions); images are drawn locally with PIL.

* MathVista (lupantech/MathVista): ``data/testmini.json`` is an *object keyed by pid*; each row
  has question, image ``images/<pid>.jpg`` (relative to ``data/``), choices (null or a list),
  unit, precision, answer (the option text for multiple choice), question_type, answer_type, pid
  and a metadata object; ``data/query.json`` maps pid → the official prompt.
* MATH-V (mathllm/MATH-V): ``data/test.jsonl`` and ``data/testmini.jsonl`` (testmini's ids are
  also in test), ``images/<id>.jpg`` at the repository root (paths relative to the root);
  ``<image1>`` tags in the question; ``options`` ``[]``, letters only, or texts; ``solution`` null.
* MathVerse (ZrrSkywalker/MathVerse): ``data/testmini_text_only.json``, a JSON list; ``image`` is
  ``""``, problem_version ``Text Only``, choices written inside the question (``A:40°``).
* Geometry3K (lupantech/InterGPS, ``data/geometry3k`` after unzip): ``{train,val,test}/NNN/``
  with ``data.json`` (problem_text, choices, answer letter, id, problem_type_graph/goal, …) and
  ``img_diagram.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw


def draw(path: Path, text: str, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", (84, 84), "white")
    ImageDraw.Draw(img).text((8, 30), text, fill="black")
    img.save(path, format=fmt)
    return path


MATHVISTA_ROWS = {
    "1": {"question": "What is the length of segment AB?", "image": "images/1.jpg", "choices": None, "unit": None,
          "precision": 1, "answer": "2.5", "question_type": "free_form", "answer_type": "float", "pid": "1",
          "metadata": {"split": "testmini", "language": "english", "img_width": 84, "img_height": 84,
                       "source": "Geometry3K", "category": "math-targeted-vqa", "task": "geometry problem solving",
                       "context": "geometry diagram", "grade": "high school", "skills": ["geometry reasoning"]}},
    "2": {"question": "Which fraction of the shape is shaded?", "image": "images/2.jpg",
          "choices": ["3/11", "8/11", "6/11"], "unit": None, "precision": None, "answer": "8/11",
          "question_type": "multi_choice", "answer_type": "text", "pid": "2",
          "metadata": {"split": "testmini", "language": "english", "img_width": 84, "img_height": 84,
                       "source": "IconQA", "category": "math-targeted-vqa", "task": "math word problem",
                       "context": "abstract scene", "grade": "elementary school", "skills": ["arithmetic reasoning"]}},
    "3": {"question": "How much does the bag weigh?", "image": "images/3.jpg", "choices": None, "unit": "g",
          "precision": None, "answer": "400", "question_type": "free_form", "answer_type": "integer", "pid": "3",
          "metadata": {"split": "testmini", "language": "english", "img_width": 84, "img_height": 84,
                       "source": "TextVQA", "category": "general-vqa", "task": "visual question answering",
                       "context": "natural image", "grade": "not applicable", "skills": ["numeric commonsense"]}},
}

MATHVISTA_QUERIES = {
    "1": "Hint: Please answer the question requiring a floating-point number with one decimal place and provide "
         "the final value, e.g., 1.2, 1.3, 1.4, at the end.\nQuestion: What is the length of segment AB?",
    "2": "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.\n"
         "Question: Which fraction of the shape is shaded?\nChoices:\n(A) 3/11\n(B) 8/11\n(C) 6/11",
    "3": "Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3, "
         "at the end.\nQuestion: How much does the bag weigh? (Unit: g)",
}


def build_mathvista_github(root: Path, with_query: bool = True) -> Path:
    """``MathVista/data`` with ``testmini.json`` (+ ``query.json``) and ``images/``; returns ``data/``."""
    data = root / "MathVista" / "data"
    data.mkdir(parents=True, exist_ok=True)
    for pid in MATHVISTA_ROWS:
        draw(data / "images" / f"{pid}.jpg", pid, "JPEG")
    (data / "testmini.json").write_text(json.dumps(MATHVISTA_ROWS, indent=4))
    if with_query:
        (data / "query.json").write_text(json.dumps(MATHVISTA_QUERIES, indent=4))
    (data / "source.json").write_text(json.dumps({"1": "Geometry3K", "2": "IconQA", "3": "TextVQA"}))
    return data


MATHV_TEST = [
    {"id": "1", "question": "Which of the pictures shows the kangaroo?\n<image1>", "options": ["A", "B", "C", "D", "E"],
     "answer": "C", "solution": None, "level": 1, "subject": "logic", "image": "images/1.jpg"},
    {"id": "2", "question": "How many squares are grey?\n<image1>", "options": [], "answer": "6", "solution": None,
     "level": 1, "subject": "counting", "image": "images/2.jpg"},
    {"id": "3", "question": "When the ant <image1> walks home <image2>, which colour is the cube?",
     "options": ["red", "blue", "green", "yellow", "This cannot be worked out for certain."], "answer": "A",
     "solution": None, "level": 3, "subject": "logic", "image": "images/3.jpg"},
]
MATHV_TESTMINI = [MATHV_TEST[0], MATHV_TEST[2]]  # testmini's ids are also test ids


def build_mathv_repo(root: Path) -> Path:
    """``MATH-V/`` with ``data/test.jsonl``, ``data/testmini.jsonl`` and ``images/``; returns ``data/``."""
    repo = root / "MATH-V"
    for r in MATHV_TEST:
        draw(repo / r["image"], r["id"], "JPEG")
    data = repo / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "test.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in MATHV_TEST))
    (data / "testmini.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in MATHV_TESTMINI))
    return data


def _mathverse_row(i: int, question: str, answer: str, qtype: str) -> dict:
    instr = ("Please directly answer the question and provide the correct option letter, e.g., A, B, C, D."
             if qtype == "multi-choice" else "Please directly answer the question and provide the final value, e.g., 1, 2.5, 300.")
    return {"sample_index": str(i), "problem_index": str(i), "problem_version": "Text Only", "question": question,
            "image": "", "answer": answer, "question_type": qtype,
            "metadata": {"split": "testmini", "source": "GeoQA", "subject": "Plane Geometry", "subfield": "Angle"},
            "query_wo": f"{instr}\nQuestion: {question}", "query_cot": f"Please first conduct reasoning.\nQuestion: {question}"}


MATHVERSE_TEXT_ONLY = [
    _mathverse_row(1, "As shown in the figure, angle A = 80.0 and angle B = 60.0, DE parallel BC, then angle CED is ()"
                      "\nChoices:\nA:40°\nB:60°\nC:120°\nD:140°", "D", "multi-choice"),
    _mathverse_row(2, "As shown in the figure, AB = 4.0 and BC = 3.0, angle B = 90.0. Find AC.", "5", "free-form"),
    _mathverse_row(3, "As shown in the figure, the radius of circle O is 3.0. Find its area.", "Area $=9\\pi$", "free-form"),
]


def build_mathverse_text_only(root: Path) -> Path:
    """``MathVerse/data/testmini_text_only.json``; returns the file."""
    path = root / "MathVerse" / "data" / "testmini_text_only.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(MATHVERSE_TEXT_ONLY, indent=4, ensure_ascii=False))
    return path


GEO3K_ROWS = {
    "train": [
        {"id": 0, "problem_text": "Find x. Round to the nearest tenth.", "choices": ["5.8", "6.5", "14.2", "44.3"],
         "answer": "A", "problem_type_graph": ["Triangle"], "problem_type_goal": ["Length"], "source": "textbook1_chapter_8.pdf"},
        {"id": 1, "problem_text": "Find m \\angle 2.", "choices": ["34", "56", "66", "124"], "answer": "B",
         "problem_type_graph": ["Line"], "problem_type_goal": ["Angle"], "source": "textbook2_chapter_1.pdf"},
    ],
    "test": [
        {"id": 2401, "problem_text": "Find the area of the triangle.", "choices": ["12", "24", "36", "48"], "answer": "B",
         "problem_type_graph": ["Triangle"], "problem_type_goal": ["Area"], "source": "textbook1_chapter_11.pdf"},
        {"id": 2402, "problem_text": "Find y.", "choices": ["3", "4", "5", "6"], "answer": "C",
         "problem_type_graph": ["Triangle"], "problem_type_goal": ["Length"], "source": "textbook2_chapter_7.pdf"},
        {"id": 2403, "problem_text": "Find the perimeter of the rectangle.", "choices": ["10", "14", "20", "28"],
         "answer": "D", "problem_type_graph": ["Rectangle"], "problem_type_goal": ["Perimeter"], "source": "textbook1_chapter_1.pdf"},
    ],
}


def build_geometry3k(root: Path) -> Path:
    """``geometry3k/{train,test}/NNN/{data.json, img_diagram.png}``; returns ``geometry3k/``."""
    base = root / "geometry3k"
    for split, rows in GEO3K_ROWS.items():
        for r in rows:
            folder = base / split / str(r["id"])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "data.json").write_text(json.dumps({**r, "comment": "", "annotat_text": r["problem_text"],
                                                          "unit": "", "data_type": split}, indent=4))
            draw(folder / "img_diagram.png", str(r["id"]))
    return base


def _wemath_row(n: int, gid: str, key: str, question: str, option: str, answer: str, image: str) -> dict:
    return {"ID": gid, "split": "testmini", "knowledge concept": "Circumference of Circles", "question": question,
            "option": option, "answer": answer, "image_path": image, "key": key, "question number": n,
            "knowledge concept description": "Circumference of Circles:\n1. C = 2πr."}


# We-Math (We-Math/We-Math): data/testmini.json, a JSON list; image_path relative to data/
# ("2steps/image/1-1.png"); one 2-step composite problem (ID 2steps_1: its two steps and "multi").
WEMATH_ROWS = [
    _wemath_row(1, "2steps_1", "2steps_1", "As shown in the diagram, the radius is 5 cm. The diameter is ( ) cm.",
                "A. 10;B. 5;C. 2.5;D. 20; E. No correct answer", "A", "2steps/image/1-1.png"),
    _wemath_row(2, "2steps_1", "2steps_2", "As shown in the diagram, the diameter is 10 cm. The circumference is ( ) cm.",
                "A. 31.4;B. 3.14;C. 62.8;D. 40; E. No correct answer", "A", "2steps/image/1-2.png"),
    _wemath_row(3, "2steps_1", "2steps_multi", "As shown in the diagram, the radius is 5 cm. The circumference is ( ) cm.",
                "A. 31.4; B. 15.7; C. 62.8; D. No correct answer", "A", "2steps/image/1-multi.png"),
]


def build_wemath_github(root: Path) -> Path:
    """``We-Math/data/testmini.json`` + ``data/2steps/image/*.png``; returns ``data/``."""
    data = root / "We-Math" / "data"
    for r in WEMATH_ROWS:
        draw(data / r["image_path"], r["key"])
    (data / "testmini.json").write_text(json.dumps(WEMATH_ROWS, indent=4, ensure_ascii=False))
    (data / "json").mkdir(exist_ok=True)
    (data / "json" / "Two-steps.json").write_text(json.dumps(WEMATH_ROWS[:1]))  # another file of the repository
    return data
