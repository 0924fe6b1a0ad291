"""Each benchmark's rows mapped to :class:`~perceptrl.data.schema.Example` (the schemas:
:mod:`perceptrl.eval.benchmarks`), with the parsers they share: inline choices, We-Math options,
``<imageN>`` tags, precision."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from perceptrl.data.schema import Example

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# --- helpers --------------------------------------------------------------------------------


def _image(value: Any) -> Any:
    """An image cell (undecoded ``{"bytes","path"}``, PIL image, bytes or path) → ImageSource."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        if value.get("bytes"):
            return bytes(value["bytes"])
        return value.get("path") or None
    if isinstance(value, str):
        return value or None
    return value  # PIL image or bytes


def _images(*cells: Any) -> list[Any]:
    out: list[Any] = []
    for cell in cells:
        if isinstance(cell, (list, tuple)):
            out.extend(i for i in (_image(c) for c in cell) if i is not None)
        else:
            img = _image(cell)
            if img is not None:
                out.append(img)
    return out


def _text(value: Any) -> str:
    from perceptrl.data.encoding import text_value

    return text_value(value, "a benchmark text column")  # bytes decoded, never "b'...'"


_CHOICE_LINE = re.compile(r"^\s*\(?([A-H])\)?\s*[:.：)]\s*(.+?)\s*$")


def parse_inline_choices(text: str) -> list[str] | None:
    """Options written inside a question, after ``Choices:`` or ``Choice:`` (MathVerse ``A:6``,
    MathVista ``(A) 6``)."""
    m = re.search(r"Choices?\s*:?\s*\n", text, re.IGNORECASE)
    if not m:
        return None
    options: list[str] = []
    for line in text[m.end():].splitlines():
        cm = _CHOICE_LINE.match(line)
        if not cm or cm.group(1) != LETTERS[len(options)]:
            if options:
                break
            continue
        options.append(cm.group(2))
    return options or None


def parse_wemath_options(option: str) -> list[str] | None:
    """``"A. 300, 400;B. 400, 300; E. No correct answer"`` → ``["300, 400", "400, 300", …]``."""
    parts = re.split(r"\s*;\s*(?=[A-H]\s*[.．:])", option.strip())
    out = []
    for i, part in enumerate(parts):
        m = re.match(r"^([A-H])\s*[.．:]\s*(.*?)\s*;?\s*$", part, re.DOTALL)
        if not m or m.group(1) != LETTERS[i]:
            return None
        out.append(m.group(2))
    return out or None


