"""Running a judge on the judge-fidelity set, and building the judges the benchmark compares."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from perceptrl.judge.fidelity.cases import Case
from perceptrl.judge.fidelity.scoring import Prediction, Report, score


def _prediction(outcome, m: int) -> Prediction:
    if outcome.ok:
        return Prediction(list(outcome.verdicts), missing=outcome.missing, answer=outcome.answer)
    unp = outcome.error == "unparseable judge answer"
    return Prediction(None, error=outcome.error, unparseable=int(unp), failed=int(not unp), answer=outcome.answer)


async def ajudge_set(judge, cases: Sequence[Case], *, per_fact: bool = False) -> tuple[list[Prediction], float]:
    """Run ``judge`` (a :class:`~perceptrl.judge.backends.Judge`) over the set; returns the
    predictions and the wall time in seconds. ``per_fact`` asks one question per annotation
    (m requests per case) and assembles the verdicts."""
    t0 = time.perf_counter()
    if not per_fact:
        outcomes = await judge.ajudge([(list(c.annotations), c.response) for c in cases])
        preds = [_prediction(o, len(c.truth)) for c, o in zip(cases, outcomes)]
        return preds, time.perf_counter() - t0
    flat = [([a], c.response) for c in cases for a in c.annotations]
    outcomes = await judge.ajudge(flat)
    preds, i = [], 0
    for c in cases:
        parts = outcomes[i : i + len(c.annotations)]
        i += len(c.annotations)
        verdicts = [o.verdicts[0] if o.ok else 0 for o in parts]
        unp = sum(1 for o in parts if not o.ok and o.error == "unparseable judge answer")
        fail = sum(1 for o in parts if not o.ok) - unp
        preds.append(Prediction(verdicts, missing=sum(o.missing for o in parts if o.ok), requests=len(parts),
                                unparseable=unp, failed=fail,
                                error=next((o.error for o in parts if not o.ok), None),
                                answer="\n".join(o.answer or "" for o in parts)))
    return preds, time.perf_counter() - t0


def evaluate(judge, cases: Sequence[Case], *, per_fact: bool = False) -> tuple[Report, list[Prediction]]:
    """Judge the set and score it (synchronous; closes the judge's HTTP client, if any)."""

    async def run():
        try:
            return await ajudge_set(judge, cases, per_fact=per_fact)
        finally:
            client = getattr(judge, "client", None)
            if client is not None:
                await client.aclose()

    preds, secs = asyncio.run(run())
    return score(cases, preds, seconds=secs), preds


def build_judge(cfg, *, prompt: str = "ours"):
    """The judge of a :class:`~perceptrl.judge.config.JudgeConfig` with a prompt variant of
    :mod:`perceptrl.judge.fidelity_prompts`; returns ``(judge, per_fact)``. The verdict cache is
    off: a fidelity run measures the judge, not the cache. ``cfg.template_path`` wins over
    ``prompt``'s template (``per_fact`` still applies)."""
    from dataclasses import replace as dc_replace

    from perceptrl.judge.backends import LLMJudge
    from perceptrl.judge.fidelity_prompts import variant
    from perceptrl.judge.reward import build_perception_reward

    template, per_fact = variant(prompt)
    reward = build_perception_reward(dc_replace(cfg, cache_path=None))
    judge = reward.judge
    if isinstance(judge, LLMJudge) and not cfg.template_path and template != judge.template:
        judge = LLMJudge(judge.generate, model_id=judge.model_id, template=template, harden=judge.harden,
                         constrained=getattr(judge, "constrained", "off"))
    judge.client = reward.client  # closed by :func:`evaluate`
    return judge, per_fact
