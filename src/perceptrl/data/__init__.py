"""Canonical examples, format readers/writers, and validation that fails early.

    from perceptrl.data import read_examples, ensure_valid, load_rgb_images
    examples = read_examples("train.parquet")            # format auto-detected
    ensure_valid(examples, processor=processor, max_prompt_length=4096, source="train.parquet")
    images = load_rgb_images(examples[0], min_pixels=3136, max_pixels=1806336)
"""

from perceptrl.data.annotations import format_visual_key_info, parse_visual_key_info
from perceptrl.data.images import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, load_rgb_images
from perceptrl.data.io import read_examples, write_examples
from perceptrl.data.schema import Box, Example
from perceptrl.data.validate import ensure_valid, validate_examples
from perceptrl.data.validation_report import ValidationReport

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MIN_PIXELS",
    "Box",
    "Example",
    "ValidationReport",
    "ensure_valid",
    "format_visual_key_info",
    "load_rgb_images",
    "parse_visual_key_info",
    "read_examples",
    "validate_examples",
    "write_examples",
]
