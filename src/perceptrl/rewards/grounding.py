"""Grounding rewards: IoU of the boxes a response states against the row's gold boxes
(SATORI-R1 arXiv 2505.19094, Vision-R1 arXiv 2503.06749).

Predicted boxes are read from the response's ``<answer>`` block (else the whole response) as
``[x0, y0, x1, y1]`` lists (Qwen2.5-VL's ``"bbox_2d": [...]`` JSON included) or Qwen2-VL's
``(x0,y0),(x1,y1)`` pairs. A VLM states boxes in the coordinates of the image *it saw*:

* ``coords="resized"`` (default; Qwen2.5-VL): pixels of the processor-resized image; mapped back
  with ``original_size / resized_size`` read from the row (``original_size``/``resized_size`` =
  ``[width, height]``, or a list of such pairs, one per image; also looked up in ``metadata``).
  Without both sizes the boxes are taken as original pixels;
* ``coords="norm1000"`` (Qwen2-VL): 0–1000 normalised, mapped with ``original_size``;
* ``coords="original"``: already original pixels.

Gold boxes (``row["boxes"]``, dicts or :class:`~perceptrl.data.schema.Box`) are original pixels.
Two scores, both in [0, 1]; ``None`` when the row has no gold boxes, 0 when none is predicted:

* ``iou_union`` — IoU of the union of predicted boxes with the union of gold boxes (exact, by
  coordinate compression): order- and count-free;
* ``iou_hungarian`` — one-to-one matching maximising IoU (``scipy.optimize.linear_sum_assignment``);
  the sum of matched IoUs divided by ``max(#pred, #gold)``, so missing and extra boxes both cost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

from perceptrl.rewards.answer import extract_answer_block
from perceptrl.rewards.registry import register_reward

__all__ = ["parse_boxes", "gold_boxes", "box_iou", "union_iou", "hungarian_iou", "make_iou_reward"]

_NUM = r"[-+]?\d+(?:\.\d+)?"
_LIST_RE = re.compile(rf"\[\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*\]")
_PAIR_RE = re.compile(rf"\(\s*({_NUM})\s*,\s*({_NUM})\s*\)\s*,\s*\(\s*({_NUM})\s*,\s*({_NUM})\s*\)")

Box4 = tuple[float, float, float, float]


def _norm_box(x0: float, y0: float, x1: float, y1: float) -> Box4 | None:
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def parse_boxes(text: str) -> list[Box4]:
    """Boxes stated in ``text`` (answer block preferred), as given (no rescaling), degenerate dropped."""
    block = extract_answer_block(text or "")
    src = block if block is not None and (_LIST_RE.search(block) or _PAIR_RE.search(block)) else (text or "")
    out = []
    for m in list(_LIST_RE.finditer(src)) + list(_PAIR_RE.finditer(src)):
        b = _norm_box(*(float(g) for g in m.groups()))
        if b is not None:
            out.append(b)
    return out


def _size(row: Mapping, key: str) -> list[tuple[float, float]] | None:
    v = row.get(key)
    if v is None and isinstance(row.get("metadata"), Mapping):
        v = row["metadata"].get(key)
    if v is None:
        return None
    v = list(v)
    if v and isinstance(v[0], (int, float)):
        v = [v]
    return [(float(w), float(h)) for w, h in v]


def gold_boxes(row: Mapping, image_index: int = 0) -> list[Box4]:
    out = []
    for b in row.get("boxes") or []:
        if not isinstance(b, Mapping):
            b = {"x0": b.x0, "y0": b.y0, "x1": b.x1, "y1": b.y1, "image_index": getattr(b, "image_index", 0)}
        if int(b.get("image_index", 0) or 0) != image_index:
            continue
        nb = _norm_box(float(b["x0"]), float(b["y0"]), float(b["x1"]), float(b["y1"]))
        if nb is not None:
            out.append(nb)
    return out


def to_original(boxes: Sequence[Box4], row: Mapping, coords: str, image_index: int = 0) -> list[Box4]:
    """Map predicted boxes to original pixels (see the module docstring)."""
    if coords == "original":
        return list(boxes)
    orig = _size(row, "original_size")
    if coords == "norm1000":
        if not orig:
            return list(boxes)
        sx, sy = orig[image_index][0] / 1000.0, orig[image_index][1] / 1000.0
    elif coords == "resized":
        res = _size(row, "resized_size")
        if not orig or not res:
            return list(boxes)
        sx, sy = orig[image_index][0] / res[image_index][0], orig[image_index][1] / res[image_index][1]
    else:
        raise ValueError(f"unknown coords {coords!r}; use resized, norm1000 or original")
    return [(x0 * sx, y0 * sy, x1 * sx, y1 * sy) for x0, y0, x1, y1 in boxes]


def box_iou(a: Box4, b: Box4) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def union_iou(pred: Sequence[Box4], gold: Sequence[Box4]) -> float:
    """IoU of two unions of boxes, exact: the plane is cut at every box edge and each cell is
    either inside or outside each union."""
    import numpy as np

    if not pred or not gold:
        return 0.0
    xs = np.unique([v for b in (*pred, *gold) for v in (b[0], b[2])])
    ys = np.unique([v for b in (*pred, *gold) for v in (b[1], b[3])])
    cx, cy = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2
    area = np.outer(np.diff(ys), np.diff(xs))

    def cover(boxes):
        m = np.zeros(area.shape, dtype=bool)
        for x0, y0, x1, y1 in boxes:
            m |= np.outer((cy > y0) & (cy < y1), (cx > x0) & (cx < x1))
        return m

    p, g = cover(pred), cover(gold)
    union = area[p | g].sum()
    return float(area[p & g].sum() / union) if union > 0 else 0.0


def hungarian_iou(pred: Sequence[Box4], gold: Sequence[Box4]) -> float:
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    if not pred or not gold:
        return 0.0
    m = np.array([[box_iou(p, g) for g in gold] for p in pred])
    r, c = linear_sum_assignment(m, maximize=True)
    return float(m[r, c].sum() / max(len(pred), len(gold)))


def make_iou_reward(mode: Literal["union", "hungarian"] = "hungarian", coords: str = "resized", max_boxes: int = 100):
    """``mode``: union-of-boxes IoU or Hungarian-matched mean IoU; ``coords``: the space the model
    states boxes in (Qwen2.5-VL: ``resized``); ``max_boxes``: boxes read beyond it are ignored
    (bounds the work on a degenerate response)."""
    score = {"union": union_iou, "hungarian": hungarian_iou}[mode]
    if coords not in ("resized", "norm1000", "original"):
        raise ValueError(f"unknown coords {coords!r}")

    def iou(completion: str, row: Mapping) -> float | None:
        gold = gold_boxes(row)
        if not gold:
            return None
        pred = to_original(parse_boxes(completion)[:max_boxes], row, coords)
        return score(pred, gold)

    iou.__name__ = f"iou_{mode}"
    return iou


register_reward("iou_union", factory=lambda **kw: make_iou_reward("union", **kw))(make_iou_reward("union"))
register_reward("iou_hungarian", factory=lambda **kw: make_iou_reward("hungarian", **kw))(make_iou_reward("hungarian"))
