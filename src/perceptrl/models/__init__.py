"""Vision-language models: load any by id or path, build a tiny offline one, image-only processor.

Importing this package registers :class:`QwenVLImageOnlyProcessor` with ``AutoProcessor``, so
directories saved with it load through ``AutoProcessor.from_pretrained``. The loaders and the
tiny-model builder are imported on first use (they pull in the model classes; the CLI parser
should not pay for that).
"""

from __future__ import annotations

import importlib
from typing import Any

from perceptrl.models.processor import QwenVLImageOnlyProcessor
from perceptrl.models.sizes import TINY_ARCHS, TinyVLMSize

_LAZY = {
    "build_tiny_vlm": "perceptrl.models.tiny",
    "tiny_model_dir": "perceptrl.models.tiny",
    "load_processor": "perceptrl.models.loading",
    "load_vlm": "perceptrl.models.loading",
    "wrap_lora": "perceptrl.models.loading",
}

__all__ = ["TINY_ARCHS", "QwenVLImageOnlyProcessor", "TinyVLMSize", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
