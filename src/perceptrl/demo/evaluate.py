"""Held-out evaluation of the demo: answer accuracy and perception accuracy, per problem.

* **answer accuracy**: the training accuracy reward (:func:`perceptrl.rewards.accuracy.accuracy_reward`,
  math-verify against the exact integer answer) on a greedy response;
* **perception accuracy**: the share of a problem's annotated visual facts the response states
  with the right value, decided by the rules judge (:func:`perceptrl.judge.rules.judge_rules`),
  averaged over problems (Perception-R1's r_v, measured on held-out problems);
* **format rate**: the share of responses in Perception-R1's strict ``<think>``/``<answer>`` format.

Per-problem outcomes are kept so that the two arms can be compared pairwise (McNemar).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from perceptrl.data.schema import Example


@dataclass
class EvalResult:
    step: int
    accuracy: float
    perception: float
    format: float
    correct: list[int] = field(default_factory=list)  # per problem, 1 = right final answer
    facts: list[float] = field(default_factory=list)  # per problem, share of facts stated correctly
    fact_hits: list[list[int]] = field(default_factory=list)  # per problem, per annotated fact: 1 = stated correctly
    ids: list[str] = field(default_factory=list)  # per problem, the example id (pairs items across arms)
    samples: list[str] = field(default_factory=list)  # a few responses, for the report

    def as_dict(self) -> dict:
        return asdict(self)


def score_responses(examples: Sequence[Example], responses: Sequence[str], *, step: int = 0,
                    keep_samples: int = 3) -> EvalResult:
    """Score one greedy response per example."""
    from perceptrl.judge.rules import judge_rules
    from perceptrl.rewards.accuracy import accuracy_reward
    from perceptrl.rewards.registry import get_reward

    fmt = get_reward("format").configured(pattern="strict_newlines").fn
    correct, facts, hits, formats = [], [], [], []
    for ex, resp in zip(examples, responses, strict=True):
        correct.append(int(bool(accuracy_reward(resp, ex.to_row()))))
        notes = ex.visual_annotations
        verdicts = [int(v) for v in judge_rules(notes, resp)] if notes else []
        hits.append(verdicts)
        facts.append(sum(verdicts) / len(notes) if notes else 0.0)
        formats.append(float(fmt(resp, ex.to_row()) or 0.0))
    n = max(1, len(examples))
    return EvalResult(step=step, accuracy=sum(correct) / n, perception=sum(facts) / n, format=sum(formats) / n,
                      correct=correct, facts=facts, fact_hits=hits, ids=[ex.id for ex in examples],
                      samples=list(responses[:keep_samples]))


def evaluate(model, processor, examples: Sequence[Example], *, step: int = 0, max_new_tokens: int = 48,
             batch_size: int = 32, template: str = "perception_r1") -> EvalResult:
    """Greedy responses of ``model`` on ``examples``, scored (the model is left in its prior mode)."""
    from perceptrl.eval.generate import generate_responses

    was_training = model.training
    model.eval()
    try:
        out = generate_responses(model, processor, examples, template=template, max_new_tokens=max_new_tokens,
                                 temperature=0.0, batch_size=batch_size)
    finally:
        model.train(was_training)
    return score_responses(examples, [r[0] for r in out], step=step)
