"""Build a tiny, randomly initialised Qwen2-VL / Qwen2.5-VL that runs on a laptop CPU.

Tests and the CPU demo need a real VLM (same classes, same processor, same M-RoPE and image
token plumbing as the released checkpoints) without downloading one. :func:`build_tiny_vlm`
makes one in about a second: a locally trained BPE tokenizer (see
:mod:`perceptrl.models.tokenizer`), the PIL image processor with small pixel bounds, and a
model of a few million parameters. :func:`tiny_model_dir` builds it once per settings and
caches it on disk, safely when several processes (pytest workers) race.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForImageTextToText, GenerationConfig, Qwen2_5_VLConfig, Qwen2VLConfig
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from perceptrl.errors import PerceptrlError
from perceptrl.models.processor import QwenVLImageOnlyProcessor
from perceptrl.models.sizes import TINY_ARCHS, TinyVLMSize
from perceptrl.models.tokenizer import QWEN2_VL_CHAT_TEMPLATE, builtin_corpus, train_bpe_tokenizer

logger = logging.getLogger(__name__)

#: Bump when the builder changes in a way that changes the saved model: invalidates caches.
BUILDER_VERSION = 1

__all__ = ["TINY_ARCHS", "TinyVLMSize", "build_tiny_vlm", "tiny_model_dir"]


def _model_config(arch: str, size: TinyVLMSize, tok) -> Qwen2VLConfig | Qwen2_5_VLConfig:
    ids = {t: tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>")}
    vocab = len(tok)
    vocab += -vocab % 64  # room to add tokens later; a multiple of 64, like released checkpoints
    text = dict(
        vocab_size=vocab,
        hidden_size=size.hidden_size,
        intermediate_size=size.intermediate_size,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        num_key_value_heads=size.kv_heads,
        max_position_embeddings=4096,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": size.mrope_section()},
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        tie_word_embeddings=True,
    )
    special = dict(
        image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tok.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tok.convert_tokens_to_ids("<|vision_end|>"),
        tie_word_embeddings=True,
    )
    if arch == "qwen2_5_vl":
        vision = dict(
            depth=size.vision_layers,
            hidden_size=size.vision_hidden_size,
            intermediate_size=2 * size.vision_hidden_size,
            num_heads=size.vision_heads,
            out_hidden_size=size.hidden_size,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
            window_size=112,
            # Qwen2.5-VL alternates windowed and full attention; keep the last block full.
            fullatt_block_indexes=[size.vision_layers - 1],
        )
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **special)
    vision = dict(
        depth=size.vision_layers,
        embed_dim=size.vision_hidden_size,
        hidden_size=size.hidden_size,
        mlp_ratio=2,
        num_heads=size.vision_heads,
        patch_size=14,
        spatial_merge_size=2,
        temporal_patch_size=2,
    )
    return Qwen2VLConfig(text_config=text, vision_config=vision, **special)


def _check_settings(arch: str, size: dict[str, Any]) -> TinyVLMSize:
    if arch not in TINY_ARCHS:
        raise PerceptrlError(
            f"unknown tiny VLM architecture {arch!r}", where="build_tiny_vlm(arch=...)", fix=f"use one of {TINY_ARCHS}"
        )
    known = {f.name for f in dataclasses.fields(TinyVLMSize)}
    if unknown := sorted(set(size) - known):
        raise PerceptrlError(
            f"unknown tiny VLM size option(s) {unknown}", where="build_tiny_vlm(**size)", fix=f"use {sorted(known)}"
        )
    return TinyVLMSize(**size)


def build_tiny_vlm(
    arch: str = "qwen2_5_vl",
    *,
    out_dir: str | os.PathLike | None = None,
    seed: int = 0,
    extra_corpus: Iterable[str] | None = None,
    **size: Any,
) -> tuple[torch.nn.Module, QwenVLImageOnlyProcessor]:
    """Build a random-init tiny ``arch`` VLM and its processor; save both to ``out_dir`` if given.

    Args:
        arch: ``"qwen2_5_vl"`` or ``"qwen2_vl"``.
        out_dir: if set, ``save_pretrained`` the model and processor there, so that
            ``AutoModelForImageTextToText`` / ``AutoProcessor`` ``.from_pretrained(out_dir)`` load them.
        seed: seeds the weight initialisation (the tokenizer is deterministic given the corpus).
        extra_corpus: more text for the tokenizer's training corpus (e.g. ``perceptrl.synth.corpus()``).
        **size: overrides of :class:`TinyVLMSize` fields (``hidden_size=64``, ``layers=4``...).

    Returns:
        ``(model, processor)``: the model in float32 and eval mode.
    """
    dims = _check_settings(arch, size)

    tok = train_bpe_tokenizer(extra_corpus, vocab_size=dims.vocab_size)
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=dims.min_pixels, max_pixels=dims.max_pixels, patch_size=14, merge_size=2, temporal_patch_size=2
    )
    processor = QwenVLImageOnlyProcessor(
        image_processor=image_processor, tokenizer=tok, chat_template=tok.chat_template
    )

    config = _model_config(arch, dims, tok)
    with torch.random.fork_rng(devices=[]):  # seed the init without touching the caller's RNG
        torch.manual_seed(seed)
        model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
    model.eval()
    vision_ids = [
        config.image_token_id,
        config.video_token_id,
        config.vision_start_token_id,
        config.vision_end_token_id,
    ]
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=[tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")],
        pad_token_id=tok.pad_token_id,
        # An untrained model may emit vision placeholders, which would then mismatch the image
        # features in the next forward pass ("Image features and image tokens do not match").
        suppress_tokens=vision_ids,
    )
    n_params = sum(p.numel() for p in model.parameters())
    logger.debug("built tiny %s: %d parameters, vocabulary %d", arch, n_params, len(tok))
    if out_dir is not None:
        model.save_pretrained(out_dir)
        processor.save_pretrained(out_dir)
    return model, processor


def _cache_key(arch: str, dims: TinyVLMSize, extra_corpus: list[str]) -> str:
    settings = {
        "arch": arch,
        "builder_version": BUILDER_VERSION,
        "size": dataclasses.asdict(dims),
        "transformers": __import__("transformers").__version__,
        # the tokenizer's training text and the template are part of the saved model
        "corpus": hashlib.sha256(
            "\n".join(builtin_corpus() + extra_corpus + [QWEN2_VL_CHAT_TEMPLATE]).encode()
        ).hexdigest(),
    }
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return f"{arch}-{digest}"


def default_cache_root() -> Path:
    """``$PERCEPTRL_CACHE/tiny`` if set, else ``~/.cache/perceptrl/tiny``."""
    root = os.environ.get("PERCEPTRL_CACHE")
    return Path(root) / "tiny" if root else Path.home() / ".cache" / "perceptrl" / "tiny"


def tiny_model_dir(
    arch: str = "qwen2_5_vl",
    cache_root: str | os.PathLike | None = None,
    *,
    extra_corpus: Iterable[str] | None = None,
    **size: Any,
) -> Path:
    """Path of a saved tiny ``arch`` VLM (seed 0), building it on first use.

    ``extra_corpus`` and ``**size`` are as in :func:`build_tiny_vlm`. The cache key is the
    architecture plus a hash of the builder version, the size settings, the tokenizer corpus
    and the transformers version. The model is built in a temporary directory next to the
    cache entry and moved into place with one atomic ``rename``; a process that loses the race
    discards its copy and uses the winner's, so concurrent callers always see a complete
    directory.
    """
    dims = _check_settings(arch, size)
    corpus = [t for t in (extra_corpus or ()) if t]
    root = Path(cache_root) if cache_root is not None else default_cache_root()
    final = root / _cache_key(arch, dims, corpus)
    if (final / "config.json").is_file() and (final / "processor_config.json").is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
    try:
        build_tiny_vlm(arch, out_dir=tmp, seed=0, extra_corpus=corpus, **size)
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared like any model cache
        try:
            os.rename(tmp, final)
            logger.info("built tiny %s VLM in %s", arch, final)
        except OSError:
            if not (final / "config.json").is_file():
                raise  # not a lost race: a real failure
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
