"""Feed canonical examples to TRL's GRPOTrainer without squeezing them through Arrow.

The trainer's dataset holds only a ``row_id`` column. Each batch is expanded in Python, just before
generation, into the full row: the conversational ``prompt`` (built by
:func:`perceptrl.data.prompt.build_messages`), the decoded ``images`` and every field of
:meth:`Example.to_row` (answer, choices, visual annotations, boxes, caption, metadata and its
lifted keys). Rewards therefore see exactly the row the rest of perceptrl sees, with no Arrow
schema unification (missing keys filled with None, mixed types rejected), and images are
decoded lazily, one batch at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datasets import Dataset

from perceptrl.data.images import load_rgb_images
from perceptrl.data.prompt import build_messages
from perceptrl.data.schema import Example

ROW_ID = "row_id"


class RowStore:
    """The training examples, addressable by ``row_id``."""

    def __init__(self, examples: Sequence[Example], template: str = "perception_r1"):
        self.examples = list(examples)
        self.template = template
        keys: set[str] = set()
        for ex in self.examples:
            keys.update(ex.to_row())
        # every row carries the union of keys, so TRL can build one list per key for the rewards
        self._keys = sorted(keys)

    def __len__(self) -> int:
        return len(self.examples)

    def dataset(self) -> Dataset:
        return Dataset.from_dict({ROW_ID: list(range(len(self.examples)))})

    def expand(self, row_id: int) -> dict[str, Any]:
        ex = self.examples[int(row_id)]
        row = dict.fromkeys(self._keys)
        row.update(ex.to_row())
        row["images"] = load_rgb_images(ex)  # decoded, RGB, EXIF-upright (as validation saw them)
        row["prompt"] = build_messages(ex, self.template)
        row[ROW_ID] = int(row_id)
        return row

    def expand_batch(self, inputs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.expand(x[ROW_ID]) if ROW_ID in x and "prompt" not in x else x for x in inputs]
