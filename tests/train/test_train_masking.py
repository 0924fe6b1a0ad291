"""Patch masking of processor outputs: the masked patch is exactly what a black patch would give."""

import numpy as np
import pytest
import torch
from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from perceptrl.train.masking import mask_image_blocks, mask_patch_rows, mask_pixel_values


@pytest.fixture(scope="module")
def processor():
    return Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112, patch_size=14, merge_size=2,
                                    temporal_patch_size=2)


def _image(seed=0, size=56):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(1, 255, (size, size, 3), dtype=np.uint8), mode="RGB")


def test_masked_rows_equal_the_processor_output_of_a_blackened_image(processor):
    img = _image()
    pv = processor(images=[img], return_tensors="pt")["pixel_values"]
    masked, rows = mask_patch_rows(pv, 0.5, image_mean=processor.image_mean, image_std=processor.image_std,
                                   generator=torch.Generator().manual_seed(3))
    assert 0 < rows.sum() < rows.numel()
    # blacken the same 14x14 patches in pixel space and run the real processor
    grid = 56 // 14
    arr = np.asarray(img).copy()
    # Qwen rows are ordered by 2x2 merge blocks: (gh/2, gw/2, 2, 2)
    order = [(bh * 2 + mh, bw * 2 + mw) for bh in range(grid // 2) for bw in range(grid // 2)
             for mh in range(2) for mw in range(2)]
    for r, (ph, pw) in enumerate(order):
        if rows[r]:
            arr[ph * 14:(ph + 1) * 14, pw * 14:(pw + 1) * 14] = 0
    expected = processor(images=[Image.fromarray(arr)], return_tensors="pt")["pixel_values"]
    assert torch.allclose(masked, expected, atol=1e-5)
    assert torch.equal(masked[~rows], pv[~rows])


def test_mask_probability_is_respected():
    pv = torch.randn(4000, 3 * 2 * 14 * 14)
    _, rows = mask_patch_rows(pv, 0.6, generator=torch.Generator().manual_seed(0))
    assert rows.float().mean().item() == pytest.approx(0.6, abs=0.03)
    _, none = mask_patch_rows(pv, 0.0)
    assert not none.any()


def test_image_blocks_layout():
    pv = torch.ones(2, 3, 28, 30)
    masked, blocks = mask_image_blocks(pv, 1.0, patch=14, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    assert blocks.shape == (2, 2, 3)
    assert torch.allclose(masked, torch.full_like(pv, -1.0))


def test_mask_pixel_values_dispatches_and_reports_share(processor):
    pv = processor(images=[_image(1)], return_tensors="pt")["pixel_values"]
    masked, share = mask_pixel_values(pv, 1.0, image_processor=processor)
    assert share == 1.0 and not torch.equal(masked, pv)
    with pytest.raises(ValueError, match="mask_patch"):
        mask_pixel_values(pv, 0.5, image_processor=processor, patch=16)
