"""Tiny offline copies of each benchmark, in its real schema and in the form people keep them.

* MathVista: ``DatasetDict.save_to_disk`` with split ``testmini`` (``decoded_image`` an Image,
  ``image`` a relative path, ``choices``/``unit``/``precision`` nullable, ``metadata`` a struct).
* MathVerse: one parquet file ``testmini-00000-of-00001.parquet`` (the hub layout), 2 problems x 5
  versions; the multi-choice question carries its ``Choices:`` in the text.
* MathVision: ``test.jsonl`` + ``images/`` folder (the layout of the MathVision repository).
* WeMath: parquet with ``image_path`` an Image, ``ID``/``key`` composite structure (2-step and
  3-step problems).
* Geometry3K: ``Dataset.save_to_disk`` in EasyR1's schema (``images`` list, ``problem`` with ``<image>``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw


def _png(path: Path, text: str, color: str = "white") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", (84, 84), color)
    ImageDraw.Draw(img).text((8, 30), text, fill="black")
    img.save(path)
    return path


def _img_cell(path: Path) -> dict:
    return {"bytes": path.read_bytes(), "path": path.name}


def build_mathvista(root: Path) -> Path:
    from datasets import Dataset, DatasetDict, Features, Image as HFImage, List, Value

    rows = [
        dict(pid="1", question="What is the length of AB?", choices=None, unit="cm", precision=1.0, answer="2.5",
             question_type="free_form", answer_type="float"),
        dict(pid="2", question="Which fraction is shaded?", choices=["3/11", "8/11", "6/11"], unit=None, precision=None,
             answer="8/11", question_type="multi_choice", answer_type="text"),
        dict(pid="3", question="How many apples are there?", choices=None, unit=None, precision=None, answer="4",
             question_type="free_form", answer_type="integer"),
    ]
    out: dict[str, list] = {k: [] for k in [*rows[0], "image", "decoded_image", "query", "metadata"]}
    for r in rows:
        img = _png(root / "mathvista_src" / "images" / f"{r['pid']}.png", r["pid"])
        hint = ("Hint: Please answer the question requiring a floating-point number with one decimal place and provide the final value, e.g., 1.2, 1.3, 1.4, at the end."
                if r["answer_type"] == "float" else "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end."
                if r["choices"] else "Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3, at the end.")
        query = f"{hint}\nQuestion: {r['question']}"
        if r["choices"]:
            query += "\nChoices:\n" + "\n".join(f"({'ABC'[i]}) {c}" for i, c in enumerate(r["choices"]))
        for k, v in r.items():
            out[k].append(v)
        out["image"].append(f"images/{img.name}")
        out["decoded_image"].append(_img_cell(img))
        out["query"].append(query)
        out["metadata"].append({"category": "math-targeted-vqa", "task": "geometry problem solving", "grade": "high school"})
    features = Features({
        "pid": Value("string"), "question": Value("string"), "choices": List(Value("string")),
        "unit": Value("string"), "precision": Value("float64"), "answer": Value("string"),
        "question_type": Value("string"), "answer_type": Value("string"), "image": Value("string"),
        "decoded_image": HFImage(), "query": Value("string"),
        "metadata": {"category": Value("string"), "task": Value("string"), "grade": Value("string")},
    })
    path = root / "mathvista"
    DatasetDict({"testmini": Dataset.from_dict(out, features=features)}).save_to_disk(str(path))
    return path


MATHVERSE_VERSIONS = ["Text Dominant", "Text Lite", "Vision Intensive", "Vision Dominant", "Vision Only"]


def build_mathverse(root: Path) -> Path:
    from datasets import Dataset, Features, Image as HFImage, Value

    problems = [
        ("1", "multi-choice", "As shown in the figure, AB = 4 and BC = 3. Find AC.\nChoices:\nA:5\nB:6\nC:7\nD:8", "A"),
        ("2", "free-form", "As shown in the figure, the radius is 2. Find the area of the circle (in terms of pi).", "4\\pi"),
    ]
    out: dict[str, list] = {k: [] for k in ["sample_index", "problem_index", "problem_version", "question", "image",
                                            "answer", "question_type", "metadata", "query_wo", "query_cot", "question_for_eval"]}
    n = 0
    for pidx, qtype, question, answer in problems:
        img = _png(root / "mathverse_src" / f"{pidx}.png", f"P{pidx}")
        for version in MATHVERSE_VERSIONS:
            n += 1
            q = "" if version == "Vision Only" else question
            out["sample_index"].append(str(n))
            out["problem_index"].append(pidx)
            out["problem_version"].append(version)
            out["question"].append(q)
            out["image"].append(_img_cell(img))
            out["answer"].append(answer)
            out["question_type"].append(qtype)
            out["metadata"].append(json.dumps({"split": "testmini", "source": "GeoQA"}))
            out["query_wo"].append("According to the question shown in the image, please directly answer the question and provide the correct option letter, e.g., A, B, C, D.\nQuestion: " + q)
            out["query_cot"].append("Please first conduct reasoning, and then answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.\nQuestion: " + q)
            out["question_for_eval"].append(q)
    features = Features({k: (HFImage() if k == "image" else Value("string")) for k in out})
    path = root / "mathverse" / "testmini-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    Dataset.from_dict(out, features=features).to_parquet(str(path))
    return path.parent


def build_mathvision(root: Path) -> Path:
    base = root / "mathvision"
    rows = [
        {"id": "1", "question": "<image1>\nWhich number is in the middle square?", "options": ["1", "2", "3", "4", "5"],
         "image": "images/1.jpg", "answer": "C", "solution": None, "level": 1, "subject": "arithmetic"},
        {"id": "2", "question": "<image1>\nHow many triangles are there?", "options": [], "image": "images/2.jpg",
         "answer": "7", "solution": None, "level": 2, "subject": "counting"},
    ]
    for r in rows:
        (base / "images").mkdir(parents=True, exist_ok=True)
        img = Image.new("RGB", (84, 84), "white")
        ImageDraw.Draw(img).text((8, 30), r["id"], fill="black")
        img.save(base / r["image"], format="JPEG")
    (base / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return base


def wemath_rows() -> list[dict]:
    """Two 2-step problems and one 3-step problem (ID = composite problem, key = its part)."""
    rows = []
    spec = [("2steps_1", 2), ("2steps_2", 2), ("3steps_1", 3)]
    for gid, steps in spec:
        for part in [*(str(i) for i in range(1, steps + 1)), "multi"]:
            rows.append({
                "ID": gid, "split": "testmini", "knowledge concept": "Circumference of Circles",
                "question": f"[{gid} {part}] As shown in the diagram, the radius is 5 cm. Its circumference is ( ) cm.",
                "option": "A. 31.4;B. 3.14;C. 62.8;D. 40; E. No correct answer",
                "answer": "A", "key": f"{gid.split('_')[0]}_{part}", "question number": len(rows) + 1,
                "knowledge concept description": "C = 2πr",
            })
    return rows


def build_wemath(root: Path) -> Path:
    from datasets import Dataset, Features, Image as HFImage, Value

    rows = wemath_rows()
    img = _png(root / "wemath_src" / "c.png", "circle")
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    cols["image_path"] = [_img_cell(img) for _ in rows]
    features = Features({k: (HFImage() if k == "image_path" else Value("int64") if k == "question number" else Value("string"))
                         for k in cols})
    path = root / "wemath" / "testmini.parquet"
    path.parent.mkdir(parents=True)
    Dataset.from_dict(cols, features=features).to_parquet(str(path))
    return path


def build_geo3k(root: Path) -> Path:
    from datasets import Dataset, Features, Image as HFImage, List, Value

    rows = [("<image>Find x. Round to the nearest tenth.", "5.8"), ("<image>Find the area of the triangle.", "24"),
            ("<image>Find m \\angle 2.", "34")]
    imgs = [_img_cell(_png(root / "geo3k_src" / f"{i}.png", str(i))) for i in range(len(rows))]
    ds = Dataset.from_dict(
        {"images": [[im] for im in imgs], "problem": [p for p, _ in rows], "answer": [a for _, a in rows]},
        features=Features({"images": List(HFImage()), "problem": Value("string"), "answer": Value("string")}),
    )
    path = root / "geo3k"
    ds.save_to_disk(str(path))
    return path


@pytest.fixture(scope="session")
def bench_sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("benchmarks")
    return {
        "mathvista": build_mathvista(root),
        "mathverse": build_mathverse(root),
        "mathvision": build_mathvision(root),
        "wemath": build_wemath(root),
        "geo3k": build_geo3k(root),
    }


@pytest.fixture(scope="session")
def tiny_vlm(tiny_qwen25vl_dir):
    """The tiny Qwen2.5-VL loaded once for the eval tests (treat as read-only)."""
    from perceptrl.models.loading import load_vlm

    model, processor = load_vlm(tiny_qwen25vl_dir)
    model.eval()
    return model, processor
