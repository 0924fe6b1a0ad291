"""Random patch masking of the processor's pixel inputs (PAPO, VPPO: docs/methods.md §3).

Each vision patch is blackened independently with probability ``p``. We mask the *processor's*
``pixel_values`` rather than the PIL image: the image is processed once for the clean pass anyway,
masking a tensor costs one ``torch.where`` and no second trip through the processor, and the patch
grid is exactly the one the vision encoder sees (no resize can blur a masked edge into its
neighbours). "Black" is pixel value 0 *after* the processor's own rescale and normalisation, i.e.
``(0 - mean_c) / std_c`` per channel, so the masked patch is the one a black image would give.

Two layouts are supported:

* Qwen2-VL / Qwen2.5-VL (``image_grid_thw`` present): ``pixel_values`` is ``(num_patches,
  C * T * P * P)``, one row per ``P x P`` patch (P = 14), channel-major. Masking a row is masking
  one 14x14 patch of the image.
* Image tensors ``(N, C, H, W)`` (LLaVA-style processors): square ``P x P`` blocks of the image.
"""

from __future__ import annotations

import torch


def _black_value(mean, std, channels: int, dtype, device) -> torch.Tensor:
    """Normalised value of a black pixel, per channel."""
    if mean is None or std is None:
        return torch.zeros(channels, dtype=dtype, device=device)
    mean_t = torch.as_tensor(mean, dtype=torch.float32, device=device).reshape(-1)
    std_t = torch.as_tensor(std, dtype=torch.float32, device=device).reshape(-1)
    if mean_t.numel() == 1:
        mean_t = mean_t.expand(channels)
    if std_t.numel() == 1:
        std_t = std_t.expand(channels)
    return ((0.0 - mean_t) / std_t).to(dtype)


def mask_patch_rows(
    pixel_values: torch.Tensor,
    prob: float,
    *,
    channels: int = 3,
    image_mean=None,
    image_std=None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Blacken each row (one vision patch) of a Qwen-VL ``pixel_values`` tensor with probability ``prob``.

    Returns ``(masked_pixel_values, row_mask)`` where ``row_mask[i]`` is True for a blackened patch.
    """
    n, dim = pixel_values.shape
    if dim % channels:
        raise ValueError(f"pixel_values rows of size {dim} are not divisible into {channels} channels")
    draw = torch.rand(n, generator=generator, device="cpu").to(pixel_values.device)
    row_mask = draw < prob
    black = _black_value(image_mean, image_std, channels, pixel_values.dtype, pixel_values.device)
    # rows are laid out channel-major: (C, T*P*P)
    black_row = black.repeat_interleave(dim // channels)
    masked = torch.where(row_mask[:, None], black_row[None, :], pixel_values)
    return masked, row_mask


def mask_image_blocks(
    pixel_values: torch.Tensor,
    prob: float,
    *,
    patch: int = 14,
    image_mean=None,
    image_std=None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Blacken ``patch x patch`` blocks of ``(N, C, H, W)`` images with probability ``prob`` each.

    Returns ``(masked, block_mask)`` with ``block_mask`` of shape ``(N, ceil(H/patch), ceil(W/patch))``.
    """
    n, c, h, w = pixel_values.shape
    gh, gw = -(-h // patch), -(-w // patch)
    block_mask = (torch.rand(n, gh, gw, generator=generator, device="cpu") < prob).to(pixel_values.device)
    pix_mask = block_mask.repeat_interleave(patch, 1).repeat_interleave(patch, 2)[:, :h, :w]
    black = _black_value(image_mean, image_std, c, pixel_values.dtype, pixel_values.device)
    masked = torch.where(pix_mask[:, None], black[None, :, None, None], pixel_values)
    return masked, block_mask


def mask_pixel_values(
    pixel_values: torch.Tensor,
    prob: float,
    *,
    image_processor=None,
    patch: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, float]:
    """Mask a processor output in whichever layout it has; returns ``(masked, share_masked)``."""
    mean = getattr(image_processor, "image_mean", None)
    std = getattr(image_processor, "image_std", None)
    if pixel_values.dim() == 2:  # Qwen-VL flattened patches
        proc_patch = getattr(image_processor, "patch_size", None)
        if patch is not None and proc_patch is not None and patch != proc_patch:
            raise ValueError(
                f"mask_patch={patch} differs from the processor's vision patch size {proc_patch}; "
                "Qwen-VL pixel rows are single patches, so leave method.mask_patch unset"
            )
        masked, m = mask_patch_rows(pixel_values, prob, image_mean=mean, image_std=std, generator=generator)
    elif pixel_values.dim() == 4:
        masked, m = mask_image_blocks(
            pixel_values, prob, patch=patch or getattr(image_processor, "patch_size", None) or 14,
            image_mean=mean, image_std=std, generator=generator,
        )
    else:
        raise ValueError(f"cannot mask pixel_values of shape {tuple(pixel_values.shape)}")
    return masked, m.float().mean().item() if m.numel() else 0.0
