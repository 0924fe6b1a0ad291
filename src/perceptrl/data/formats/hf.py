"""Any Hugging Face dataset, by hub id or local path, through ``datasets``.

Local ``save_to_disk`` folders go through ``load_from_disk``; other local folders/files and hub ids
through ``load_dataset`` (which uses the local cache when offline). Image columns are read
undecoded (``{"bytes", "path"}``) so that validation, not the reader, meets corrupt images.
Columns are mapped to canonical fields by common names (``question`` → problem, ``pid`` → id,
``decoded_image`` → images, …) or by ``column_mapping={"problem": "query", ...}``.

Writing (``format="hf"``) saves the canonical fields as columns (``images`` as an ``Image`` list)
plus one column per metadata key, with ``Dataset.save_to_disk``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from perceptrl.data.encoding import first_invalid_line
from perceptrl.data.formats._hfwrite import quiet_datasets, rows_to_dataset
from perceptrl.data.formats._rows import canonical_cells, example_from_row, image_structs, metadata_columns, raw_or
from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError


def is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and any(
        (path / f).exists() for f in ("dataset_info.json", "state.json", "dataset_dict.json")
    )


def undecoded(ds) -> Iterator[dict[str, Any]]:
    """Rows with every ``Image`` column (top level or in a list) left undecoded (``{bytes, path}``).

    Through an iterable view with decoding off: casting the columns instead would write a
    ``cache-*.arrow`` file into the user's dataset folder for list-of-image columns, and a
    read-only command must not touch the dataset it reads.
    """
    yield from ds.to_iterable_dataset().decode(False)


def _pick_split(ds, split: str | None, where: str):
    from datasets import DatasetDict

    if not isinstance(ds, DatasetDict):
        return ds
    if split is None:
        if len(ds) == 1:
            return next(iter(ds.values()))
        raise PerceptrlError(
            f"the dataset has several splits: {', '.join(ds)}", where=where, fix="choose one with --split / split="
        )
    if split not in ds:
        raise PerceptrlError(f"no split {split!r}; splits: {', '.join(ds)}", where=where, fix="choose an existing split")
    return ds[split]


def load(path_or_id: str | Path, split: str | None = None, **load_kwargs: Any):
    """The ``datasets.Dataset`` for a local path or hub id, with offline failures explained."""
    import datasets

    where = str(path_or_id)
    path = Path(path_or_id).expanduser()
    with quiet_datasets():
        if is_saved_dataset(path):
            return _pick_split(datasets.load_from_disk(str(path)), split, where)
        if path.exists():
            builder = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv", ".arrow": "arrow"}
            if path.is_file() and path.suffix in (".csv", ".json", ".jsonl"):
                # checked first (one linear pass): datasets' CSV builder logs an ERROR and says only
                # "An error occurred", its JSON builder accepts the bytes and fails row by row later
                named = first_invalid_line(path)
                if named is not None:
                    raise named
            try:
                if path.is_file() and path.suffix in builder:
                    ds = datasets.load_dataset(builder[path.suffix], data_files=str(path), split=split or "train", **load_kwargs)
                    return _pick_split(ds, split, where)
                return _pick_split(datasets.load_dataset(str(path), split=split, **load_kwargs), split, where)
            except PerceptrlError:
                raise
            except Exception as e:  # noqa: BLE001 - datasets raises many types for unreadable folders
                raise PerceptrlError(
                    f"datasets cannot load this local path: {e}", where=where, fix="point at a save_to_disk folder, a parquet/JSON file, or a dataset repo copy"
                ) from e
        try:
            ds = datasets.load_dataset(str(path_or_id), split=split, **load_kwargs)
        except (ConnectionError, OSError) as e:
            raise PerceptrlError(
                f"Hugging Face dataset {where!r} is not in the local cache and the hub cannot be reached ({e})",
                where=where,
                fix=(
                    "point at a local copy instead: download it where there is network "
                    f"(`hf download {where} --repo-type dataset --local-dir DIR`, or "
                    "`datasets.load_dataset(...).save_to_disk(DIR)`), copy DIR here and pass DIR as the path"
                ),
            ) from e
        except Exception as e:  # noqa: BLE001 - e.g. DatasetNotFoundError, bad config name
            raise PerceptrlError(
                f"cannot load Hugging Face dataset {where!r}: {e}",
                where=where,
                fix="check the id/config/split, or pass the path of a local copy",
            ) from e
    return _pick_split(ds, split, where)


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
