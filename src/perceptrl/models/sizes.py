"""Sizes of the tiny test VLM (kept free of torch imports so the CLI parser stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from perceptrl.config.options import option
from perceptrl.errors import PerceptrlError

__all__ = ["TINY_ARCHS", "TinyVLMSize"]

#: Architectures :func:`build_tiny_vlm` can build (``config.model_type`` values).
TINY_ARCHS = ("qwen2_5_vl", "qwen2_vl")


@dataclass(frozen=True)
class TinyVLMSize:
    """Sizes of the tiny VLM. Defaults give ~1.4 M parameters (both archs; the vocabulary is
    ~900 tokens with the built-in corpus) and a forward pass over a 224 px image in a few
    milliseconds on CPU. Not a paper setting: the smallest model that exercises every code path."""

    hidden_size: int = option(128, help="Language model width (also the vision merger's output width).")
    layers: int = option(4, help='Language model decoder layers.')
    heads: int = option(4, help='Attention heads of the language model (head dim = hidden_size / heads).')
    kv_heads: int = option(2, help='Key/value heads (grouped-query attention, as in Qwen2).')
    intermediate_size: int = option(512, help='Language model MLP width.')
    vision_hidden_size: int = option(64, help='Vision transformer width.')
    vision_layers: int = option(2, help='Vision transformer blocks.')
    vision_heads: int = option(2, help='Vision attention heads.')
    vocab_size: int = option(2048, help='Upper bound of the BPE vocabulary (the corpus may stop merges earlier).')
    min_pixels: int = option(56 * 56, help="Images smaller than this are upscaled (the image processor's ``shortest_edge``).")
    max_pixels: int = option(224 * 224, help='Images larger than this are downscaled: at most 64 merged image tokens per image.')

    def __post_init__(self) -> None:
        if self.hidden_size % self.heads or (self.hidden_size // self.heads) % 8:
            raise PerceptrlError(
                f"hidden_size={self.hidden_size} with heads={self.heads} gives a head dim that is not a multiple of 8",
                where="TinyVLMSize",
                fix="choose hidden_size = heads * a multiple of 8 (e.g. 128 with 4 heads)",
            )
        if self.heads % self.kv_heads:
            raise PerceptrlError(
                f"heads={self.heads} is not a multiple of kv_heads={self.kv_heads}",
                where="TinyVLMSize",
                fix="choose kv_heads dividing heads",
            )
        if self.vision_hidden_size % self.vision_heads or (self.vision_hidden_size // self.vision_heads) % 4:
            raise PerceptrlError(
                f"vision_hidden_size={self.vision_hidden_size} with vision_heads={self.vision_heads} gives a head dim "
                "that is not a multiple of 4",
                where="TinyVLMSize",
                fix="choose vision_hidden_size = vision_heads * a multiple of 4 (e.g. 64 with 2 heads)",
            )

    def mrope_section(self) -> list[int]:
        """Split of the rotary half-dimension over (time, height, width), in Qwen's 2:3:3 ratio."""
        half = self.hidden_size // self.heads // 2
        t = half // 4
        h = (half - t) // 2
        return [t, h, half - t - h]
