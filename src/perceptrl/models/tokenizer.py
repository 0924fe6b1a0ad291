"""A small byte-level BPE tokenizer with the Qwen2-VL special tokens, trained locally.

Tests and the CPU demo cannot download a real tokenizer, and a ~150k-token Qwen vocabulary
would dominate a tiny model's parameter count, so the tiny VLM gets its own vocabulary
(``tokenizers`` BPE, a few thousand tokens) trained on a built-in corpus plus any text the
caller adds (the synthetic world adds its own problems and chains of thought).

The special tokens and the chat template are Qwen2-VL's, so prompts, ``<|image_pad|>``
expansion and end-of-turn handling behave exactly as with a real Qwen2-VL / Qwen2.5-VL
checkpoint. ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` are added as *normal*
(non-special) tokens: decoding with ``skip_special_tokens=True`` keeps them, which the format
and accuracy rewards rely on.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

__all__ = [
    "QWEN2_VL_CHAT_TEMPLATE",
    "QWEN_SPECIAL_TOKENS",
    "REASONING_TAGS",
    "builtin_corpus",
    "train_bpe_tokenizer",
]

#: Qwen2-VL's control tokens, in the order Qwen assigns them ids.
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

#: Tags of the reasoning format (Perception-R1 / R1-style prompts); kept whole, never skipped.
REASONING_TAGS = ("<think>", "</think>", "<answer>", "</answer>")

#: The chat template of Qwen2-VL-Instruct / Qwen2.5-VL-Instruct (default system turn, one
#: ``<|vision_start|><|image_pad|><|vision_end|>`` per image part). It renders exactly like
#: Qwen's; the only addition is ``{% generation %}`` markers around each assistant turn
#: (content and ``<|im_end|>``), which let TRL's ``SFTConfig(assistant_only_loss=True)``
#: train on the answers only without swapping templates.
QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% set rendered %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}"
    "{% endset %}"
    # (the newline as an expression: transformers' jinja env trims a newline right after a block tag)
    "{% if message['role'] == 'assistant' %}{% generation %}{{ rendered }}<|im_end|>{% endgeneration %}{{ '\\n' }}"
    "{% else %}{{ rendered }}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_BUILTIN_TEXT = r"""
You are a helpful assistant. Look at the image and answer the question.
You FIRST think about the reasoning process as an internal monologue and then provide the final answer.
The reasoning process MUST BE enclosed within <think> </think> tags, and the answer process MUST BE enclosed
within <answer> </answer> tags. The final answer MUST BE put in \boxed{} in <answer> </answer> tags.
<think> The image shows a red circle, a blue square and a green triangle. The number on the red circle = 7.
The number on the blue square = 3. So the sum is 7 + 3 = 10. </think> <answer> \boxed{10} </answer>
How many circles are there in the image? Count the objects of each color and shape.
There are 4 circles, 2 squares and 3 triangles, so there are 9 shapes in total.
The bar chart shows the height of bar A = 5, height of bar B = 8, height of bar C = 6, height of bar D = 2.
Which bar is the tallest? What is the difference between the tallest and the shortest bar?
In triangle ABC, AB = 10, BC = 6 and angle ABC = 40°. Find the length of AC. Round to one decimal place.
The angle ABC = 90°, so by the Pythagorean theorem AC^2 = AB^2 + BC^2 = 100 + 36 = 136.
As shown in the figure, the circle O has radius r = 5 and the chord AB = 8; find the distance from O to AB.
The area of the rectangle is length times width: 12 * 4 = 48. The perimeter is 2 * (12 + 4) = 32.
Choices: A. 12 B. 24 C. 36 D. 48. The answer is B. Answer with the option letter.
Question: What is the value of x? Solution: 3x + 5 = 20, so 3x = 15 and x = 5. Therefore x = 5.
$\frac{1}{2} + \frac{1}{3} = \frac{5}{6}$, $\sqrt{16} = 4$, $\pi r^2$, $2^{10} = 1024$, $\sin 30^\circ = 0.5$.
left right top bottom above below next to between inside outside largest smallest more fewer equal
red orange yellow green blue purple pink brown black white gray cyan magenta
circle square triangle rectangle star hexagon pentagon line point segment angle degree radius diameter
zero one two three four five six seven eight nine ten eleven twelve hundred thousand half quarter
first second third then next finally because therefore so thus hence since if and or not the a an of
0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 25 30 40 45 50 60 75 90 100 120 180 360
The table lists the values by year: 2019, 2020, 2021, 2022, 2023. Sales increased by 15% in 2021.
The line chart shows temperature over time. The highest point is at noon and the lowest at midnight.
What is shown in the picture? Describe the scene. A person is riding a bicycle on a road next to a tree.
"""


_COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "gray")
_SHAPES = ("circle", "square", "triangle", "rectangle", "star", "hexagon")


def _facts() -> list[str]:
    """Regular fact sentences (numbers, colours, shapes, bars, angles, sums) in the
    ``LHS = RHS`` style of visual annotations, so common words and numbers become single tokens."""
    lines = []
    for i, color in enumerate(_COLORS):
        for j, shape in enumerate(_SHAPES):
            n = (3 * i + 5 * j) % 20
            lines.append(f"number on the {color} {shape} = {n}. There are {n} {color} {shape}s in the image.")
    for i, bar in enumerate("ABCDEFGH"):
        lines.append(f"height of bar {bar} = {i + 2}, value of bar {bar} = {10 * i + 5}, bar {bar} is {i + 1} cm tall.")
    for deg in range(10, 181, 10):
        lines.append(f"angle ABC = {deg}°, angle BCD = {180 - deg}°, AB = {deg // 10}, BC = {deg // 5}.")
    for a in range(0, 21):
        lines.append(f"{a} + {a + 1} = {2 * a + 1}, {a} * 2 = {2 * a}, {a + 10} - {a} = 10, x = {a}, y = {a * a}")
    return lines


def builtin_corpus() -> list[str]:
    """The built-in training text: prompt templates, R1-style answers, math and scene words."""
    lines = [line.strip() for line in _BUILTIN_TEXT.strip().splitlines() if line.strip()]
    return lines + _facts()


def train_bpe_tokenizer(
    extra_corpus: Iterable[str] | None = None,
    *,
    vocab_size: int = 2048,
    min_frequency: int = 1,
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer and wrap it as a transformers fast tokenizer.

    Byte-level pre-tokenization means any text encodes (unknown characters fall back to byte
    tokens), so the model never meets an ``<unk>``. ``vocab_size`` is an upper bound: a small
    corpus can stop merging earlier. Training is deterministic for a given corpus.
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(QWEN_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = builtin_corpus() + [t for t in (extra_corpus or ()) if t]
    tok.train_from_iterator(corpus, trainer=trainer, length=len(corpus))

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token=None,
        padding_side="left",
        model_max_length=32768,
        clean_up_tokenization_spaces=False,
    )
    fast.add_tokens(list(REASONING_TAGS), special_tokens=False)
    fast.chat_template = QWEN2_VL_CHAT_TEMPLATE
    return fast
