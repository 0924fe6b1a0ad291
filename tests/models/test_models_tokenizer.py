"""The locally trained BPE tokenizer and the Qwen2-VL chat template."""

from __future__ import annotations

import pytest

from perceptrl.models.tokenizer import QWEN_SPECIAL_TOKENS, REASONING_TAGS, train_bpe_tokenizer

# The template shipped in Qwen2-VL-Instruct's chat_template.json (reference for rendering).
STOCK_QWEN2_VL_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in "
    "content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] "
    "== 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}"
    "{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "<|im_start|>assistant\n{% endif %}"
)

CONVERSATIONS = [
    [{"role": "user", "content": "Q"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Q"}]}],
    [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Q1"}, {"type": "image"}]},
        {"role": "assistant", "content": "A1"},
        {"role": "user", "content": [{"type": "text", "text": "Q2"}, {"type": "image"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "<think> x </think><answer>2</answer>"}]},
    ],
]


def test_special_and_reasoning_tokens_are_single_tokens():
    tok = train_bpe_tokenizer()
    for t in QWEN_SPECIAL_TOKENS + REASONING_TAGS:
        ids = tok(t, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and tok.convert_ids_to_tokens(ids[0]) == t
    assert set(QWEN_SPECIAL_TOKENS) <= set(tok.all_special_tokens) | set(tok.get_added_vocab())
    assert not set(REASONING_TAGS) & set(tok.all_special_tokens)


def test_any_text_round_trips_without_unknowns():
    tok = train_bpe_tokenizer()
    text = "Ünïcødé ∠ABC = 40°, √2 ≈ 1.414 — 中文 🙂 \\frac{1}{2}\n\ttabs"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text


def test_deterministic_and_bounded_vocab():
    a, b = train_bpe_tokenizer(vocab_size=600), train_bpe_tokenizer(vocab_size=600)
    assert a.get_vocab() == b.get_vocab()
    assert len(a) <= 600 + len(REASONING_TAGS)


def test_chat_template_matches_qwen2_vl_format():
    tok = train_bpe_tokenizer()
    msgs = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "<answer>1</answer>"}]},
    ]
    out = tok.apply_chat_template(msgs, tokenize=False)
    assert out == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Hi<|im_end|>\n"
        "<|im_start|>assistant\n<answer>1</answer><|im_end|>\n"
    )
    sys_msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q"}]
    assert tok.apply_chat_template(sys_msgs, tokenize=False, add_generation_prompt=True) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
    )


@pytest.mark.parametrize("conversation", CONVERSATIONS)
@pytest.mark.parametrize("options", [{}, {"add_generation_prompt": True}, {"add_vision_id": True}])
def test_renders_exactly_like_the_stock_qwen2_vl_template(conversation, options):
    tok = train_bpe_tokenizer()
    ours = tok.apply_chat_template(conversation, tokenize=False, **options)
    stock = tok.apply_chat_template(conversation, tokenize=False, chat_template=STOCK_QWEN2_VL_TEMPLATE, **options)
    assert ours == stock


def test_assistant_mask_covers_answers_and_end_of_turn():
    tok = train_bpe_tokenizer()
    out = tok.apply_chat_template(
        CONVERSATIONS[2], tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    kept = [i for i, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tok.decode(kept) == "A1<|im_end|><think> x </think><answer>2</answer><|im_end|>"
