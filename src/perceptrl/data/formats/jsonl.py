"""JSONL + image folder: one canonical example per line, image paths relative to the JSONL's folder.

Line layout written (and read)::

    {"id": "g-0001", "images": ["images/g-0001_0.png"], "problem": "<image>Find x.", "answer": "3",
     "choices": null, "visual_annotations": ["AB = 10"], "boxes": [], "caption": null, "metadata": {}}

The reader also accepts a ``.json`` list, or an object of rows keyed by id (MathVista's GitHub
``testmini.json``), and common variants: ``image`` (one path), ``question``/``solution``, and a
Perception-R1 ``visual_key_info`` string. Unknown keys are kept in ``metadata``. Bytes inside
metadata (rare: a binary column carried over from parquet) are stored as ``{"__bytes_b64__": ...}``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perceptrl.data.encoding import read_lines, read_text
from perceptrl.data.json_lines import has_surrogate, may_hold_surrogate
from perceptrl.data.formats._rows import (
    BINARY_TEXT_KEY,
    IMAGE_PATHS_KEY,
    canonical_cells,
    example_from_row,
    example_image_bytes,
    raw_or,
)
from perceptrl.data.images import image_extension
from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError

_B64 = "__bytes_b64__"


def _encode(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return {_B64: base64.b64encode(bytes(obj)).decode("ascii")}
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _B64 in obj:
        return base64.b64decode(obj[_B64])
    return obj


def _surrogate_error(path: Path, where: str) -> PerceptrlError:
    return PerceptrlError(
        f"{where} holds an unpaired surrogate escape (such as \\ud800): valid JSON, but not a character, "
        "and no UTF-8 file can store it",
        where=where,
        fix="remove the escape or write the character it was meant to be (a pair \\ud83d\\ude00 is fine)",
    )


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``.json`` list or a JSONL file; the first undecodable or invalid line raises
    :class:`PerceptrlError` naming ``path:line`` (see :mod:`perceptrl.data.encoding`)."""
    if path.suffix == ".json":
        text = read_text(path)
        try:
            data = json.loads(text, object_hook=_decode)
        except json.JSONDecodeError as e:
            raise PerceptrlError(f"invalid JSON: {e}", where=f"{path}:{e.lineno}", fix="fix the JSON syntax") from e
        if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
            # an object of rows keyed by id (MathVista's GitHub testmini.json): the key is the id
            # when the row has none of its own
            data = [v if any(k in v for k in ("id", "pid")) else {"id": key, **v} for key, v in data.items()]
        if not isinstance(data, list):
            raise PerceptrlError("a .json dataset must hold a list of objects (or an object of objects keyed by id)",
                                 where=str(path), fix="use JSONL, one object per line")
        if may_hold_surrogate(text):
            for i, row in enumerate(data):
                if has_surrogate(row):
                    raise _surrogate_error(path, f"{path}, row {i}")
        return data
    rows = []
    for lineno, line in read_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line, object_hook=_decode)
        except json.JSONDecodeError as e:
            raise PerceptrlError(f"invalid JSON on line {lineno}: {e.msg}", where=f"{path}:{lineno}", fix="fix or remove that line") from e
        if not isinstance(row, dict):
            raise PerceptrlError(f"line {lineno} is not a JSON object", where=f"{path}:{lineno}", fix="one object per line")
        if may_hold_surrogate(line) and has_surrogate(row):
            raise _surrogate_error(path, f"{path}:{lineno}")
        rows.append(row)
    return rows


def read(path: str | Path, column_mapping: dict[str, str] | None = None, **_: Any) -> list[Example]:
    path = Path(path)
    root = str(path.parent.resolve())
    return [
        example_from_row(r, i, root=root, source=str(path), column_mapping=column_mapping, merge_metadata_column=True)
        for i, r in enumerate(read_rows(path))
    ]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80] or "x"


def write_json_rows(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """One row per line: JSON Lines for ``.jsonl``, a JSON list (what the reader expects) for ``.json``."""
    lines = [json.dumps(row, ensure_ascii=False, default=_encode) for row in rows]
    with path.open("w", encoding="utf-8") as f:
        if path.suffix == ".json":
            f.write("[\n" + ",\n".join(lines) + "\n]\n")
        else:
            f.write("".join(line + "\n" for line in lines))
    return path


class ImageFiles:
    """Writes examples' images as files under ``base / image_dir``, returning paths relative to
    ``base`` (the output file's folder, which readers resolve them against — so the written dataset
    validates without ``path_escape``, wherever the source images were).

    Bytes are copied verbatim (never re-encoded), named ``{id}_{k}.{ext}``. A file of that name
    holding the same bytes is reused (re-running a conversion is idempotent); one holding other
    bytes is never overwritten (it may be an image of the *input* dataset, when the output is
    written beside it): the image gets the next free name, ``{id}_{k}-1.{ext}``.
    """

    def __init__(self, base: Path, image_dir: str = "images"):
        self.base, self.image_dir = base, image_dir
        self.root = base / image_dir
        self.root.mkdir(parents=True, exist_ok=True)
        self.used: set[str] = set()

    def _free(self, name: str, data: bytes) -> bool:
        if name in self.used:
            return False
        target = self.root / name
        return not target.exists() or (target.is_file() and target.read_bytes() == data)

    def store(self, ex: Example) -> list[str]:
        rel_paths = []
        for k in range(len(ex.images)):
            data = example_image_bytes(ex, k)
            stem, ext = f"{_safe(ex.id)}_{k}", image_extension(data)
            name, n = stem + ext, 1
            while not self._free(name, data):
                name, n = f"{stem}-{n}{ext}", n + 1
            self.used.add(name)
            target = self.root / name
            if not target.exists():
                target.write_bytes(data)
            rel_paths.append(f"{self.image_dir}/{name}")
        return rel_paths


def write(examples: Sequence[Example], path: str | Path, *, image_dir: str = "images", **_: Any) -> Path:
    """Write ``path`` (a .jsonl file) and the images under ``path.parent / image_dir``
    (see :class:`ImageFiles`)."""
    path = Path(path)
    if path.suffix not in (".jsonl", ".json"):
        path = path / "data.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    files = ImageFiles(path.parent, image_dir)
    rows = []
    for ex in examples:
        rel_paths = files.store(ex)
        # internal keys and empty (None) metadata are not data: they never reach the file
        meta = {k: v for k, v in ex.metadata.items()
                if k not in ("id", "answer", IMAGE_PATHS_KEY, BINARY_TEXT_KEY) and v is not None}
        row = {
            "id": raw_or(ex, "id", ex.id),
            "images": rel_paths,
            **canonical_cells(ex),
            "metadata": meta,
        }
        rows.append(row)
    return write_json_rows(rows, path)
