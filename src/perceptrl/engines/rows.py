"""What a reward row becomes in an engine's dataset, and back: the one encoding both sides share.

A reward sees an example as :meth:`perceptrl.data.schema.Example.to_row` (without the images).
The engines carry it differently:

* **verl** passes the dataset's ``extra_info`` column to ``compute_score`` as is, and
  ``reward_model.ground_truth`` as the gold. ``extra_info`` is a parquet struct with fixed keys
  (:data:`FIELD_KEYS`: ``index``, ``id``, ``problem``, ``choices``, ``visual_annotations``,
  ``boxes``, ``caption``, ``precision``, ``tolerance``) plus ``metadata``, the other metadata as a
  JSON string: a struct needs one type per key across rows, and metadata values differ per dataset.
* **EasyR1** passes only ``response``, ``response_length`` and ``ground_truth`` (the ``answer``
  column) to a reward function, so its ``answer`` cell holds the same fields as a JSON object
  tagged with :data:`MARKER` (the *structured ground truth*); :func:`decode_ground_truth` reads it
  back, and a plain answer string stays a plain answer.

:func:`row_from_fields` turns either back into the mapping :meth:`Example.to_row` gives, so a
reward scores an engine's row exactly as it scores the example (the engine tests check this
against :class:`~perceptrl.rewards.runner.RewardRunner`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from perceptrl.data.formats._rows import BINARY_TEXT_KEY, IMAGE_PATHS_KEY
from perceptrl.data.schema import Example

#: key (and version) tagging a structured EasyR1 ground truth
MARKER = "perceptrl_row"
#: extra_info keys with a fixed type, lifted out of the metadata
LIFTED = ("precision", "tolerance")
FIELD_KEYS = ("index", "id", "problem", "choices", "visual_annotations", "boxes", "caption", *LIFTED)
_INTERNAL = (IMAGE_PATHS_KEY, BINARY_TEXT_KEY)


def _float_or_none(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def reward_fields(ex: Example, index: int) -> dict[str, Any]:
    """The row fields of ``ex`` (row ``index`` of the written file) in the engines' layout.

    ``precision``/``tolerance`` are stored as floats (``None`` when absent or not numeric; a
    non-numeric value stays in ``metadata`` as it was)."""
    meta = {k: v for k, v in ex.metadata.items() if k not in _INTERNAL}
    lifted = {k: _float_or_none(meta.get(k)) for k in LIFTED}
    for k, v in lifted.items():
        if v is not None:
            meta.pop(k, None)
    return {
        "index": int(index),
        "id": ex.id,
        "problem": ex.problem,
        "choices": list(ex.choices) if ex.choices is not None else None,
        "visual_annotations": list(ex.visual_annotations),
        "boxes": [asdict(b) for b in ex.boxes],
        "caption": ex.caption,
        **lifted,
        "metadata": json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str),
    }


def encode_ground_truth(ex: Example, index: int) -> str:
    """EasyR1's ``answer`` cell: the gold and the row fields as one JSON object (see module doc)."""
    return json.dumps({MARKER: 1, "answer": ex.answer, **reward_fields(ex, index)}, ensure_ascii=False)


def decode_ground_truth(ground_truth: Any) -> dict[str, Any] | None:
    """The fields of a structured ground truth (:func:`encode_ground_truth`), else ``None``."""
    if isinstance(ground_truth, Mapping):
        return dict(ground_truth) if MARKER in ground_truth else None
    if not isinstance(ground_truth, str) or not ground_truth.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(ground_truth)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) and MARKER in value else None


def _metadata(raw: Any) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str) and raw:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def _plain(v: Any) -> Any:
    """numpy arrays / scalars (what a parquet struct becomes in a DataProto) as Python values."""
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        return _plain(v.tolist())
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def row_from_fields(answer: Any, fields: Mapping[str, Any] | None) -> dict[str, Any]:
    """The reward row for gold ``answer`` and engine fields (verl's ``extra_info`` or a decoded
    structured ground truth): :meth:`Example.to_row` without images. Keys of ``fields`` that are not
    perceptrl's (verl adds ``num_turns``, ``rollout_reward_scores``…) are kept as row fields."""
    fields = _plain(dict(fields or {}))
    meta = _metadata(fields.pop("metadata", None))
    fields.pop(MARKER, None)
    for k in LIFTED:
        v = fields.pop(k, None)
        if v is not None:
            meta[k] = int(v) if k == "precision" and float(v).is_integer() else v
    row: dict[str, Any] = dict(fields)
    row.update({
        "answer": "" if answer is None else str(answer),
        "choices": fields.get("choices"),
        "visual_annotations": list(fields.get("visual_annotations") or []),
        "boxes": list(fields.get("boxes") or []),
        "caption": fields.get("caption"),
        "metadata": meta,
    })
    for k, v in meta.items():
        row.setdefault(k, v)
    return row
