"""Seeded generation of synthetic problems, and the text corpus for the tiny tokenizer.

Problem ``i`` of seed ``s`` is drawn from its own ``random.Random(f"perceptrl.synth:{s}:{i}:…")``,
so generation is reproducible byte for byte, independent of ``n`` (the first k problems of
``generate(n)`` equal ``generate(k)``), and cheap to shard.

Whether a problem is multiple choice, and whether it carries the shortcut, is decided by a second
per-problem generator (``perceptrl.synth.choices:…``) that never touches the scene's: the image,
facts and computation of problem ``i`` are the same at every ``choice_share`` and ``shortcut``, and
``choice_share=0`` gives exactly the problems of before these knobs existed. One uniform draw ``u``
per problem decides both: shortcut multiple choice when ``u < shortcut``, plain multiple choice
when ``u < choice_share``, open otherwise, so raising either knob only converts more problems
(the shortcut problems at 0.2 are among those at 0.5). See :mod:`perceptrl.synth.choices`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from perceptrl.data.prompt import PERCEPTION_R1_SUFFIX, render_problem
from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError
from perceptrl.synth import charts, geometry, shapes
from perceptrl.synth.choices import to_choice

KINDS = {"count": shapes, "chart": charts, "geometry": geometry}
DIFFICULTIES = (1, 2, 3)
# 112 px = 8 x 8 patches of 14 px = 16 visual tokens after Qwen-VL's 2 x 2 merge: small enough for
# a CPU-trained tiny VLM, large enough for clean glyphs.
DEFAULT_IMAGE_SIZE = 112


def _check_shares(choice_share: float, shortcut: float) -> None:
    for name, x in (("choice_share", choice_share), ("shortcut", shortcut)):
        if not isinstance(x, (int, float)) or not 0.0 <= x <= 1.0:
            raise PerceptrlError(f"{name} must be a share between 0 and 1, got {x!r}", where=f"synth {name}",
                                 fix=f"pass a number in [0, 1], e.g. {name}=0.5")
    if shortcut > choice_share:
        raise PerceptrlError(f"shortcut ({shortcut}) is larger than choice_share ({choice_share}): shortcut "
                             "problems are multiple choice, so they are a part of the multiple-choice share",
                             where="synth shortcut", fix=f"raise choice_share to at least {shortcut}, e.g. 1.0")


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
             difficulty: int = 1, image_size: int = DEFAULT_IMAGE_SIZE, choice_share: float = 0.0,
             shortcut: float = 0.0) -> list[Example]:
    """``n`` problems cycling through ``kinds`` (problem ``i`` has kind ``kinds[i % len(kinds)]``).

    Each :class:`Example` holds a PIL image, the question (with an ``<image>`` placeholder), the
    integer answer, visual annotations ``LHS = RHS``, object boxes in pixels, a caption, and in
    ``metadata``: ``cot`` (a correct chain of thought stating every annotation verbatim),
    ``kind``, ``difficulty``, ``scene`` (the JSON-able scene, from which the answer is recomputable),
    ``answer_format`` (``"open"`` or ``"choice"``), ``shortcut`` (bool) and ``lucky_readings``
    (how many wrong readings of the facts still give the gold answer, :mod:`perceptrl.synth.readings`).

    ``choice_share``: the share of problems made multiple choice (four options in ``choices``, the
    gold answer a letter); ``shortcut``: the share of problems (a part of ``choice_share``) whose
    three distractors are impossible for the question, so the text alone gives the answer.
    Held-out evaluation should use ``shortcut=0``.
    """
    kinds = tuple(kinds)
    _check(kinds, difficulty, image_size)
    _check_shares(choice_share, shortcut)
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        rng = random.Random(f"perceptrl.synth:{seed}:{i}:{kind}:{difficulty}")
        scene = KINDS[kind].make(rng, difficulty, image_size)
        ex = scene.to_example(f"synth-s{seed}-{i:06d}-{kind}", seed=seed, index=i, difficulty=difficulty)
        readings = KINDS[kind].readings(scene.params)
        ex.metadata.update(answer_format="open", shortcut=False, lucky_readings=readings.lucky())
        choice_rng = random.Random(f"perceptrl.synth.choices:{seed}:{i}:{kind}:{difficulty}")
        u = choice_rng.random()
        if u < choice_share:
            ex = to_choice(ex, readings, choice_rng, shortcut=u < shortcut)
        out.append(ex)
    return out


def solve(example: Example) -> int:
    """Recompute an example's answer *value* from its scene description alone (for a multiple-choice
    problem, the value of the gold option)."""
    return KINDS[example.metadata["kind"]].solve(example.metadata["scene"])


def corpus(n: int = 2000, *, seed: int = 12345, kinds: Sequence[str] = tuple(KINDS)) -> Iterator[str]:
    """Text for training the tiny model's tokenizer: questions with the prompt suffix, chains of
    thought and captions of ``n`` problems per difficulty (drawn without rendering kept images).

    Half the problems are multiple choice (a quarter with the shortcut's impossible values), so the
    tokenizer also sees the choices block as prompts render it, ``N is option B`` and ``\\boxed{B}``."""
    yield PERCEPTION_R1_SUFFIX
    for d in DIFFICULTIES:
        for ex in generate(n, seed=seed, kinds=kinds, difficulty=d, choice_share=0.5, shortcut=0.25):
            yield render_problem(ex, "plain").replace("<image>", "")
            yield ex.metadata["cot"]
            yield ex.caption or ""
