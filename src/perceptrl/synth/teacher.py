"""A warm-start teacher with a *systematic* perception error: the regime where RL has something to fix.

The demo's SFT warm start imitates chains of thought. With the synthetic world's own (correct)
chains, the tiny model's reading errors are unsystematic noise, and GRPO with 16 rollouts per step
cannot teach reading from scratch (docs/demo.md, "Looking for a regime…"). Real policies are
different: their cold-start data and pre-training leave *systematic* perception errors, which the
policy already samples its way out of now and then. That is what RL from verifiable rewards
sharpens — and where the paper's argument about lucky answers bites.

Here the teacher misreads charts drawn in the warm colours (:data:`BIASED_COLORS`): with
probability ``bias`` per such chart it reads every bar one grid unit too high (as if it read the
top edge against the grid line above) and carries the misreading through its arithmetic. So the
warm start inherits an error tied to something it can see (the colour) and, at ``bias < 1``, keeps
sampling the right reading part of the time.

Why this tests Perception-R1's claim: a uniform offset *cancels in a difference* (``(a+1) - (b+1)
= a - b``), so on "how much taller" questions the misread chain still ends at the gold answer — an
accuracy reward pays it in full, a perception reward (facts from *correct* solutions) does not. On
sums the misread answer is off by two and both rewards penalise it. The held-out set is unchanged
(the gold facts and answers): only the SFT chains are the teacher's.

Only the ``chart`` kind has a teacher model; other kinds raise.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError
from perceptrl.synth.charts import arithmetic
from perceptrl.synth.choices import LETTERS
from perceptrl.synth.draw import COLORS
from perceptrl.synth.scene import format_cot

BIASED_COLORS = ("red", "orange")  # two of the five bar colours: 40% of charts on average
OFFSET = 1  # grid units the teacher adds to every bar of a misread chart


def misread(example: Example) -> Example | None:
    """``example`` with the teacher's misread chain of thought as ``metadata["cot"]`` (facts one unit
    high, arithmetic and answer carried through). ``None`` when a multiple-choice problem offers no
    option for the misread value (the teacher would have no answer; such a chain is not imitated)."""
    meta = example.metadata
    if meta.get("kind") != "chart":
        raise PerceptrlError(f"no teacher misreading for kind {meta.get('kind')!r}", where=f"example {example.id}",
                             fix="use teacher_bias=0 or kinds=('chart',)")
    scene = meta["scene"]
    by_label = {b["label"]: b["height"] + OFFSET for b in scene["bars"]}
    hs = [by_label[x] for x in scene["asked"]]
    value, step = arithmetic(hs, scene["op"])
    facts = [f"height of bar {x} = {h}" for x, h in zip(scene["asked"], hs)]
    think = [*facts, step]
    answer = str(value)
    if meta.get("answer_format") == "choice":
        options = list(example.choices or [])
        if answer not in options:
            return None
        letter = LETTERS[options.index(answer)]
        think.append(f"{value} is option {letter}")
        answer = letter
    return replace(example, metadata={**meta, "cot": format_cot(think, answer), "teacher_misread": True})


def teacher_chains(examples: Sequence[Example], bias: float, *, seed: int,
                   colors: Sequence[str] = BIASED_COLORS) -> list[Example]:
    """The SFT set as the biased teacher writes it: each chart drawn in one of ``colors`` (default
    :data:`BIASED_COLORS`) is misread with probability ``bias`` (drawn per example from ``seed``); the
    rest keep their correct chains. Misread multiple-choice problems without a matching option are
    left out. ``colors`` = every colour of :data:`perceptrl.synth.draw.COLORS` makes the error
    uniform: nothing in the image tells the model which charts it misreads."""
    if not 0.0 <= bias <= 1.0:
        raise PerceptrlError(f"teacher_bias={bias} is not a share", where="teacher_chains", fix="pass 0 <= bias <= 1")
    if bad := [c for c in colors if c not in COLORS]:
        raise PerceptrlError(f"teacher colours {bad} are not bar colours", where="teacher_chains",
                             fix=f"choose from {', '.join(sorted(COLORS))}")
    out = []
    for ex in examples:
        scene = ex.metadata.get("scene") or {}
        draw = random.Random(f"perceptrl.synth.teacher:{seed}:{ex.id}").random()
        if bias > 0 and scene.get("color") in colors and draw < bias:
            ex = misread(ex)
            if ex is None:
                continue
        out.append(ex)
    return out
