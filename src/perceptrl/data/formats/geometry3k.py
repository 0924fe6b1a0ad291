"""Geometry3K as released with InterGPS (Lu et al., ACL 2021): one folder per problem.

Layout (``data/geometry3k/`` of the InterGPS repository, after ``unzip_data.sh``)::

    geometry3k/{train,val,test}/NNN/data.json         problem_text, choices, answer (a letter), id, …
    geometry3k/{train,val,test}/NNN/img_diagram.png   the diagram

The problem is a multiple-choice question: the four ``choices`` go into the prompt (rendered by
:func:`perceptrl.data.prompt.render_problem` as ``A. …``) and the gold answer is the letter; the
scorer accepts the letter or the option text. Point perceptrl at a split folder (``…/test``) or at
the folder holding the splits (then ``split`` picks one, default ``train`` for training data).
Read-only: writing goes through the other formats.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perceptrl.data.schema import IMAGE_PLACEHOLDER, Example
from perceptrl.errors import PerceptrlError

DATA_FILE = "data.json"
IMAGE_FILE = "img_diagram.png"
SPLITS = ("train", "val", "test")


def is_problem_folder(path: Path) -> bool:
    return (path / DATA_FILE).is_file()


def is_layout(path: Path) -> bool:
    """A split folder of problem folders, or a folder of split folders (checks a few entries only)."""
    if not path.is_dir():
        return False
    subdirs = [p for p in path.iterdir() if p.is_dir()]
    if any(is_problem_folder(p) for p in subdirs[:20]):
        return True
    return any((path / s).is_dir() and is_layout(path / s) for s in SPLITS)


def split_folder(path: Path, split: str | None, default: str = "train") -> Path:
    """The folder of problem folders for ``split`` (``path`` itself when it is one)."""
    subdirs = [p for p in path.iterdir() if p.is_dir()]
    if any(is_problem_folder(p) for p in subdirs[:20]):
        return path
    have = [s for s in SPLITS if (path / s).is_dir()]
    want = split or default
    if want not in have:
        raise PerceptrlError(
            f"no split {want!r} in this Geometry3K folder (it has: {', '.join(have) or 'none'})",
            where=str(path),
            fix=f"pick one of {', '.join(have)} (split= / --split / NAME:SPLIT), or point at a split folder",
        )
    return path / want


def _sort_key(p: Path) -> tuple[int, str]:
    return (int(p.name), p.name) if p.name.isdigit() else (1 << 62, p.name)


def read_rows(path: str | Path, split: str | None = None, default_split: str = "train") -> tuple[list[dict[str, Any]], str]:
    """The raw ``data.json`` rows of a split, each with ``image`` (path relative to the returned
    root) and ``folder`` added, in numeric folder order."""
    folder = split_folder(Path(path).expanduser(), split, default_split)
    rows = []
    for sub in sorted((p for p in folder.iterdir() if p.is_dir() and is_problem_folder(p)), key=_sort_key):
        from perceptrl.data.encoding import read_text

        where = sub / DATA_FILE
        try:
            row = json.loads(read_text(where))
        except json.JSONDecodeError as e:
            raise PerceptrlError(f"invalid JSON: {e}", where=f"{where}:{e.lineno}", fix="fix the JSON syntax or remove the folder") from e
        if not isinstance(row, dict):
            raise PerceptrlError("data.json must hold one JSON object", where=str(where), fix="restore the file from the release")
        row = dict(row)
        row["image"] = f"{sub.name}/{IMAGE_FILE}"
        row["folder"] = sub.name
        rows.append(row)
    if not rows:
        raise PerceptrlError("no problem folders (NNN/data.json) found", where=str(folder),
                             fix="point at a Geometry3K split folder such as geometry3k/test")
    return rows, str(folder.resolve())


def example_from_row(row: dict[str, Any], index: int, root: str | None, bench: str | None = None) -> Example:
    """One problem: ``<image>`` + problem text, the choices, the letter as gold."""
    text = str(row.get("problem_text") or row.get("problem") or "")
    choices = [str(c) for c in row.get("choices") or []] or None
    meta: dict[str, Any] = {"question_type": "multi_choice" if choices else "free_form"}
    for k in ("problem_type_graph", "problem_type_goal", "source"):
        if row.get(k) is not None:
            meta[k] = row[k]
    if bench:
        meta["bench"] = bench
    return Example(
        id=str(row.get("id") if row.get("id") is not None else row.get("folder", index)),
        images=[row["image"]],
        problem=text if IMAGE_PLACEHOLDER in text else IMAGE_PLACEHOLDER + text,
        answer=str(row.get("answer") or "").strip(),
        choices=choices,
        metadata=meta,
        root=root,
    )


def read(path: str | Path, split: str | None = None, **_: Any) -> list[Example]:
    rows, root = read_rows(path, split)
    return [example_from_row(r, i, root) for i, r in enumerate(rows)]


def write(examples, path, **_):  # noqa: ANN001
    raise PerceptrlError("the geometry3k format is read-only", where=str(path),
                         fix="write with --to jsonl, trl, perception_r1 or hf")
