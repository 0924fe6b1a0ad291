"""A synthetic scene: what a kind module draws, and how it becomes a canonical :class:`Example`.

Each kind (:mod:`.shapes`, :mod:`.charts`, :mod:`.geometry`) returns a :class:`Scene`: the image,
the question, the exact integer answer, the *visual facts* the answer needs (``LHS = RHS``, the
annotation format shared with the rules judge, docs/data.md), the arithmetic steps from the facts
to the answer, object boxes and a caption. The chain of thought is assembled here, once, so every
kind states its facts verbatim in the same ``strict_newlines`` format (docs/methods.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from perceptrl.data.schema import IMAGE_PLACEHOLDER, Box, Example


def format_cot(think: list[str], boxed: object) -> str:
    """``<think>\\n…\\n</think>\\n<answer>\\n\\boxed{X}\\n</answer>``: the synthetic world's chain format."""
    body = "\n".join(think)
    return f"<think>\n{body}\n</think>\n<answer>\n\\boxed{{{boxed}}}\n</answer>"


@dataclass
class Scene:
    kind: str
    image: Image.Image
    question: str
    answer: int
    facts: list[tuple[str, str]]  # (LHS, RHS): the visual annotations, in order of use
    steps: list[str]  # reasoning lines after the facts, ending with the result
    boxes: list[Box]
    caption: str
    params: dict[str, Any] = field(default_factory=dict)  # JSON-able scene description

    @property
    def annotations(self) -> list[str]:
        return [f"{lhs} = {rhs}" for lhs, rhs in self.facts]

    def cot(self) -> str:
        """``<think>\\n…\\n</think>\\n<answer>\\n\\boxed{X}\\n</answer>`` stating every fact verbatim."""
        return format_cot([*self.annotations, *self.steps], self.answer)

    def to_example(self, id: str, *, seed: int, index: int, difficulty: int) -> Example:
        return Example(
            id=id,
            images=[self.image],
            problem=f"{IMAGE_PLACEHOLDER}{self.question}",
            answer=str(self.answer),
            visual_annotations=self.annotations,
            boxes=self.boxes,
            caption=self.caption,
            metadata={
                "source": "perceptrl.synth",
                "kind": self.kind,
                "difficulty": difficulty,
                "seed": seed,
                "index": index,
                "question_type": "free_form",
                "answer_type": "integer",
                "precision": 0,
                "cot": self.cot(),
                "scene": self.params,
            },
        )
