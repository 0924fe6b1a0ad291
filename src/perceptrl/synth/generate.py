"""Seeded generation of synthetic problems, and the text corpus for the tiny tokenizer.

Problem ``i`` of seed ``s`` is drawn from its own ``random.Random(f"perceptrl.synth:{s}:{i}")``,
so generation is reproducible byte for byte, independent of ``n`` (the first k problems of
``generate(n)`` equal ``generate(k)``), and cheap to shard.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from perceptrl.data.prompt import PERCEPTION_R1_SUFFIX
from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError
from perceptrl.synth import charts, geometry, shapes

KINDS = {"count": shapes, "chart": charts, "geometry": geometry}
DIFFICULTIES = (1, 2, 3)
# 112 px = 8 x 8 patches of 14 px = 16 visual tokens after Qwen-VL's 2 x 2 merge: small enough for
# a CPU-trained tiny VLM, large enough for clean glyphs.
DEFAULT_IMAGE_SIZE = 112


def _check(kinds: Sequence[str], difficulty: int, image_size: int) -> None:
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise PerceptrlError(f"unknown synthetic kind(s) {bad or list(kinds)}", where="synth kinds",
                             fix=f"choose from {', '.join(KINDS)}")
    if difficulty not in DIFFICULTIES:
        raise PerceptrlError(f"difficulty {difficulty!r} is not supported", where="synth difficulty",
                             fix=f"use one of {DIFFICULTIES}")
    if image_size < 56 or image_size % 28:
        raise PerceptrlError(f"image size {image_size} is not a multiple of 28 px >= 56",
                             where="synth image_size",
                             fix="use a multiple of 28 (patch 14 x merge 2), e.g. 112")


def generate(n: int, *, seed: int = 0, kinds: Sequence[str] = ("count", "chart", "geometry"),
             difficulty: int = 1, image_size: int = DEFAULT_IMAGE_SIZE) -> list[Example]:
    """``n`` problems cycling through ``kinds`` (problem ``i`` has kind ``kinds[i % len(kinds)]``).

    Each :class:`Example` holds a PIL image, the question (with an ``<image>`` placeholder), the
    integer answer, visual annotations ``LHS = RHS``, object boxes in pixels, a caption, and in
    ``metadata``: ``cot`` (a correct chain of thought stating every annotation verbatim),
    ``kind``, ``difficulty``, ``scene`` (the JSON-able scene, from which the answer is recomputable).
    """
    kinds = tuple(kinds)
    _check(kinds, difficulty, image_size)
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        rng = random.Random(f"perceptrl.synth:{seed}:{i}:{kind}:{difficulty}")
        scene = KINDS[kind].make(rng, difficulty, image_size)
        out.append(scene.to_example(f"synth-s{seed}-{i:06d}-{kind}", seed=seed, index=i,
                                    difficulty=difficulty))
    return out


def solve(example: Example) -> int:
    """Recompute an example's answer from its scene description alone."""
    return KINDS[example.metadata["kind"]].solve(example.metadata["scene"])


def corpus(n: int = 2000, *, seed: int = 12345, kinds: Sequence[str] = tuple(KINDS)) -> Iterator[str]:
    """Text for training the tiny model's tokenizer: questions with the prompt suffix, chains of
    thought and captions of ``n`` problems per difficulty (drawn without rendering kept images)."""
    yield PERCEPTION_R1_SUFFIX
    for d in DIFFICULTIES:
        for ex in generate(n, seed=seed, kinds=kinds, difficulty=d):
            yield ex.problem.replace("<image>", "")
            yield ex.metadata["cot"]
            yield ex.caption or ""