def _precision(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else int(f)  # NaN (pandas null) → None


# --- mappers ---------------------------------------------------------------------------------


def map_mathvista(row: Mapping[str, Any], idx: int, root: str | None) -> Example:
    options = [_text(c) for c in row["choices"]] if row.get("choices") else None
    qtype = _text(row.get("question_type")) or ("multi_choice" if options else "free_form")
    extra = row.get("metadata") if isinstance(row.get("metadata"), Mapping) else {}
    query = _text(row.get("query"))
    return Example(
        id=_text(row["pid"]),
        images=_images(row.get("decoded_image") or row.get("image")),
        problem=query or _text(row["question"]),
        answer=_text(row["answer"]),
        # the official query already lists the options; a bare question needs them in the prompt
        choices=None if query else options,
        metadata={
            "bench": "mathvista",
            "options": options,
            "question_type": qtype,
            "answer_type": _text(row.get("answer_type")) or None,
            "precision": _precision(row.get("precision")),
            "unit": _text(row.get("unit")) or None,
            "task": _text(extra.get("task")) or None,  # e.g. "geometry problem solving"
            "question": _text(row.get("question")) or None,  # lmms-eval's prompt is built from it
        },
        root=root,
    )


def map_mathverse(row: Mapping[str, Any], idx: int, root: str | None) -> Example:
    question = _text(row.get("question"))
    problem = question if question.strip() else _text(row.get("query_wo")) or _text(row.get("query_cot"))
    version = _text(row["problem_version"])
    images = _images(row.get("image"))
    meta_text_only = {"text_only": True} if not images and version.strip().lower() == "text only" else {}
    return Example(
        id=_text(row["sample_index"]),
        images=images,
        problem=problem,
        answer=_text(row["answer"]),
        metadata={
            "bench": "mathverse",
            **meta_text_only,  # the Text Only version has no image by design (validation allows it)
            "options": parse_inline_choices(question),
            "problem_version": version,
            "problem_index": _text(row.get("problem_index")),
            "question_type": _text(row.get("question_type")),
            "query_wo": _text(row.get("query_wo")) or None,  # lmms-eval's prompt
        },
        root=root,
    )


_IMAGE_TAG = re.compile(r"<image(\d+)>")


def image_tags_to_placeholder(text: str, n_images: int) -> str:
    """MATH-V's ``<image1>`` … ``<image7>`` tags: the first tag becomes the ``<image>`` placeholder
    (MATH-V has one image file per problem, holding every figure the tags refer to); later tags,
    which name parts of that image, become the text ``[image N]``. With other than one image the
    tags all become text (the images then go first, as for any problem without placeholders)."""
    placed = False

    def sub(m: re.Match) -> str:
        nonlocal placed
        if n_images == 1 and not placed:
            placed = True
            return "<image>"
        return f"[image {m.group(1)}]"

    return _IMAGE_TAG.sub(sub, text)


def letter_only_options(options: list[str] | None) -> bool:
    """``["A", "B", "C", "D", "E"]``: the options are drawn in the image, only their letters are text."""
    return bool(options) and [o.strip() for o in options] == list(LETTERS[: len(options)])


def map_mathvision(row: Mapping[str, Any], idx: int, root: str | None) -> Example:
    options = [_text(o) for o in (row.get("options") or [])] or None
    images = _images(row.get("decoded_image") or row.get("image"))
    problem = image_tags_to_placeholder(_text(row["question"]), len(images))
    letters = letter_only_options(options)
    if letters:  # not "A. A": the answer is one of the letters drawn in the figure
        problem += "\nChoices: " + ", ".join(o.strip() for o in options)
    return Example(
        id=_text(row["id"]),
        images=images,
        problem=problem,
        answer=_text(row["answer"]),
        choices=None if letters else options,
        metadata={
            "bench": "mathvision",
            "options": options if letters else None,
            "question_type": "multi_choice" if options else "free_form",
            "subject": _text(row.get("subject")) or None,
            "level": row.get("level"),
        },
        root=root,
    )


def map_wemath(row: Mapping[str, Any], idx: int, root: str | None) -> Example:
    option = _text(row.get("option"))
    choices = parse_wemath_options(option) if option else None
    problem = _text(row["question"]) if choices or not option else f"{row['question']}\nOptions: {option}"
    return Example(
        id=f"{row['ID']}|{row['key']}",
        images=_images(row.get("image_path") if row.get("image_path") is not None else row.get("image")),
        problem=problem,
        answer=_text(row["answer"]).strip(),
        choices=choices,
        metadata={
            "bench": "wemath",
            "question_type": "multi_choice",
            "wemath_id": _text(row["ID"]),
            "wemath_key": _text(row["key"]),
            "knowledge_concept": _text(row.get("knowledge concept")) or None,
        },
        root=root,
    )


def map_geo3k(row: Mapping[str, Any], idx: int, root: str | None) -> Example:
    if "problem_text" in row:  # the InterGPS release (NNN/data.json): choices and a letter as gold
        from perceptrl.data.formats.geometry3k import example_from_row

        return example_from_row(dict(row), idx, root, bench="geo3k")
    return Example(
        id=_text(row.get("id")) or str(idx),
        images=_images(row.get("images")),
        problem=_text(row["problem"]),
        answer=_text(row["answer"]),
        choices=list(row["choices"]) if row.get("choices") else None,
        metadata={"bench": "geo3k"},
        root=root,
    )
