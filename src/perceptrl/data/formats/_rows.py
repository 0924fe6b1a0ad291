"""Mapping between flat table rows (parquet / Arrow / JSON) and :class:`Example`, shared by the formats.

A reader picks the source column for each canonical field from a list of candidate names (or the
user's ``column_mapping``); every other column goes to ``Example.metadata`` under its own name, so
a writer can put it back. A few values need their original form kept to round-trip exactly; they
are stored in ``metadata`` under the source column's name (consumed again by the writers):

- ``metadata["id"]`` / ``metadata["answer"]``: the raw value when the column was not a string
  (``Example.id`` / ``Example.answer`` hold its ``str``);
- ``metadata["visual_key_info"]``: the raw annotation string when re-formatting the parsed list would
  not give it back byte for byte (other separators, surrounding whitespace) or when it is malformed
  (then ``visual_annotations`` is empty and validation reports the string);
- ``metadata["_image_paths"]``: the ``path`` of ``{"bytes", "path"}`` image structs that carried bytes;
- ``metadata["_binary_text"]``: ``{field: [column, problem]}`` for each text field whose cell held
  *bytes* (a parquet/Arrow ``binary`` column, or a ``string`` column whose bytes are not UTF-8):
  the field holds the bytes decoded as UTF-8 (``problem`` is ``None``) or, for bytes that are not
  UTF-8, decoded with U+FFFD replacement characters (``problem`` says where). Never ``"b'...'"``.
  Validation reports each one (``binary_text`` / ``not_utf8``); writers refuse the second kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PIL import Image

from perceptrl.data.annotations import AnnotationFormatError, format_visual_key_info, parse_visual_key_info
from perceptrl.data.encoding import decode_cell
from perceptrl.data.schema import Box, Example, ImageSource
from perceptrl.errors import PerceptrlError

IMAGE_PATHS_KEY = "_image_paths"
BINARY_TEXT_KEY = "_binary_text"
_BYTES = (bytes, bytearray, memoryview)


def text_cell(cell: Any, field: str, column: str | None, marks: dict[str, list[str | None]]) -> Any:
    """``cell`` with bytes decoded as UTF-8 (recorded in ``marks[field]``, see the module doc);
    any other value unchanged."""
    if isinstance(cell, _BYTES):
        text, problem = decode_cell(cell)
        marks[field] = [column or field, problem]
        return text
    return cell


# Canonical field -> source column names tried in order. Strict tables keep round trips exact.
GENERIC_CANDIDATES: dict[str, tuple[str, ...]] = {
    "id": ("id", "pid", "question_id", "qid", "idx", "index", "sample_id", "problem_id"),
    "images": ("images", "image", "decoded_image"),
    "problem": ("problem", "question", "query", "prompt", "text"),
    "answer": ("answer", "solution", "ground_truth", "gt_answer", "label"),
    "choices": ("choices", "options"),
    "visual_annotations": ("visual_annotations", "visual_key_info"),
    "boxes": ("boxes", "bboxes"),
    "caption": ("caption",),
}

CANONICAL_FIELDS = ("id", "images", "problem", "answer", "choices", "visual_annotations", "boxes", "caption")


def image_from_cell(cell: Any) -> tuple[ImageSource, str | None]:
    """One image cell -> (source, path kept beside embedded bytes). Unusable cells become ``""``,
    which validation reports as an empty image entry."""
    if cell is None:
        return "", None
    if isinstance(cell, Image.Image):
        return cell, None
    if isinstance(cell, (bytes, bytearray, memoryview)):
        return bytes(cell), None
    if isinstance(cell, str):
        return cell, None
    if isinstance(cell, Mapping):
        data, path = cell.get("bytes"), cell.get("path")
        if data:
            return bytes(data), path
        return (path or ""), None
    return "", None


def images_from_cell(cell: Any) -> tuple[list[ImageSource], list[str | None]]:
    if cell is None:
        return [], []
    if isinstance(cell, (list, tuple)):
        pairs = [image_from_cell(c) for c in cell]
    else:
        pairs = [image_from_cell(cell)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def boxes_from_cell(cell: Any) -> list[Box]:
    if not cell:
        return []
    boxes = []
    for b in cell:
        if isinstance(b, Mapping):
            boxes.append(
                Box(
                    float(b["x0"]), float(b["y0"]), float(b["x1"]), float(b["y1"]),
                    label=b.get("label"), image_index=int(b.get("image_index") or 0),
                )
            )
        else:
            x0, y0, x1, y1 = (float(v) for v in list(b)[:4])
            boxes.append(Box(x0, y0, x1, y1))
    return boxes


def boxes_to_cell(boxes: Sequence[Box]) -> list[dict[str, Any]]:
    return [
        {"x0": b.x0, "y0": b.y0, "x1": b.x1, "y1": b.y1, "label": b.label, "image_index": b.image_index}
        for b in boxes
    ]


def _pick(row: Mapping[str, Any], field: str, mapping: Mapping[str, str], candidates: Mapping[str, Sequence[str]]) -> str | None:
    if field in mapping:
        return mapping[field]
    for name in candidates.get(field, ()):
        if name in row:
            return name
    return None


def example_from_row(
    row: Mapping[str, Any],
    index: int,
    *,
    root: str | None,
    source: str,
    column_mapping: Mapping[str, str] | None = None,
    candidates: Mapping[str, Sequence[str]] = GENERIC_CANDIDATES,
    merge_metadata_column: bool = False,
) -> Example:
    """Build an Example from one row; never raises on bad *values* (validation reports them).

    ``merge_metadata_column``: a ``metadata`` mapping column (perceptrl's own JSONL/HF layout) is
    merged into ``Example.metadata`` instead of being kept as one key.
    """
    cols = _columns(row, column_mapping, candidates, source)
    metadata: dict[str, Any] = {}
    marks: dict[str, list[str | None]] = {}

    def cell(field: str, name: str | None = None):
        col = cols[field]
        return text_cell(row.get(col) if col else None, name or field, col, marks)

    raw_id = cell("id")
    ex_id = str(index) if raw_id is None else str(raw_id)
    if raw_id is not None and not isinstance(raw_id, str):
        metadata["id"] = raw_id

    images, paths = images_from_cell(row.get(cols["images"])) if cols["images"] else ([], [])

    problem = cell("problem")
    problem = "" if problem is None else problem if isinstance(problem, str) else str(problem)

    raw_answer = cell("answer")
    answer = "" if raw_answer is None else raw_answer if isinstance(raw_answer, str) else str(raw_answer)
    if raw_answer is not None and not isinstance(raw_answer, str):
        metadata["answer"] = raw_answer

    annotations = _annotations(cell("visual_annotations", "visual_key_info"), cols["visual_annotations"], marks,
                               metadata)
    choices = _choices(cell("choices"), cols["choices"], marks)
    boxes: list[Box] = []
    if cols["boxes"]:
        try:
            boxes = boxes_from_cell(row.get(cols["boxes"]))
        except (KeyError, TypeError, ValueError):
            metadata["boxes"] = row.get(cols["boxes"])  # validation reports it
    caption = cell("caption")

    _keep_other_columns(row, cols, merge_metadata_column, metadata)
    if any(p is not None for p in paths):
        metadata[IMAGE_PATHS_KEY] = paths
    if marks:
        metadata[BINARY_TEXT_KEY] = marks
    return Example(id=ex_id, images=images, problem=problem, answer=answer, choices=choices,
                   visual_annotations=annotations, boxes=boxes, caption=caption, metadata=metadata, root=root)


def _columns(row: Mapping[str, Any], column_mapping: Mapping[str, str] | None,
             candidates: Mapping[str, Sequence[str]], source: str) -> dict[str, str | None]:
    """The column of each canonical field (mapped, else the first candidate present, else None)."""
    mapping = dict(column_mapping or {})
    unknown = set(mapping) - set(CANONICAL_FIELDS)
    if unknown:
        raise PerceptrlError(
            f"unknown canonical field(s) in the column mapping: {sorted(unknown)}",
            where=source,
            fix=f"map only these fields: {', '.join(CANONICAL_FIELDS)}",
        )
    cols = {f: _pick(row, f, mapping, candidates) for f in CANONICAL_FIELDS}
    for f, col in cols.items():
        if col is not None and col not in row:
            raise PerceptrlError(
                f"column {col!r} (mapped to {f!r}) is not in the data",
                where=source,
                fix=f"use one of the columns: {', '.join(row)}",
            )
    return cols


def _annotations(cell: Any, col: str | None, marks: dict, metadata: dict) -> list[str]:
    """The annotations of a ``visual_key_info`` string or a list; a string that does not round-trip
    (malformed, or other separators) is kept in ``metadata["visual_key_info"]`` for validation."""
    if isinstance(cell, str):
        try:
            annotations = parse_visual_key_info(cell)
        except AnnotationFormatError:
            metadata["visual_key_info"] = cell
            return []
        if not annotations or format_visual_key_info(annotations) != cell:
            metadata["visual_key_info"] = cell
        return annotations
    if cell is None:
        return []
    return [text_cell(a, f"visual_annotations[{i}]", col, marks) for i, a in enumerate(cell)]


def _keep_other_columns(row: Mapping[str, Any], cols: Mapping[str, str | None], merge_metadata_column: bool,
                        metadata: dict) -> None:
    """Every column no field was read from goes to the metadata (a ``metadata`` mapping merged
    into it when ``merge_metadata_column``)."""
    used = {c for c in cols.values() if c is not None}
    for k, v in row.items():
        if k in used:
            continue
        if merge_metadata_column and k == "metadata" and isinstance(v, Mapping):
            metadata.update(v)
        else:
            metadata[k] = v


def _choices(cell: Any, col: str | None, marks: dict) -> list[str] | None:
    if cell is None:
        return None
    items = [cell] if isinstance(cell, str) else cell
    return [str(text_cell(c, f"choices[{i}]", col, marks)) for i, c in enumerate(items)]


def example_image_bytes(example: Example, k: int) -> bytes:
    """The encoded bytes of image ``k`` of ``example`` for a writer, an unreadable file named as
    a :class:`PerceptrlError` (example, field, fix)."""
    from perceptrl.data.images import read_image_bytes

    try:
        return read_image_bytes(example.images[k], example.root)
    except OSError as e:
        raise PerceptrlError(
            f"cannot read image {k} of example {example.id!r}: {e}",
            where=f"example {example.id!r}, field images[{k}]",
            fix="run `perceptrl data validate` on the source first",
        ) from e


def image_structs(example: Example) -> list[dict[str, Any]]:
    """``{"bytes", "path"}`` structs with the image bytes embedded (files read verbatim); ``path`` is
    the one the source struct carried, else the file's name."""
    from perceptrl.data.images import resolve_path

    kept = example.metadata.get(IMAGE_PATHS_KEY) or []
    out = []
    for k, src in enumerate(example.images):
        data = example_image_bytes(example, k)
        path = kept[k] if k < len(kept) else None
        if path is None and isinstance(src, str):
            path = resolve_path(src, example.root).name
        out.append({"bytes": data, "path": path})
    return out


def raw_or(example: Example, key: str, value: Any) -> Any:
    """The raw value kept in metadata when it still stringifies to ``value``, else ``value``."""
    if key in example.metadata and str(example.metadata[key]) == value:
        return example.metadata[key]
    return value


def check_text_writable(example: Example) -> None:
    """Refuse to write text that was decoded from bytes that are not UTF-8 (it holds U+FFFD in
    place of the bytes, so writing it would silently lose them). Bytes that were valid UTF-8 are
    written as the decoded text: a string column is what every consumer expects."""
    marks = example.metadata.get(BINARY_TEXT_KEY) or {}
    bad = {f: m for f, m in marks.items() if m[1] is not None}
    if bad:
        fld, (column, problem) = next(iter(bad.items()))
        raise PerceptrlError(
            f"cannot write example {example.id!r}: column {column!r} ({fld}) holds bytes that are not UTF-8 text: {problem}",
            where=f"example {example.id!r}, field {fld}",
            fix="decode that column with the encoding it was written in and store it as a string column; "
            "`perceptrl data validate` lists every such row",
        )


def canonical_cells(example: Example, *, answer_key: str = "answer") -> dict[str, Any]:
    """The cells every row-per-example writer stores the same way (in this order): problem, the
    gold answer under ``answer_key`` (TRL calls it ``solution``), choices, visual_annotations,
    boxes, caption. Ids, images and metadata differ per format and are the writer's."""
    check_text_writable(example)
    return {
        "problem": example.problem,
        answer_key: raw_or(example, "answer", example.answer),
        "choices": example.choices,
        "visual_annotations": list(example.visual_annotations),
        "boxes": boxes_to_cell(example.boxes),
        "caption": example.caption,
    }


def visual_key_info_cell(example: Example) -> str | None:
    """The ``visual_key_info`` string to write: the original bytes while the annotations are unchanged."""
    raw = example.metadata.get("visual_key_info")
    if isinstance(raw, str):
        try:
            unchanged = parse_visual_key_info(raw) == list(example.visual_annotations)
        except AnnotationFormatError:
            unchanged = not example.visual_annotations
        if unchanged:
            return raw
    if not example.visual_annotations:
        return None
    try:
        return format_visual_key_info(example.visual_annotations)
    except AnnotationFormatError as e:
        raise PerceptrlError(
            f"cannot write the visual annotations of example {example.id!r}: {e}",
            where=f"example {example.id!r}, field visual_annotations",
            fix="run `perceptrl data validate` on the source and correct the annotation",
        ) from e


def metadata_columns(examples: Iterable[Example], consumed: Iterable[str]) -> list[str]:
    """Union of metadata keys (first-seen order) minus those a writer already consumed, internal
    keys, and keys that are ``None`` in every example (an all-null column is not data)."""
    skip = set(consumed) | {IMAGE_PATHS_KEY, BINARY_TEXT_KEY}
    keys: dict[str, None] = {}
    for ex in examples:
        for k, v in ex.metadata.items():
            if k not in skip and v is not None:
                keys.setdefault(k, None)
    return list(keys)
