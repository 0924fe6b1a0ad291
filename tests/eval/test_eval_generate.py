"""Batched generation with the tiny VLM: left padding, greedy vs sampling, prompts."""

from perceptrl.eval.generate import Decoding, generate_responses, iter_generate_hf, prompt_text
from perceptrl.synth import generate


def test_batched_greedy_equals_one_by_one(tiny_vlm):
    model, processor = tiny_vlm
    exs = generate(3)
    exs[1].problem += " Explain every step of your reasoning in great detail, please."  # different prompt lengths
    side = processor.tokenizer.padding_side
    batched = generate_responses(model, processor, exs, max_new_tokens=4, batch_size=3)
    single = generate_responses(model, processor, exs, max_new_tokens=4, batch_size=1)
    assert batched == single
    assert all(len(r) == 1 for r in batched)
    assert processor.tokenizer.padding_side == side  # left padding only while generating


def test_sampling_returns_k_samples_per_prompt_and_is_seeded(tiny_vlm):
    model, processor = tiny_vlm
    exs = generate(2)
    a = generate_responses(model, processor, exs, max_new_tokens=4, temperature=1.0, num_samples=3, batch_size=2, seed=1)
    b = generate_responses(model, processor, exs, max_new_tokens=4, temperature=1.0, num_samples=3, batch_size=2, seed=1)
    assert [len(r) for r in a] == [3, 3] and a == b
    assert len({s for r in a for s in r}) > 1  # samples differ


def test_iter_yields_prompts_with_template(tiny_vlm):
    model, processor = tiny_vlm
    ex = generate(1)[0]
    (idx, prompts, outs), = list(iter_generate_hf(model, processor, [ex], decoding=Decoding(max_new_tokens=2)))
    assert idx == [0] and prompts[0] == prompt_text(processor, ex)
    assert "<|image_pad|>" in prompts[0] and "<think> </think>" in prompts[0]  # Perception-R1 instruction
    assert prompts[0].rstrip().endswith("assistant")
