"""EasyR1 / Perception-R1 parquet: ``images``, ``problem`` (with ``<image>``), ``answer``, ``visual_key_info``.

``images`` is a list of ``{"bytes", "path"}`` structs (a ``datasets`` ``List(Image())`` column, what
EasyR1 reads) or a list of file paths relative to the parquet file's folder. Every other column is
kept in ``Example.metadata`` and written back, so parquet → canonical → parquet preserves every
field. An ``id`` column becomes ``Example.id`` (otherwise the row index is used, and no ``id`` column
is written back unless the ids were changed). Canonical extras with no EasyR1 column (``choices``,
``boxes``, ``caption``) are written as columns of those names when present.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perceptrl.data.formats._rows import (
    boxes_to_cell,
    check_text_writable,
    example_from_row,
    image_structs,
    metadata_columns,
    raw_or,
    visual_key_info_cell,
)
from perceptrl.data.encoding import arrow_rows
from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError

CANDIDATES = {
    "id": ("id",),
    "images": ("images",),
    "problem": ("problem",),
    "answer": ("answer",),
    "choices": ("choices",),
    "visual_annotations": ("visual_key_info",),
    "boxes": ("boxes",),
    "caption": ("caption",),
}
REQUIRED = ("images", "problem", "answer")
_SHARD = re.compile(r"(.+?)-\d{5}-of-\d{5}\.parquet$")


def parquet_files(path: Path, split: str | None) -> list[Path]:
    """The parquet file itself, or a folder's ``*.parquet`` files (those of ``split`` when given)."""
    if path.is_file():
        return [path]
    files = sorted(path.rglob("*.parquet"))
    if split:
        files = [f for f in files if f.name.startswith(split) or split in f.parent.parts[len(path.parts):]]
    else:
        # hub layout: data/{split}-00000-of-00001.parquet; never silently merge train and test
        splits = {m.group(1) for f in files if (m := _SHARD.match(f.name))}
        if len(splits) > 1:
            raise PerceptrlError(
                f"the folder holds several splits: {', '.join(sorted(splits))}",
                where=str(path),
                fix="choose one with --split / split=",
            )
    if not files:
        raise PerceptrlError(
            f"no parquet files{' for split ' + repr(split) if split else ''} found",
            where=str(path),
            fix="point at a .parquet file or a folder holding them",
        )
    return files


def read_rows(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for f in parquet_files(path, split):
        try:
            rows.extend(arrow_rows(pq.read_table(f)))
        except Exception as e:  # noqa: BLE001 - any arrow failure means an unreadable file
            raise PerceptrlError(f"cannot read parquet file: {e}", where=str(f), fix="check the file is a complete parquet file") from e
    return rows


def read(path: str | Path, split: str | None = None, **_: Any) -> list[Example]:
    path = Path(path)
    rows = read_rows(path, split)
    if rows:
        missing = [c for c in REQUIRED if c not in rows[0]]
        if missing:
            raise PerceptrlError(
                f"not an EasyR1/Perception-R1 table: missing column(s) {missing}",
                where=str(path),
                fix=f"columns present: {', '.join(rows[0])}; read it with format='hf' and a column mapping",
            )
    root = str((path if path.is_dir() else path.parent).resolve())
    return [example_from_row(r, i, root=root, source=str(path), candidates=CANDIDATES) for i, r in enumerate(rows)]


def to_rows(examples: Sequence[Example]) -> list[dict[str, Any]]:
    """Rows in the EasyR1 layout (images as ``{"bytes", "path"}`` structs with embedded bytes)."""
    write_id = any("id" in ex.metadata or ex.id != str(i) for i, ex in enumerate(examples))
    write_vki = any(ex.visual_annotations or "visual_key_info" in ex.metadata for ex in examples)
    write_choices = any(ex.choices is not None for ex in examples)
    write_boxes = any(ex.boxes for ex in examples)
    write_caption = any(ex.caption is not None for ex in examples)
    extra = metadata_columns(examples, consumed=("id", "answer", "visual_key_info"))
    rows = []
    for ex in examples:
        check_text_writable(ex)
        row: dict[str, Any] = {}
        if write_id:
            row["id"] = raw_or(ex, "id", ex.id)
        row["images"] = image_structs(ex)
        row["problem"] = ex.problem
        row["answer"] = raw_or(ex, "answer", ex.answer)
        if write_vki:
            row["visual_key_info"] = visual_key_info_cell(ex)
        if write_choices:
            row["choices"] = ex.choices
        if write_boxes:
            row["boxes"] = boxes_to_cell(ex.boxes)
        if write_caption:
            row["caption"] = ex.caption
        for k in extra:
            row[k] = ex.metadata.get(k)
        rows.append(row)
    return rows


def write(examples: Sequence[Example], path: str | Path, **_: Any) -> Path:
    """Write a parquet file EasyR1/``datasets`` load with ``images`` decoded as images."""
    from perceptrl.data.formats._hfwrite import quiet_datasets, rows_to_dataset

    path = Path(path)
    if path.suffix != ".parquet":
        path = path / "train.parquet" if not path.suffix else path
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = rows_to_dataset(to_rows(examples), image_list_columns=("images",))
    with quiet_datasets():
        ds.to_parquet(str(path))
    return path
