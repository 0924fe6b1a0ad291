"""TRL conversational rows: ``prompt`` (chat messages with ``{"type": "image"}`` parts), ``images``
(or ``image``), ``solution`` (or ``answer``) — what ``trl.GRPOTrainer`` consumes for VLMs.

Reading: the problem text is the ``problem`` column when present (perceptrl writes one), otherwise
the last user turn with each image part turned back into an ``<image>`` placeholder; a system turn
goes to ``metadata["system_prompt"]``. Writing: ``prompt`` is built by
:func:`perceptrl.data.prompt.build_messages` with ``template`` (default ``"plain"``: the problem as
is; pass ``"perception_r1"`` to add the Perception-R1 instruction), images are an ``Image`` list
column, the gold answer goes to ``solution`` (the name TRL's reward functions receive), and every
canonical field is kept as its own column, so TRL passes it to reward functions as a keyword.
Files: ``.parquet``, ``.jsonl``/``.json`` (images as paths), or a ``save_to_disk`` folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perceptrl.data.formats._hfwrite import quiet_datasets, rows_to_dataset
from perceptrl.data.encoding import decode_cell
from perceptrl.data.formats._rows import BINARY_TEXT_KEY, canonical_cells, example_from_row, image_structs, metadata_columns, raw_or
from perceptrl.data.images import read_image_bytes, resolve_path
from perceptrl.data.prompt import build_messages
from perceptrl.data.schema import IMAGE_PLACEHOLDER, Example
from perceptrl.errors import PerceptrlError

CANDIDATES = {
    "id": ("id",),
    "images": ("images", "image"),
    "problem": ("problem",),
    "answer": ("solution", "answer"),
    "choices": ("choices",),
    "visual_annotations": ("visual_annotations", "visual_key_info"),
    "boxes": ("boxes",),
    "caption": ("caption",),
}


def _decoded(value: Any, problems: list[str | None]) -> Any:
    """``value`` with every bytes string in it decoded (a binary ``prompt`` column); one entry per
    decoded string in ``problems`` (``None`` when it was UTF-8)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        text, problem = decode_cell(value)
        problems.append(problem)
        return text
    if isinstance(value, dict):
        return {k: _decoded(v, problems) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decoded(v, problems) for v in value]
    return value


def problem_from_prompt(prompt: Any) -> tuple[str, str | None]:
    """(problem text with ``<image>`` placeholders, system prompt) from TRL chat messages."""
    if isinstance(prompt, str):
        return prompt, None
    system = None
    problem = ""
    for msg in prompt or []:
        content = msg.get("content")
        if isinstance(content, str):
            text = content
        else:
            text = "".join(
                IMAGE_PLACEHOLDER if part.get("type") == "image" else (part.get("text") or "")
                for part in content or []
            )
        if msg.get("role") == "system":
            system = text
        elif msg.get("role") == "user":
            problem = text
    return problem, system


def is_trl_row(row: dict[str, Any]) -> bool:
    return isinstance(row.get("prompt"), list)


def read_rows(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    if path.is_dir():
        from datasets import DatasetDict, load_from_disk

        from perceptrl.data.hub import undecoded

        ds = load_from_disk(str(path))
        if isinstance(ds, DatasetDict):
            ds = ds[split or next(iter(ds))]
        return list(undecoded(ds))
    if path.suffix in (".jsonl", ".json"):
        from perceptrl.data.formats.jsonl import read_rows as read_json_rows

        return read_json_rows(path)
    from perceptrl.data.formats.perception_r1 import read_rows as read_parquet_rows

    return read_parquet_rows(path, split)


def read(path: str | Path, split: str | None = None, **_: Any) -> list[Example]:
    path = Path(path)
    rows = read_rows(path, split)
    root = str((path if path.is_dir() else path.parent).resolve())
    out = []
    for i, row in enumerate(rows):
        if "prompt" not in row:
            raise PerceptrlError(
                "not a TRL conversational dataset: no 'prompt' column",
                where=str(path),
                fix=f"columns present: {', '.join(row)}; pick another --format",
            )
        row = dict(row)
        prompt = row.pop("prompt")
        ex = example_from_row(row, i, root=root, source=str(path), candidates=CANDIDATES)
        if "problem" not in row:
            problems: list[str | None] = []
            prompt = _decoded(prompt, problems)
            if problems:  # a binary prompt column: reported like any binary text column
                bad = [p for p in problems if p is not None]
                ex.metadata.setdefault(BINARY_TEXT_KEY, {})["problem"] = ["prompt", bad[0] if bad else None]
            ex.problem, system = problem_from_prompt(prompt)
            if system is not None:
                ex.metadata["system_prompt"] = system
        out.append(ex)
    return out


def to_rows(examples: Sequence[Example], template: str = "plain", embed_images: bool = True, image_files: Any = None) -> list[dict[str, Any]]:
    """Rows in the TRL layout. Images: ``{"bytes", "path"}`` structs (``embed_images``), else paths
    written by ``image_files`` (a :class:`~perceptrl.data.formats.jsonl.ImageFiles`, relative to the
    output's folder), else absolute paths of the source files (in-memory use only)."""
    extra = metadata_columns(examples, consumed=("id", "answer", "system_prompt"))
    rows = []
    for ex in examples:
        messages = build_messages(ex, template)
        if ex.metadata.get("system_prompt"):
            messages = [{"role": "system", "content": [{"type": "text", "text": ex.metadata["system_prompt"]}]}, *messages]
        if embed_images:
            images = image_structs(ex)
        elif image_files is not None:
            images = image_files.store(ex)
        else:
            images = [str(resolve_path(s, ex.root)) if isinstance(s, str) else read_image_bytes(s) for s in ex.images]
        row = {
            "id": raw_or(ex, "id", ex.id),
            "prompt": messages,
            "images": images,
            **canonical_cells(ex, answer_key="solution"),
        }
        for k in extra:
            row[k] = ex.metadata.get(k)
        rows.append(row)
    return rows


def write(examples: Sequence[Example], path: str | Path, *, template: str = "plain", image_dir: str = "images", **_: Any) -> Path:
    path = Path(path)
    try:
        if path.suffix in (".jsonl", ".json"):
            from perceptrl.data.formats.jsonl import ImageFiles, write_json_rows

            # image files beside the JSONL, paths relative to it: absolute paths (or ones into the
            # source folder) would fail `path_escape` when the written file is validated
            path.parent.mkdir(parents=True, exist_ok=True)
            rows = to_rows(examples, template, embed_images=False, image_files=ImageFiles(path.parent, image_dir))
            return write_json_rows(rows, path)
        ds = rows_to_dataset(to_rows(examples, template), image_list_columns=("images",))
    except OSError as e:
        raise PerceptrlError(f"cannot read an image: {e}", where=str(path), fix="run `perceptrl data validate` on the source first") from e
    path.parent.mkdir(parents=True, exist_ok=True)
    with quiet_datasets():
        if path.suffix == ".parquet":
            ds.to_parquet(str(path))
        else:
            ds.save_to_disk(str(path))
    return path
