"""Generate responses for evaluation: batched ``transformers`` generate, or vLLM when installed.

Prompts are built with :func:`perceptrl.data.prompt.build_messages` (the one place train, eval and
the demo make prompts) and the processor's chat template; batches are left-padded so that every
row's generation starts right after its prompt. Greedy decoding when ``temperature == 0``;
otherwise sampling with ``num_samples`` returns per prompt (avg@k: PAPO / VPPO use k = 8 at
temperature 1.0).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

from perceptrl.data.prompt import build_messages
from perceptrl.data.schema import Example

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decoding:
    """Decoding settings stored with every response (so a run can be rescored and reproduced)."""

    temperature: float = 0.0  # 0 = greedy (Perception-R1 evaluation); 1.0 for avg@k (PAPO, VPPO)
    top_p: float = 1.0  # Perception-R1 / PAPO: no nucleus truncation
    max_new_tokens: int = 4096  # Perception-R1: max response length 4096
    num_samples: int = 1  # k of avg@k (PAPO, VPPO: 8); 1 for greedy
    seed: int = 0  # base seed; each batch is seeded from it and its first item, for sampling

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def prompt_text(processor, example: Example, template: str = "perception_r1") -> str:
    """The exact prompt string the model sees (chat template applied, generation prompt added)."""
    return processor.apply_chat_template(
        build_messages(example, template), add_generation_prompt=True, tokenize=False
    )


def _rgb_images(example: Example) -> list:
    from perceptrl.data.images import load_rgb_images

    return load_rgb_images(example)


@contextlib.contextmanager
def _left_padding(processor):
    tok = getattr(processor, "tokenizer", processor)
    old = tok.padding_side
    tok.padding_side = "left"
    try:
        yield tok
    finally:
        tok.padding_side = old


def _batch_seed(seed: int, first_id: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(first_id.encode())) % (2**31)


def iter_generate_hf(
    model,
    processor,
    examples: Sequence[Example],
    *,
    decoding: Decoding = Decoding(),
    template: str = "perception_r1",
    batch_size: int = 8,
) -> Iterator[tuple[list[int], list[str], list[list[str]]]]:
    """Yield ``(indices, prompts, responses)`` per batch; ``responses[j]`` has ``num_samples`` strings.

    Yielding per batch lets the caller persist each batch before the next one starts.
    """
    import torch

    device = next(model.parameters()).device
    k = decoding.num_samples
    gen_kwargs: dict = {"max_new_tokens": decoding.max_new_tokens}
    if decoding.greedy:
        if k != 1:
            raise ValueError("greedy decoding returns one sample per prompt; use temperature > 0 for num_samples > 1")
        gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    else:
        gen_kwargs.update(
            do_sample=True, temperature=decoding.temperature, top_p=decoding.top_p, top_k=0, num_return_sequences=k
        )
    with _left_padding(processor) as tok:
        for start in range(0, len(examples), batch_size):
            idx = list(range(start, min(start + batch_size, len(examples))))
            batch = [examples[i] for i in idx]
            prompts = [prompt_text(processor, ex, template) for ex in batch]
            images = [im for ex in batch for im in _rgb_images(ex)]
            inputs = processor(text=prompts, images=images or None, padding=True, return_tensors="pt").to(device)
            if not decoding.greedy:
                torch.manual_seed(_batch_seed(decoding.seed, batch[0].id))
            with torch.inference_mode():
                out = model.generate(**inputs, **gen_kwargs, pad_token_id=tok.pad_token_id)
            texts = tok.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
            yield idx, prompts, [texts[j * k:(j + 1) * k] for j in range(len(batch))]


def iter_generate_vllm(
    llm,
    processor,
    examples: Sequence[Example],
    *,
    decoding: Decoding = Decoding(),
    template: str = "perception_r1",
    batch_size: int = 64,
) -> Iterator[tuple[list[int], list[str], list[list[str]]]]:
    """vLLM backend (only when ``vllm`` is installed; not exercised in CPU tests).

    ``llm`` is a ``vllm.LLM``; images travel as ``multi_modal_data``.
    """
    from vllm import SamplingParams

    params = SamplingParams(
        n=decoding.num_samples,
        temperature=decoding.temperature,
        top_p=decoding.top_p,
        max_tokens=decoding.max_new_tokens,
        seed=decoding.seed,
    )
    for start in range(0, len(examples), batch_size):
        idx = list(range(start, min(start + batch_size, len(examples))))
        prompts = [prompt_text(processor, examples[i], template) for i in idx]
        requests = []
        for i, p in zip(idx, prompts):
            imgs = _rgb_images(examples[i])
            requests.append({"prompt": p, **({"multi_modal_data": {"image": imgs}} if imgs else {})})
        outs = llm.generate(requests, params, use_tqdm=False)
        yield idx, prompts, [[o.text for o in out.outputs] for out in outs]


def generate_responses(
    model,
    processor,
    examples: Sequence[Example],
    *,
    template: str = "perception_r1",
    max_new_tokens: int = 4096,
    temperature: float = 0.0,
    num_samples: int = 1,
    batch_size: int = 8,
    seed: int = 0,
) -> list[list[str]]:
    """Responses per example (``num_samples`` each), batched HF generate with left padding.

    ``temperature == 0`` → greedy (one sample); otherwise sampling with ``top_p = 1``.
    """
    decoding = Decoding(temperature=temperature, max_new_tokens=max_new_tokens, num_samples=num_samples, seed=seed)
    out: list[list[str]] = [[] for _ in examples]
    for idx, _, responses in iter_generate_hf(
        model, processor, examples, decoding=decoding, template=template, batch_size=batch_size
    ):
        for i, r in zip(idx, responses):
            out[i] = r
    return out
