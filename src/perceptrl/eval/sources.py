"""Read a benchmark's raw rows from the Hugging Face hub cache or from a local copy.

A *source* is either a hub id (``AI4Math/MathVista``) or a local path:

* a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` (``load_from_disk``);
* a folder of ``.parquet`` / ``.jsonl`` / ``.json`` files, of which those *named* for the split are
  read (``test.jsonl``, ``testmini-00000-of-00001.parquet``; exact: split ``test`` does not read
  ``testmini.jsonl``), or one such file. JSON is read as plain rows (a list, JSON Lines, or an
  object of rows keyed by id as in MathVista's GitHub ``testmini.json``);
* a Geometry3K folder as released with InterGPS (``NNN/data.json`` + ``img_diagram.png``, or the
  folder of its ``train``/``val``/``test`` splits).

Image columns are read *undecoded* (``{"bytes", "path"}``) so that a corrupt image is reported by
validation instead of crashing the loader. Relative image paths in local copies resolve against
the folder the data came from (returned as ``root``).

No network in offline mode: a hub id that is not in the local ``datasets`` cache raises
:class:`PerceptrlError` at once, with the fix (pass a local copy). Path-or-hub-id, builders,
split picking and offline errors are :mod:`perceptrl.data.hub`'s, shared with the data readers;
this module adds what is particular to benchmark copies (split files by name, JSON row layouts,
Geometry3K folders).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perceptrl.data.hub import (
    SUFFIX_BUILDERS,
    is_saved_dataset,
    load_files,
    load_hub,
    load_saved,
    looks_like_path,
    undecoded,
)
from perceptrl.errors import PerceptrlError

#: the table suffixes a benchmark folder is scanned for (``.csv``/``.arrow`` files beside them are
#: not benchmark rows: caches, notes)
DATA_SUFFIXES = {k: SUFFIX_BUILDERS[k] for k in (".parquet", ".jsonl", ".json")}
SPLIT_HOW = "--bench NAME:SPLIT=PATH"


@dataclass
class RawRows:
    """The rows of one benchmark split, as plain dicts, and where relative paths resolve."""

    rows: Any  # a datasets.Dataset (len(), column_names; iterate the RawRows) or a list of dicts
    root: str | None
    origin: str  # what was read, for error messages
    files: list[Path] = field(default_factory=list)  # the local files read (companions are looked up beside them)

    @property
    def columns(self) -> set[str]:
        names = getattr(self.rows, "column_names", None)
        if names is not None:
            return set(names)
        return set().union(*(r.keys() for r in self.rows[:50])) if len(self.rows) else set()

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict]:
        """The rows in order; image columns of a ``datasets`` table undecoded
        (:func:`perceptrl.data.hub.undecoded`, which leaves the copy's folder untouched)."""
        rows = iter(self.rows) if isinstance(self.rows, list) else undecoded(self.rows)
        i = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except UnicodeDecodeError as e:  # a string column whose bytes are not UTF-8
                raise PerceptrlError(
                    f"row {i} of {self.origin} holds text that is not UTF-8 ({e.reason})",
                    where=f"{self.origin}, row {i}",
                    fix="re-encode the benchmark's text columns as UTF-8 strings",
                ) from None
            yield row
            i += 1


_SPLIT_NAMES = {"train", "test", "testmini", "validation", "val", "valid", "dev"}
_SHARD = re.compile(r"^(?P<base>.+?)-\d{5}-of-\d{5}$")  # the hub's parquet shard names


def _stem(p: Path) -> str:
    return p.name[: -len(p.suffix)] if p.suffix else p.name


def _split_base(p: Path) -> str:
    """``testmini-00000-of-00001.parquet`` → ``testmini``; ``test.jsonl`` → ``test``."""
    m = _SHARD.match(_stem(p))
    return m.group("base") if m else _stem(p)


def _data_files(folder: Path, split: str | None) -> list[Path]:
    """The data files of ``split`` in ``folder``: files *named* for the split (``test.jsonl``,
    ``test-00000-of-00002.parquet``) or inside a folder named for it — exactly, so ``test`` never
    also takes ``testmini.jsonl``. With no file named for the split: one data file, or the shards
    of one table, is used as is; files named for other splits, or several unrelated files, are an
    error listing what is there (merging them would evaluate the wrong rows, or the same rows twice)."""
    files = sorted(p for p in folder.rglob("*") if p.suffix in DATA_SUFFIXES and p.is_file())
    if not split or not files:
        return files
    exact = [p for p in files if _split_base(p) == split or p.parent.name == split]
    if exact:
        return exact
    bases = sorted({_split_base(p) for p in files})
    named = [b for b in bases if b in _SPLIT_NAMES]
    if len(bases) == 1 and not named:
        return files
    listing = ", ".join(str(p.relative_to(folder)) for p in files[:12]) + (", …" if len(files) > 12 else "")
    raise PerceptrlError(
        f"no data file for split {split!r} in this folder (it has: {listing})",
        where=str(folder),
        fix=(f"pick the split by name (NAME:{named[0]}=FOLDER)" if named else "pass the data file itself (NAME=FILE)")
        + " — split names match file names exactly",
    )


def _json_rows(path: Path) -> list[dict]:
    """Rows of a ``.jsonl`` file, a ``.json`` list, or a ``.json`` object of rows keyed by id (the
    layout of MathVista's GitHub ``testmini.json``: ``{"1": {"pid": "1", …}, …}``), read as plain
    dicts: no schema inference, so rows whose cells differ in type (``options`` ``[]`` in one row,
    a list of strings in the next; ``choices`` null or a list) load as written."""
    from perceptrl.data.encoding import read_text
    from perceptrl.data.formats.jsonl import read_rows

    if path.suffix == ".jsonl":
        return read_rows(path)
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise PerceptrlError(f"invalid JSON: {e}", where=f"{path}:{e.lineno}", fix="fix the JSON syntax") from e
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return data
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        rows = []
        for key, value in data.items():
            row = dict(value)
            if "pid" not in row and "id" not in row:
                row["id"] = key  # the key is the only id the row has
            rows.append(row)
        return rows
    raise PerceptrlError(
        "a .json benchmark file must hold a list of rows, or an object of rows keyed by id",
        where=str(path),
        fix="pass the benchmark's data file (e.g. MathVista data/testmini.json, MathVerse data/testmini_text_only.json)",
    )


def _load_local(path: Path, split: str | None):
    from perceptrl.data.formats import geometry3k

    if is_saved_dataset(path):
        return load_saved(path, split, SPLIT_HOW), str(path), [path]
    if geometry3k.is_layout(path):  # InterGPS: NNN/{data.json, img_diagram.png}
        rows, root = geometry3k.read_rows(path, split, default_split="test")
        return rows, root, [Path(root)]
    files = [path] if path.is_file() else _data_files(path, split)
    if not files:
        raise PerceptrlError(
            "no data files found",
            where=str(path),
            fix="point to a save_to_disk folder, or a folder/file of .parquet, .jsonl or .json rows",
        )
    root = path if path.is_dir() else path.parent
    if {DATA_SUFFIXES.get(p.suffix) for p in files} == {"json"}:
        if len({p.parent for p in files}) == 1:
            root = files[0].parent  # relative image paths start beside the file (MathVista data/images/…)
        return [r for p in files for r in _json_rows(p)], str(root), files
    return load_files(files, "train", str(path)), str(root), files


def load_rows(
    source: str, *, split: str | None = None, config: str | None = None, offline: bool | None = None
) -> RawRows:
    """Rows of ``source`` (hub id or local path) for ``split``; see the module docstring."""
    path = Path(source).expanduser()
    if path.exists():
        ds, root, files = _load_local(path, split)
        return RawRows(ds, root, str(path), files)
    if looks_like_path(source):
        raise PerceptrlError(
            "local benchmark copy not found", where=source, fix="check the path (it does not exist)"
        )
    ds = load_hub(source, split, config, offline=offline, how="pass the local path, e.g. --bench NAME=DIR")
    return RawRows(ds, None, source)
