"""Any Hugging Face dataset, by hub id or local path, through ``datasets``
(:mod:`perceptrl.data.hub` decides path vs hub id, the builder, the split and the offline error).

Local ``save_to_disk`` folders go through ``load_from_disk``; other local folders/files and hub ids
through ``load_dataset`` (which uses the local cache when offline). Image columns are read
undecoded (``{"bytes", "path"}``) so that validation, not the reader, meets corrupt images.
Columns are mapped to canonical fields by common names (``question`` → problem, ``pid`` → id,
``decoded_image`` → images, …) or by ``column_mapping={"problem": "query", ...}``.

Writing (``format="hf"``) saves the canonical fields as columns (``images`` as an ``Image`` list)
plus one column per metadata key, with ``Dataset.save_to_disk``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perceptrl.data.encoding import first_invalid_line
from perceptrl.data.formats._hfwrite import quiet_datasets, rows_to_dataset
from perceptrl.data.formats._rows import canonical_cells, example_from_row, image_structs, metadata_columns, raw_or
from perceptrl.data.hub import (
    SUFFIX_BUILDERS,
    is_saved_dataset,
    load_files,
    load_hub,
    load_saved,
    pick_split,
    undecoded,
)
from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError


def load(path_or_id: str | Path, split: str | None = None, **load_kwargs: Any):
    """The ``datasets.Dataset`` for a local path or hub id (:mod:`perceptrl.data.hub`: split
    picking, suffix builders, offline errors)."""
    import datasets

    where = str(path_or_id)
    path = Path(path_or_id).expanduser()
    with quiet_datasets():
        if is_saved_dataset(path):
            return load_saved(path, split)
        if not path.exists():
            return pick_split(load_hub(where, split, load_kwargs.pop("name", None), **load_kwargs), split, where)
        if path.is_file() and path.suffix in (".csv", ".json", ".jsonl"):
            # checked first (one linear pass): datasets' CSV builder logs an ERROR and says only
            # "An error occurred", its JSON builder accepts the bytes and fails row by row later
            named = first_invalid_line(path)
            if named is not None:
                raise named
        if path.is_file() and path.suffix in SUFFIX_BUILDERS:
            return load_files(path, split or "train", where, **load_kwargs)
        try:
            return pick_split(datasets.load_dataset(str(path), split=split, **load_kwargs), split, where)
        except PerceptrlError:
            raise
        except Exception as e:  # noqa: BLE001 - datasets raises many types for unreadable folders
            raise PerceptrlError(
                f"datasets cannot load this local path: {e}", where=where,
                fix="point at a save_to_disk folder, a parquet/JSON file, or a dataset repo copy",
            ) from e


def read(
    path_or_id: str | Path,
    split: str | None = None,
    column_mapping: Mapping[str, str] | None = None,
    **load_kwargs: Any,
) -> list[Example]:
    ds = load(path_or_id, split, **load_kwargs)
    path = Path(path_or_id).expanduser()
    root = str(path.resolve()) if path.is_dir() else str(path.parent.resolve()) if path.exists() else None
    out: list[Example] = []
    try:
        for i, r in enumerate(undecoded(ds)):
            out.append(example_from_row(r, i, root=root, source=str(path_or_id), column_mapping=column_mapping, merge_metadata_column=True))
    except UnicodeDecodeError as e:
        raise _not_utf8_rows(ds, len(out), str(path_or_id), e) from None
    return out


def _not_utf8_rows(ds, row: int, where: str, err: UnicodeDecodeError) -> PerceptrlError:
    """The named error for string cells that are not UTF-8 in a ``datasets`` table (Arrow stores
    what the file held; the error only surfaces when a row is turned into Python objects)."""
    import pyarrow as pa

    table = ds.data.table if hasattr(ds.data, "table") else ds.data
    columns = []
    for name in table.column_names:
        try:
            table.column(name).validate(full=True)
        except pa.ArrowInvalid:
            columns.append(name)
    cols = ", ".join(repr(c) for c in columns) or "a string column"
    return PerceptrlError(
        f"{where}: row {row} holds text that is not UTF-8 in column {cols} ({err.reason})",
        where=f"{where}, row {row}, column {cols}",
        fix="decode the column with the encoding it was written in and store it as UTF-8 strings "
        "(or read the parquet file itself with --format perception_r1, which lists every bad row)",
    )


def write(examples: Sequence[Example], path: str | Path, **_: Any) -> Path:
    extra = metadata_columns(examples, consumed=("id", "answer"))
    rows = []
    for ex in examples:
        row = {
            "id": raw_or(ex, "id", ex.id),
            "images": image_structs(ex),
            **canonical_cells(ex),
        }
        for k in extra:
            row[k] = ex.metadata.get(k)
        rows.append(row)
    ds = rows_to_dataset(rows, image_list_columns=("images",))
    path = Path(path)
    with quiet_datasets():
        ds.save_to_disk(str(path))
    return path
