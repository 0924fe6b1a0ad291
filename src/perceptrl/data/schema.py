"""The canonical example that every reader produces and every writer consumes.

One problem = one or more images, a problem text with one ``<image>`` placeholder per image,
a gold answer, and the optional extras the reward families need (choices for multiple choice,
visual annotations for the perception reward, boxes for grounding, a caption for caption
overlap). Rewards see an example as a plain mapping (:meth:`Example.to_row`).
"""

from __future__ import annotations

import io
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Union

from PIL import Image

IMAGE_PLACEHOLDER = "<image>"

# An image is kept as it arrived: a path (relative paths are resolved against ``Example.root``),
# encoded bytes, or a decoded PIL image. Decoding is deferred so that validation can report
# corrupt files instead of crashing on load.
ImageSource = Union[str, bytes, Image.Image]


def resolve_path(src: str, root: str | os.PathLike | None) -> Path:
    """Where a path-valued image points: ``~`` expanded, relative paths relative to ``root``.

    The one place this is decided (:meth:`Example.image_path`, validation, readers and writers all
    call it; :mod:`perceptrl.data.images` re-exports it), so the file validated is the file loaded.
    """
    p = Path(src).expanduser()
    if not p.is_absolute() and root is not None:
        p = Path(root) / p
    return p


@dataclass
class Box:
    """An axis-aligned box in *original image* pixel coordinates."""

    x0: float
    y0: float
    x1: float
    y1: float
    label: str | None = None
    image_index: int = 0

    def as_list(self) -> list[float]:
        return [self.x0, self.y0, self.x1, self.y1]


@dataclass
class Example:
    """One training or evaluation problem.

    ``metadata`` carries per-dataset fields; keys with a meaning to perceptrl:
    ``precision`` (decimal places for numeric answers), ``tolerance`` (absolute numeric tolerance),
    ``unit``, ``question_type``, ``answer_type``, ``source``.
    """

    id: str
    images: list[ImageSource]
    problem: str
    answer: str
    choices: list[str] | None = None
    visual_annotations: list[str] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    caption: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    root: str | None = None  # folder that relative image paths are resolved against

    def image_path(self, i: int) -> Path | None:
        src = self.images[i]
        if not isinstance(src, str):
            return None
        return resolve_path(src, self.root)

    def load_image(self, i: int) -> Image.Image:
        """Decode image ``i`` (no validation: call :mod:`perceptrl.data.validate` first)."""
        src = self.images[i]
        if isinstance(src, Image.Image):
            return src
        if isinstance(src, bytes):
            return Image.open(io.BytesIO(src))
        return Image.open(self.image_path(i))

    def load_images(self) -> list[Image.Image]:
        return [self.load_image(i) for i in range(len(self.images))]

    def to_row(self) -> dict[str, Any]:
        """The mapping rewards receive: every field, metadata keys also lifted to the top level
        (without overriding a canonical field)."""
        row: dict[str, Any] = {
            "id": self.id,
            "images": self.images,
            "problem": self.problem,
            "answer": self.answer,
            "choices": self.choices,
            "visual_annotations": list(self.visual_annotations),
            "boxes": [asdict(b) for b in self.boxes],
            "caption": self.caption,
            "metadata": dict(self.metadata),
        }
        for k, v in self.metadata.items():
            row.setdefault(k, v)
        return row
