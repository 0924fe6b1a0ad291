"""Write synthetic examples to disk in the two formats ``perceptrl synth`` promises.

* canonical: ``synth.jsonl`` + ``images/<id>.png`` (paths relative to the folder);
* Perception-R1 / EasyR1 parquet: ``synth.parquet`` (``images``, ``problem``, ``answer``,
  ``visual_key_info`` = ``<info1>…</info1>\\n<info2>…</info2>``, plus the extras).

PNG encoding is deterministic for a given image, so the same seed writes the same bytes.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, replace
from pathlib import Path

from perceptrl.data.schema import Example


def _png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def _with_image_files(examples: list[Example], out: Path) -> list[Example]:
    """Save every in-memory image under ``out/images`` and point the examples at the files."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    moved = []
    for ex in examples:
        rels = []
        for k, img in enumerate(ex.images):
            rel = f"images/{ex.id}" + (f"_{k}" if len(ex.images) > 1 else "") + ".png"
            data = img if isinstance(img, bytes) else _png(img) if not isinstance(img, str) else None
            if data is None:  # already a file path
                rels.append(img)
                continue
            (out / rel).write_bytes(data)
            rels.append(rel)
        moved.append(replace(ex, images=rels, root=str(out)))
    return moved


def write_dataset(examples: list[Example], out_dir: str | Path) -> dict[str, Path]:
    """Write ``examples`` to ``out_dir``; returns ``{"jsonl": path, "perception_r1": path}``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    on_disk = _with_image_files(examples, out)
    try:
        from perceptrl.data.io import write_examples
    except ImportError:  # the data layer's writers are not in this tree yet
        write_examples = None
    jsonl, parquet = out / "synth.jsonl", out / "synth.parquet"
    if write_examples is not None:
        write_examples(on_disk, jsonl, format="jsonl")
        write_examples(examples, parquet, format="perception_r1")
        return {"jsonl": jsonl, "perception_r1": parquet}
    _write_jsonl(on_disk, jsonl)
    _write_parquet(examples, parquet)
    return {"jsonl": jsonl, "perception_r1": parquet}


def _write_jsonl(examples: list[Example], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for ex in examples:
            row = {k: v for k, v in asdict(ex).items() if k != "root"}
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


def _write_parquet(examples: list[Example], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from perceptrl.data.annotations import format_visual_key_info

    rows = {
        "id": [ex.id for ex in examples],
        "images": [[{"bytes": _png(img), "path": None} for img in ex.images] for ex in examples],
        "problem": [ex.problem for ex in examples],
        "answer": [ex.answer for ex in examples],
        "visual_key_info": [format_visual_key_info(ex.visual_annotations) for ex in examples],
        "caption": [ex.caption for ex in examples],
        "boxes": [json.dumps([asdict(b) for b in ex.boxes]) for ex in examples],
        "metadata": [json.dumps(ex.metadata, sort_keys=True) for ex in examples],
    }
    pq.write_table(pa.table(rows), path)
