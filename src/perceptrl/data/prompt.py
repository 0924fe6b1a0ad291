"""Build chat messages for a problem: the single place train, eval and the demo make prompts.

``<image>`` placeholders in the problem text become image parts at those positions; a problem
without placeholders gets its images first (the common convention of Qwen-VL chat data).
"""

from __future__ import annotations

from typing import Any

from perceptrl.data.schema import IMAGE_PLACEHOLDER, Example

# Perception-R1's instruction, appended after the question (docs/methods.md §1).
PERCEPTION_R1_SUFFIX = (
    "You FIRST think about the reasoning process as an internal monologue and then provide the "
    "final answer. The reasoning process MUST BE enclosed within <think> </think> tags, and the "
    "answer process MUST BE enclosed within <answer> </answer> tags. The final answer MUST BE put "
    "in \\boxed{} in <answer> </answer> tags."
)

PROMPT_TEMPLATES: dict[str, str] = {
    # braces doubled: templates go through str.format, and the suffix contains a literal "\boxed{}"
    "perception_r1": "{problem}\n" + PERCEPTION_R1_SUFFIX.replace("{", "{{").replace("}", "}}"),
    "plain": "{problem}",
}


def render_problem(example: Example, template: str = "perception_r1") -> str:
    """The problem text with choices appended (``A. …``; letter-only choices as ``Choices: A, B, C``)
    and the template applied."""
    fmt = PROMPT_TEMPLATES.get(template, template)
    problem = example.problem
    if example.choices:
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        if [str(c).strip() for c in example.choices] == list(letters[: len(example.choices)]):
            # the options are drawn in the image and only their letters are text (MATH-V): not "A. A"
            problem += "\nChoices: " + ", ".join(letters[: len(example.choices)])
        else:
            problem += "\nChoices:\n" + "\n".join(f"{letters[i]}. {c}" for i, c in enumerate(example.choices))
    return fmt.format(problem=problem)


def build_messages(example: Example, template: str = "perception_r1") -> list[dict[str, Any]]:
    """One user turn in the transformers multimodal chat format (``{"type": "image"}`` parts)."""
    text = render_problem(example, template)
    pieces = text.split(IMAGE_PLACEHOLDER)
    content: list[dict[str, Any]] = []
    if len(pieces) == 1:
        content.extend({"type": "image"} for _ in example.images)
        content.append({"type": "text", "text": text})
    else:
        for i, piece in enumerate(pieces):
            if i > 0:
                content.append({"type": "image"})
            if piece.strip():
                content.append({"type": "text", "text": piece})
    return [{"role": "user", "content": content}]
