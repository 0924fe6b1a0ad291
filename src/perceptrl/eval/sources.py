"""Read a benchmark's raw rows from the Hugging Face hub cache or from a local copy.

A *source* is either a hub id (``AI4Math/MathVista``) or a local path:

* a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` (``load_from_disk``);
* a folder of ``.parquet`` / ``.jsonl`` / ``.json`` files (files whose name contains the split are
  preferred, e.g. ``testmini-00000-of-00001.parquet``), or one such file.

Image columns are read *undecoded* (``{"bytes", "path"}``) so that a corrupt image is reported by
validation instead of crashing the loader. Relative image paths in local copies resolve against
the folder the data came from (returned as ``root``).

No network in offline mode: a hub id that is not in the local ``datasets`` cache raises
:class:`PerceptrlError` at once, with the fix (pass a local copy).
"""

from __future__ import annotations

import copy
import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perceptrl.errors import PerceptrlError

DATA_SUFFIXES = {".parquet": "parquet", ".jsonl": "json", ".json": "json"}


@dataclass
class RawRows:
    """The rows of one benchmark split, as plain dicts, and where relative paths resolve."""

    rows: Any  # a datasets.Dataset (indexable, len()) or a list of dicts
    root: str | None
    origin: str  # what was read, for error messages

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict]:
        for i in range(len(self.rows)):
            try:
                row = self.rows[i]
            except UnicodeDecodeError as e:  # a string column whose bytes are not UTF-8
                raise PerceptrlError(
                    f"row {i} of {self.origin} holds text that is not UTF-8 ({e.reason})",
                    where=f"{self.origin}, row {i}",
                    fix="re-encode the benchmark's text columns as UTF-8 strings",
                ) from None
            yield row


def is_offline() -> bool:
    """Offline when ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE``/``TRANSFORMERS_OFFLINE`` is set."""
    import datasets

    return bool(datasets.config.HF_HUB_OFFLINE) or any(
        os.environ.get(k, "").upper() in {"1", "ON", "YES", "TRUE"}
        for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _undecoded(ds):
    """Cast every image column (also lists of images) to ``decode=False``."""
    from datasets import Image

    for name, feature in ds.features.items():
        if isinstance(feature, Image):
            ds = ds.cast_column(name, Image(decode=False))
        elif isinstance(getattr(feature, "feature", None), Image):
            new = copy.deepcopy(feature)
            new.feature = Image(decode=False)
            ds = ds.cast_column(name, new)
    return ds


def _pick_split(dd, split: str | None, origin: str):
    from datasets import DatasetDict

    if not isinstance(dd, DatasetDict):
        return dd
    if split in dd:
        return dd[split]
    if split is None and len(dd) == 1:
        return next(iter(dd.values()))
    raise PerceptrlError(
        f"split {split!r} not found",
        where=origin,
        fix=f"pick one of the splits it has: {', '.join(dd)} (--bench NAME:SPLIT=PATH)",
    )


def _data_files(folder: Path, split: str | None) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.suffix in DATA_SUFFIXES and p.is_file())
    if split:
        preferred = [p for p in files if split in p.name or split in p.parent.name]
        if preferred:
            files = preferred
    return files


def _load_local(path: Path, split: str | None):
    import datasets

    if path.is_dir() and ((path / "dataset_dict.json").exists() or (path / "state.json").exists()):
        return _pick_split(datasets.load_from_disk(str(path)), split, str(path)), str(path)
    files = [path] if path.is_file() else _data_files(path, split)
    if not files:
        raise PerceptrlError(
            "no data files found",
            where=str(path),
            fix="point to a save_to_disk folder, or a folder/file of .parquet, .jsonl or .json rows",
        )
    kinds = {DATA_SUFFIXES.get(p.suffix) for p in files}
    if None in kinds or len(kinds) != 1:
        raise PerceptrlError(
            f"cannot read {', '.join(sorted(p.name for p in files))} as one table",
            where=str(path),
            fix="use one format per benchmark copy: .parquet, or .jsonl/.json",
        )
    try:
        ds = datasets.load_dataset(kinds.pop(), data_files=[str(p) for p in files], split="train")
    except Exception as e:  # noqa: BLE001 - datasets wraps the cause ("An error occurred while generating")
        from perceptrl.data.encoding import first_invalid_line

        for p in files:  # a text file that is not UTF-8: name its line instead
            named = first_invalid_line(p) if p.suffix in (".jsonl", ".json") else None
            if named is not None:
                raise named from e
        raise PerceptrlError(f"datasets cannot read {path}: {type(e).__name__}: {e}", where=str(path),
                             fix="check the files are complete .parquet / .jsonl / .json rows") from e
    root = path if path.is_dir() else path.parent
    return ds, str(root)


def _cached(hub_id: str) -> bool:
    """Whether ``datasets`` has any cached build of ``hub_id`` (what offline mode can load)."""
    import datasets
    from datasets.naming import camelcase_to_snakecase

    ns = hub_id.split("/")
    ns[-1] = camelcase_to_snakecase(ns[-1])
    root = os.path.join(datasets.config.HF_DATASETS_CACHE, "___".join(ns))
    return any(os.path.isdir(p) for p in glob.glob(os.path.join(root, "*", "*", "*")))


def load_rows(
    source: str, *, split: str | None = None, config: str | None = None, offline: bool | None = None
) -> RawRows:
    """Rows of ``source`` (hub id or local path) for ``split``; see the module docstring."""
    import datasets

    path = Path(source).expanduser()
    if path.exists():
        ds, root = _load_local(path, split)
        return RawRows(_undecoded(ds), root, str(path))
    if source.startswith((".", "/", "~")) or os.sep in source.strip("/").split("/", 1)[-1]:
        raise PerceptrlError(
            "local benchmark copy not found", where=source, fix="check the path (it does not exist)"
        )
    offline = is_offline() if offline is None else offline
    fix = (
        f"download it on a machine with hub access (datasets.load_dataset({source!r}"
        f"{', ' + repr(config) if config else ''}, split={split!r}).save_to_disk(DIR)), copy DIR here "
        "and pass the local path, e.g. --bench NAME=DIR"
    )
    if offline and not _cached(source):
        raise PerceptrlError(f"benchmark {source!r} is not in the local cache and the hub is offline", where=source, fix=fix)
    try:
        ds = datasets.load_dataset(source, config, split=split)
    except Exception as e:  # network, missing repo, missing split: all fixed the same way
        raise PerceptrlError(f"could not load {source!r} from the hub ({type(e).__name__}: {e})", where=source, fix=fix) from e
    return RawRows(_undecoded(ds), None, source)
