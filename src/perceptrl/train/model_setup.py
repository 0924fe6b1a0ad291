"""The processor, the model (full, 4-bit QLoRA, or LoRA-wrapped; optionally with a frozen vision encoder) and
the image pixel bounds for ``train``.

The processor loads alone first (seconds) so the data is validated before the weights (minutes for 7B).
"""

from __future__ import annotations

from typing import Any

from perceptrl.errors import PerceptrlError
from perceptrl.train.config import TrainConfig


def set_pixel_bounds(processor: Any, min_pixels: int | None, max_pixels: int | None) -> None:
    ip = getattr(processor, "image_processor", None)
    if ip is None or (min_pixels is None and max_pixels is None):
        return
    size = dict(getattr(ip, "size", None) or {})
    if min_pixels is not None:
        size["shortest_edge"] = min_pixels
        if hasattr(ip, "min_pixels"):
            ip.min_pixels = min_pixels
    if max_pixels is not None:
        size["longest_edge"] = max_pixels
        if hasattr(ip, "max_pixels"):
            ip.max_pixels = max_pixels
    ip.size = type(ip.size)(**size) if getattr(ip, "size", None) is not None and not isinstance(ip.size, dict) else size


def model_name(cfg: TrainConfig) -> str:
    if not cfg.model.name_or_path:
        raise PerceptrlError("no model", where=f"{cfg.source or '<config>'}: model.name_or_path",
                             fix="set model.name_or_path (hub id or local folder), or pass model=")
    name = cfg.model.name_or_path
    if name.startswith("tiny:"):  # a tiny random-init VLM built locally, e.g. "tiny:qwen2_5_vl"
        from perceptrl.models import tiny_model_dir

        name = str(tiny_model_dir(name.split(":", 1)[1]))
    return name


def load_processor_for(cfg: TrainConfig, model: Any, processor: Any) -> Any:
    """The processor alone (seconds), so the data is validated before the weights are loaded (minutes for 7B)."""
    if processor is not None:
        return processor
    from perceptrl.models import load_processor

    if model is not None:
        name = getattr(model.config, "_name_or_path", None) or cfg.model.name_or_path
        return load_processor(name, model_type=getattr(model.config, "model_type", None))
    return load_processor(model_name(cfg))


def load_model(cfg: TrainConfig, model: Any) -> Any:
    if model is not None:
        return model
    name = model_name(cfg)
    if cfg.model.load_in_4bit:
        try:
            from transformers import BitsAndBytesConfig
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise PerceptrlError("model.load_in_4bit needs bitsandbytes and a CUDA GPU",
                                 where=f"{cfg.source or '<config>'}: model.load_in_4bit",
                                 fix="pip install bitsandbytes on a GPU machine, or set model.load_in_4bit=false") from None
        return _load_qlora(cfg, name, BitsAndBytesConfig)
    from perceptrl.models import load_vlm

    model, _ = load_vlm(name, dtype=cfg.model.dtype, attn_implementation=cfg.model.attn_implementation)
    return model


def _load_qlora(cfg: TrainConfig, name: str, bnb_config_cls: Any) -> Any:  # pragma: no cover - GPU only
    import torch
    from transformers import AutoModelForImageTextToText

    bnb = bnb_config_cls(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
                         bnb_4bit_use_double_quant=True)
    return AutoModelForImageTextToText.from_pretrained(name, quantization_config=bnb,
                                                       attn_implementation=cfg.model.attn_implementation)


def maybe_lora(cfg: TrainConfig, model: Any, seed: int) -> Any:
    if cfg.model.lora_r <= 0:
        if cfg.model.load_in_4bit:
            raise PerceptrlError("QLoRA needs LoRA adapters: model.load_in_4bit without model.lora_r",
                                 where=f"{cfg.source or '<config>'}: model.lora_r", fix="set model.lora_r, e.g. 64")
        return model
    from transformers import set_seed

    from perceptrl.models import wrap_lora

    set_seed(seed)  # LoRA A matrices are random: same seed, same adapters (resume parity)
    lora: dict[str, Any] = {"r": cfg.model.lora_r, "lora_alpha": cfg.model.lora_alpha,
                            "lora_dropout": cfg.model.lora_dropout}
    if cfg.model.lora_target_modules not in (None, "default"):
        lora["target_modules"] = cfg.model.lora_target_modules
    return wrap_lora(model, lora)


def vision_encoder(model: Any) -> Any:
    """The vision encoder of a Qwen2-VL-style model (``model.visual`` or ``model.model.visual``), or ``None``."""
    visual = getattr(model, "visual", None)
    return visual if visual is not None else getattr(getattr(model, "model", None), "visual", None)


def maybe_freeze_vision(cfg: TrainConfig, model: Any) -> int:
    """With ``model.freeze_vision_tower``, stop gradients to the vision encoder's weights but not to its
    merger (the projector into the language model's width). Returns the number of frozen parameters."""
    if not cfg.model.freeze_vision_tower:
        return 0
    visual = vision_encoder(model)
    if visual is None:
        raise PerceptrlError(f"model.freeze_vision_tower: {type(model).__name__} has no vision encoder (.visual)",
                             where=f"{cfg.source or '<config>'}: model.freeze_vision_tower",
                             fix="use a Qwen2-VL / Qwen2.5-VL policy, or set model.freeze_vision_tower=false")
    frozen = 0
    for name, param in visual.named_parameters():
        if not name.startswith("merger."):
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen
