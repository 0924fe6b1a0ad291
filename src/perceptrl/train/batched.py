"""Two images in one forward pass: the batch doubled along the sample axis (PAPO, VPPO, VOGUE).

PAPO needs the policy's log-probs of each completion twice, with the clean and with the masked
image, both with gradient; VPPO and VOGUE need two such passes without gradient. Run one after
the other, each pass pays the per-call overhead of the language model and the vision tower; run
as one batch of ``2B`` rows, the kernels see twice the rows at once. The completions are the
same in both halves, so doubling adds no padding; only the pixel rows differ. The price is the
activation memory of ``2B`` rows at once, hence ``method.batched_forward`` to turn it off.

The inputs of TRL's ``_get_per_token_logps_and_entropies`` are indexed by sample (ids, masks,
token types), by image (``image_grid_thw``, ``image_sizes``, ``image_position_ids``) or by tile
(``num_tiles``, ``spatial_shapes``); repeating every one of them twice, in order, and putting the
second image's pixels after the first's keeps each index family aligned, whatever the layout.
"""

from __future__ import annotations

from typing import Any

import torch

# keyword arguments of _get_per_token_logps_and_entropies that are not per-sample/image/tile data
_SCALARS = ("model", "logits_to_keep", "batch_size", "compute_entropy", "compute_aux_loss")


def double_batch(call: dict[str, Any], second_pixel_values: torch.Tensor) -> dict[str, Any]:
    """``call`` (keyword arguments of ``_get_per_token_logps_and_entropies``) with every per-sample,
    per-image and per-tile entry repeated twice and ``pixel_values`` = clean rows then ``second_pixel_values``.

    ``batch_size`` (TRL's chunk size) is doubled too, so the two halves of a chunk stay one forward.
    """
    pv = call.get("pixel_values")
    if pv is None or second_pixel_values.shape != pv.shape:
        raise ValueError(
            f"the second image's pixel_values {tuple(second_pixel_values.shape)} do not match the clean "
            f"{None if pv is None else tuple(pv.shape)}; set method.batched_forward=false for this model"
        )
    out: dict[str, Any] = {}
    for key, value in call.items():
        if key in _SCALARS or value is None:
            out[key] = value
        elif key == "pixel_values":
            out[key] = torch.cat([value, second_pixel_values], dim=0)
        elif torch.is_tensor(value):
            out[key] = torch.cat([value, value], dim=0)
        elif isinstance(value, list):
            out[key] = value + value
        else:
            raise TypeError(f"cannot double forward input {key!r} of type {type(value).__name__}")
    if call.get("batch_size"):
        out["batch_size"] = 2 * call["batch_size"]
    return out


def split_halves(x: torch.Tensor | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The first and second half of a doubled batch's output along the sample axis."""
    if x is None:
        return None, None
    n = x.size(0) // 2
    return x[:n], x[n:]
