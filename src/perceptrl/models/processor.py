"""An image-only processor for the Qwen2-VL family (Qwen2-VL, Qwen2.5-VL).

Why this exists: the stock ``Qwen2VLProcessor`` / ``Qwen2_5_VLProcessor`` take a *video*
processor as a required sub-processor, and transformers' Qwen2-VL video processor needs
torchvision. perceptrl trains on images only and must install without torchvision, so this
class keeps everything the stock processors do for images (``<|image_pad|>`` expansion from
``image_grid_thw``, ``mm_token_type_ids`` for M-RoPE, chat templates with image parts,
``batch_decode``) and simply has no video processor.

The image processor is transformers' PIL-backend ``Qwen2VLImageProcessorPil`` (never the
torchvision one), so results are the same whether or not torchvision happens to be installed.

Importing this module registers the class with ``AutoProcessor``: a directory saved with it
(``processor_config.json`` carries ``"processor_class": "QwenVLImageOnlyProcessor"``) loads back
through ``AutoProcessor.from_pretrained(dir)``.
"""

from __future__ import annotations

from transformers import AutoProcessor, AutoTokenizer, PretrainedConfig
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor
from transformers.processing_utils import ProcessorMixin

__all__ = ["QWEN_VL_MODEL_TYPES", "QwenVLImageOnlyProcessor"]

#: ``config.model_type`` values whose checkpoints this processor can serve.
QWEN_VL_MODEL_TYPES = ("qwen2_vl", "qwen2_5_vl")


class QwenVLImageOnlyProcessor(Qwen2VLProcessor):
    """Qwen2-VL / Qwen2.5-VL processor without a video processor (no torchvision needed).

    Args:
        image_processor: a ``Qwen2VLImageProcessorPil`` (patch 14, merge 2 for both archs).
        tokenizer: a tokenizer that has the ``<|image_pad|>`` and ``<|video_pad|>`` tokens.
        chat_template: the Qwen2-VL chat template (jinja).

    Passing ``videos=`` raises: this processor is for images only.
    """

    # Inherited from Qwen2VLProcessor and kept on purpose: ``replace_image_token`` (one
    # ``<|image_pad|>`` per merged patch), ``_get_num_multimodal_tokens``,
    # ``post_process_image_text_to_text``, ``model_input_names`` and
    # ``return_mm_token_type_ids = True`` (the model computes its 3-D rope positions from
    # ``mm_token_type_ids``).

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        # **kwargs: settings a stock processor config may carry (video options); unused here.
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = getattr(tokenizer, "image_token_id", None) or tokenizer.convert_tokens_to_ids(
            self.image_token
        )
        self.video_token_id = getattr(tokenizer, "video_token_id", None) or tokenizer.convert_tokens_to_ids(
            self.video_token
        )
        # Skip Qwen2VLProcessor.__init__ (it passes a third, video, sub-processor).
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    def __call__(self, images=None, text=None, videos=None, audio=None, **kwargs):
        if videos is not None:
            raise ValueError(
                f"{type(self).__name__} handles images only; got `videos`. Load the stock Qwen processor "
                "(needs torchvision) to process videos."
            )
        return super().__call__(images=images, text=text, audio=audio, **kwargs)

    @classmethod
    def _get_arguments_from_pretrained(cls, pretrained_model_name_or_path, processor_dict=None, **kwargs):
        """Load the PIL image processor and the tokenizer explicitly.

        Going through ``AutoImageProcessor`` would pick the torchvision backend whenever
        torchvision is importable; we want the same (PIL) preprocessing everywhere. A stock
        checkpoint's config names ``Qwen2VLImageProcessor`` (the torchvision class), which is why
        the class is forced here rather than read from the file.
        """
        kwargs.pop("subfolder", None)
        image_processor = Qwen2VLImageProcessorPil.from_pretrained(pretrained_model_name_or_path, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(pretrained_model_name_or_path, **kwargs)
        return [image_processor, tokenizer]


class _ImageOnlyProcessorKey(PretrainedConfig):
    """Registration key only (never instantiated).

    ``AutoProcessor.register`` needs a config class; registering under the stock
    ``Qwen2_5_VLConfig`` would silently replace transformers' own processor for every
    Qwen2.5-VL checkpoint. A private key makes the class findable by name (which is how
    ``processor_config.json``'s ``processor_class`` is resolved) and changes nothing else.
    """

    model_type = "perceptrl_qwen_vl_image_only"


AutoProcessor.register(_ImageOnlyProcessorKey, QwenVLImageOnlyProcessor, exist_ok=True)
