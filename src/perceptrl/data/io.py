"""Read and write canonical :class:`Example` lists in every supported format.

Formats: ``perception_r1`` (EasyR1 / Perception-R1 parquet), ``trl`` (TRL conversational rows),
``jsonl`` (JSONL + image folder), ``hf`` (any ``datasets`` dataset: hub id, cached or local copy).
``format="auto"`` decides from the path:

- a ``save_to_disk`` folder → ``trl`` if its rows have a ``prompt`` message list, else ``hf``;
- ``.parquet`` (or a folder of them) → ``trl`` with a ``prompt`` message list, ``perception_r1`` with
  ``images``/``problem``/``answer``, else ``hf`` (generic column names);
- ``.jsonl`` / ``.json`` → ``trl`` with a ``prompt`` message list, else ``jsonl``;
- a folder of ``NNN/data.json`` problem folders (or of ``train``/``val``/``test`` such folders) →
  ``geometry3k`` (the InterGPS release of Geometry3K);
- anything that does not exist locally → a hub id (``hf``).

Relative image paths resolve against the data file's folder; ``image_root=`` names another folder,
and a parent folder is used automatically when the paths only exist there (MATH-V's
``data/test.jsonl`` + ``images/``): see :mod:`perceptrl.data.image_root`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perceptrl.data.hub import is_saved_dataset, looks_like_path
from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError

FORMATS = ("perception_r1", "trl", "jsonl", "hf", "geometry3k")


def _module(fmt: str):
    if fmt not in FORMATS:
        raise PerceptrlError(f"unknown data format {fmt!r}", where="format", fix=f"use one of: {', '.join(FORMATS)}, auto")
    return importlib.import_module(f"perceptrl.data.formats.{fmt}")


def _first_json_row(path: Path) -> dict[str, Any]:
    """The first row of a JSON/JSONL file, ``{}`` when it is not an object. A file that is not UTF-8
    raises the named error here, before any reader (detection is the first to open it)."""
    from perceptrl.data.encoding import read_lines, read_text

    if path.suffix == ".json":
        try:
            data = json.loads(read_text(path))
        except json.JSONDecodeError:
            return {}
        return data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    for _, line in read_lines(path):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                return {}
            return row if isinstance(row, dict) else {}
    return {}


def detect_format(path_or_id: str | Path) -> str:
    """The format ``read_examples(..., format="auto")`` would use for this path (see module doc)."""
    from perceptrl.data.formats import geometry3k

    path = Path(path_or_id).expanduser()
    if not path.exists():
        if looks_like_path(str(path_or_id)):
            raise PerceptrlError(f"no such file or folder: {path_or_id}", where=str(path_or_id), fix="check the path")
        return "hf"
    if geometry3k.is_layout(path):
        return "geometry3k"
    if is_saved_dataset(path):
        try:
            from datasets import load_from_disk

            ds = load_from_disk(str(path))
            ds = ds[next(iter(ds))] if hasattr(ds, "keys") else ds
            return "trl" if _is_messages(ds.features.get("prompt")) else "hf"
        except Exception:  # noqa: BLE001 - let the hf reader raise the real error
            return "hf"
    if path.suffix in (".jsonl", ".json"):
        return "trl" if isinstance(_first_json_row(path).get("prompt"), list) else "jsonl"
    if path.suffix == ".parquet" or (path.is_dir() and any(path.rglob("*.parquet"))):
        try:
            import pyarrow.parquet as pq

            files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
            schema = pq.read_schema(files[0])
        except Exception:  # noqa: BLE001 - unreadable: the reader reports it
            return "perception_r1"
        names = schema.names
        if "prompt" in names and str(schema.field("prompt").type).startswith(("list", "large_list")):
            return "trl"
        if {"images", "problem", "answer"} <= set(names):
            return "perception_r1"
        return "hf"
    return "hf"


def _is_messages(feature: Any) -> bool:
    from datasets import List, Sequence as HFSequence

    return feature is not None and isinstance(feature, (List, HFSequence, list))


def read_examples(
    path_or_id: str | Path,
    format: str = "auto",
    split: str | None = None,
    *,
    column_mapping: dict[str, str] | None = None,
    limit: int | None = None,
    image_root: str | Path | None = None,
    **kw: Any,
) -> list[Example]:
    """Read a dataset into canonical examples.

    ``column_mapping`` maps canonical fields to source columns (``{"problem": "query"}``), for
    ``hf``/``jsonl``; extra keyword arguments go to the format's reader (for ``hf``: to
    ``datasets.load_dataset``, e.g. ``name=`` for a config). Values are not checked here: call
    :func:`perceptrl.data.validate.ensure_valid` on the result. ``image_root``: the folder relative
    image paths start from (default: the data's own folder, or a parent where they are found).
    """
    fmt = detect_format(path_or_id) if format == "auto" else format
    mod = _module(fmt)
    exists = Path(path_or_id).expanduser().exists()
    if not exists and (fmt != "hf" or looks_like_path(str(path_or_id))):
        raise PerceptrlError(f"no such file or folder: {path_or_id}", where=str(path_or_id), fix="check the path")
    kwargs = dict(kw)
    if column_mapping:
        if fmt not in ("hf", "jsonl"):
            raise PerceptrlError(
                f"column mappings apply to the hf and jsonl formats, not {fmt!r}",
                where="column_mapping",
                fix="read with format='hf' to map arbitrary columns",
            )
        kwargs["column_mapping"] = column_mapping
    examples = mod.read(path_or_id, split=split, **kwargs)
    examples = examples[:limit] if limit is not None else examples
    from perceptrl.data.image_root import apply_image_root

    apply_image_root(examples, image_root, source=str(path_or_id))
    return examples


def write_examples(examples: Sequence[Example], path: str | Path, format: str = "perception_r1", **kw: Any) -> Path:
    """Write examples in ``format``; returns the path written (a file, or a folder for ``hf``).

    ``perception_r1``: a ``.parquet`` file; ``trl``: ``.parquet``, ``.jsonl`` or a ``save_to_disk``
    folder (``template=`` picks the prompt template, default ``"plain"``); ``jsonl``: a ``.jsonl``
    file with images under ``images/`` beside it; ``hf``: a ``save_to_disk`` folder.
    """
    return _module(format).write(list(examples), path, **kw)
