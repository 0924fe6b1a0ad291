"""Summary statistics of a dataset (what ``perceptrl data inspect`` prints)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from perceptrl.data.schema import Example


def _dist(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"min": 0, "mean": 0, "median": 0, "max": 0}
    return {
        "min": min(values),
        "mean": round(statistics.fmean(values), 2),
        "median": statistics.median(values),
        "max": max(values),
    }


def dataset_stats(examples: Sequence[Example]) -> dict[str, Any]:
    """Counts, which optional fields are present, image and annotation statistics.

    Cheap: images are not decoded (``perceptrl data validate`` does that).
    """
    n = len(examples)
    ann_counts = [len(e.visual_annotations) for e in examples]
    ann_lengths = [len(a) for e in examples for a in e.visual_annotations]
    image_kinds = Counter(type(s).__name__ if not isinstance(s, str) else "path" for e in examples for s in e.images)
    meta_keys = Counter(k for e in examples for k in e.metadata)
    return {
        "rows": n,
        "unique_ids": len({e.id for e in examples}),
        "fields_present": {
            "images": sum(bool(e.images) for e in examples),
            "choices": sum(e.choices is not None for e in examples),
            "visual_annotations": sum(bool(e.visual_annotations) for e in examples),
            "boxes": sum(bool(e.boxes) for e in examples),
            "caption": sum(e.caption is not None for e in examples),
        },
        "metadata_keys": dict(meta_keys.most_common()),
        "images_per_row": dict(sorted(Counter(len(e.images) for e in examples).items())),
        "image_sources": dict(image_kinds),
        "problem_chars": _dist([len(e.problem) for e in examples]),
        "answer_chars": _dist([len(e.answer) for e in examples]),
        "annotations_per_row": _dist(ann_counts),
        "annotation_chars": _dist(ann_lengths),
        "rows_without_annotations": sum(c == 0 for c in ann_counts),
    }
