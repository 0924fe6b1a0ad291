"""Load any image-text-to-text model transformers supports, by hub id or local path.

One call gives ``(model, processor)`` through the Auto classes, with dtype / device map /
attention implementation options and, optionally, LoRA adapters via PEFT. Qwen2-VL-family
checkpoints get :class:`~perceptrl.models.processor.QwenVLImageOnlyProcessor` when the stock
processor cannot be built (it needs torchvision for its video processor).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

from perceptrl.data.hub import looks_like_path
from perceptrl.errors import PerceptrlError
from perceptrl.models.processor import QWEN_VL_MODEL_TYPES, QwenVLImageOnlyProcessor

logger = logging.getLogger(__name__)

__all__ = ["load_processor", "load_vlm", "wrap_lora"]

_FETCH_FIX = (
    "pass a local directory holding config.json and the weights (a tiny offline one: "
    "`perceptrl model build-tiny --out DIR`), or check the hub id and, with network access, "
    "download it first (`hf download ID`); offline, set HF_HUB_OFFLINE=1 and use a cached id"
)


def _load_config(name_or_path: str, trust_remote_code: bool):
    """The model config, or a PerceptrlError naming the path/id and the fix."""
    if looks_like_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_dir():
            what = "is a file, not a model directory" if path.exists() else "does not exist"
            raise PerceptrlError(f"model path {name_or_path} {what}", where=str(path), fix=_FETCH_FIX)
        if not (path / "config.json").is_file():
            raise PerceptrlError(
                f"{path} has no config.json, so it is not a saved transformers model",
                where=str(path),
                fix="point to the directory written by `save_pretrained` (it holds config.json, the weights and "
                "the processor files)",
            )
    try:
        return AutoConfig.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    except OSError as e:  # not found locally, not on the hub, or no network
        if looks_like_path(name_or_path):
            raise PerceptrlError(
                f"cannot read the model config in {name_or_path}: {str(e).splitlines()[0]}",
                where=f"{name_or_path}/config.json",
                fix="re-save the model with `save_pretrained` (config.json is unreadable or corrupt)",
            ) from e
        raise PerceptrlError(
            f"cannot load model {name_or_path!r}: not a local directory and not available from the Hugging Face "
            f"Hub cache or network ({type(e).__name__}: {str(e).splitlines()[0]})",
            where=name_or_path,
            fix=_FETCH_FIX,
        ) from e
    except ValueError as e:  # unknown model_type and so on
        raise PerceptrlError(
            f"transformers cannot build model {name_or_path!r}: {str(e).splitlines()[0]}",
            where=f"{name_or_path}/config.json",
            fix="use a model type the installed transformers supports, or pass trust_remote_code=True for a "
            "checkpoint that ships its own code",
        ) from e


def _torchvision_available() -> bool:
    return importlib.util.find_spec("torchvision") is not None


def load_processor(
    name_or_path: str | os.PathLike,
    *,
    model_type: str | None = None,
    trust_remote_code: bool = False,
    **processor_kwargs: Any,
):
    """``AutoProcessor.from_pretrained``, falling back to the image-only processor for the
    Qwen2-VL family when torchvision is absent (the stock processor would fail to build).

    ``model_type`` is read from the folder's config when not given. ``processor_kwargs`` reach
    the sub-processors, e.g. ``size={"shortest_edge": 3136, "longest_edge": 1806336}``
    (Perception-R1's pixel bounds; transformers 5 deprecates ``min_pixels``/``max_pixels``) for
    the image processor or ``padding_side="left"`` for the tokenizer.
    """
    name = str(name_or_path)
    if model_type is None:
        try:
            model_type = AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code).model_type
        except (OSError, ValueError):
            pass  # a processor-only folder: AutoProcessor decides below
    try:
        if model_type in QWEN_VL_MODEL_TYPES and not _torchvision_available():
            return QwenVLImageOnlyProcessor.from_pretrained(name, **processor_kwargs)
        return AutoProcessor.from_pretrained(name, trust_remote_code=trust_remote_code, **processor_kwargs)
    except (OSError, ValueError) as e:
        raise PerceptrlError(
            f"cannot load the processor (tokenizer / image processor) of {name}: {str(e).splitlines()[0]}",
            where=name,
            fix="save the processor next to the model (`processor.save_pretrained(dir)`), or load it from the "
            "original checkpoint",
        ) from e


def wrap_lora(model, lora: Any):
    """Wrap ``model`` with PEFT LoRA adapters.

    ``lora`` is a ``peft.LoraConfig`` or a mapping of its keyword arguments; a mapping defaults
    to ``task_type="CAUSAL_LM"`` and, for Qwen2-VL-family models, to the language model's
    attention and MLP projections (the vision tower stays frozen, as in Perception-R1's LoRA runs).
    """
    from peft import LoraConfig, get_peft_model

    if isinstance(lora, Mapping):
        kwargs = dict(lora)
        kwargs.setdefault("task_type", "CAUSAL_LM")
        if "target_modules" not in kwargs and getattr(model.config, "model_type", None) in QWEN_VL_MODEL_TYPES:
            # A regex so that only the language model's projections match (the vision tower uses
            # other names for most layers, but its MLP also has gate/up/down_proj in Qwen2.5-VL).
            kwargs["target_modules"] = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
        try:
            lora = LoraConfig(**kwargs)
        except TypeError as e:
            raise PerceptrlError(
                f"invalid LoRA option: {e}", where="load_vlm(lora=...)", fix="use peft.LoraConfig keyword arguments"
            ) from e
    elif not isinstance(lora, LoraConfig):
        raise PerceptrlError(
            f"lora must be a peft.LoraConfig or a dict of its arguments, got {type(lora).__name__}",
            where="load_vlm(lora=...)",
            fix="pass e.g. lora={'r': 16, 'lora_alpha': 32}",
        )
    try:
        return get_peft_model(model, lora)
    except ValueError as e:  # e.g. no default target modules for this architecture
        raise PerceptrlError(
            f"cannot add LoRA adapters: {str(e).splitlines()[0]}",
            where="load_vlm(lora=...)",
            fix="name the layers to adapt, e.g. lora={'target_modules': ['q_proj', 'v_proj']}",
        ) from e


def _torch_dtype(dtype: Any) -> Any:
    """``"auto"``, a ``torch.dtype``, or the name of one (checked)."""
    if isinstance(dtype, str) and dtype != "auto":
        if not isinstance(getattr(torch, dtype, None), torch.dtype):
            raise PerceptrlError(
                f"unknown dtype {dtype!r}",
                where="load_vlm(dtype=...)",
                fix="use 'auto', 'float32', 'bfloat16' or 'float16'",
            )
        return getattr(torch, dtype)
    return dtype


def _image_text_model(name: str, config: Any, kwargs: dict[str, Any]):
    try:
        return AutoModelForImageTextToText.from_pretrained(name, **kwargs)
    except ValueError as e:
        if "Unrecognized configuration class" not in str(e):
            raise
        raise PerceptrlError(
            f"{name!r} (model_type {config.model_type!r}) is not an image-text-to-text model",
            where=name,
            fix="use a vision-language model that AutoModelForImageTextToText supports (Qwen2-VL, Qwen2.5-VL, ...)",
        ) from e


def load_vlm(
    name_or_path: str | os.PathLike,
    *,
    dtype: Any = "auto",
    device_map: Any = None,
    attn_implementation: str | None = None,
    lora: Any = None,
    trust_remote_code: bool = False,
    processor_kwargs: Mapping[str, Any] | None = None,
):
    """Load an image-text-to-text model and its processor.

    Args:
        name_or_path: a hub id (``"Qwen/Qwen2.5-VL-3B-Instruct"``) or a local directory.
        dtype: ``"auto"`` (the checkpoint's dtype), a ``torch.dtype`` or its name (``"bfloat16"``).
        device_map: passed to ``from_pretrained`` (``"auto"``, ``"cpu"``, a dict...); None keeps CPU.
        attn_implementation: ``"sdpa"``, ``"eager"``, ``"flash_attention_2"``...; None = transformers' default.
        lora: None, a ``peft.LoraConfig``, or a dict of its arguments (see :func:`wrap_lora`).
        trust_remote_code: allow checkpoints that ship their own modelling code.
        processor_kwargs: passed to the processor's ``from_pretrained`` (``size`` with
            ``shortest_edge``/``longest_edge`` pixel bounds, ``padding_side``...); None keeps the checkpoint's settings.

    Returns:
        ``(model, processor)``; the model is a ``PeftModel`` when ``lora`` is given.

    Raises:
        PerceptrlError: the path does not exist, is not a saved model, or the id cannot be fetched.
    """
    name = str(name_or_path)
    config = _load_config(name, trust_remote_code)
    kwargs: dict[str, Any] = {"dtype": _torch_dtype(dtype), "trust_remote_code": trust_remote_code}
    if device_map is not None:
        kwargs["device_map"] = device_map
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    model = _image_text_model(name, config, kwargs)
    processor = load_processor(
        name, model_type=config.model_type, trust_remote_code=trust_remote_code, **dict(processor_kwargs or {})
    )
    logger.info(
        "loaded %s (%s, %.1fM params) with %s",
        name,
        type(model).__name__,
        sum(p.numel() for p in model.parameters()) / 1e6,
        type(processor).__name__,
    )
    if lora is not None:
        model = wrap_lora(model, lora)
    return model, processor
