"""The reward cannot be gamed through the judge: a systematic enumeration of every judge outcome ×
accuracy/format of the response × the composition of its GRPO group, through the RewardRunner and
through the TRL and verl/EasyR1 adapters, with the ``perception_r1`` preset.

Property: no outcome gives a response a higher total than the same response with perfect verdicts;
every outcome other than "perfect" (each has a 0 verdict, an unusable answer or a failure) scores
strictly below it; a failed sample's perception term is never above its group's mean (failing pays
no advantage) and never ``None`` (never renormalised).

On the code before the integrity fixes this fails: an unparseable answer or a failed request made
the perception term ``None`` and the hybrid renormalised 0.9·acc + 0.1·fmt by 1.7 — a correct answer
then scored exactly what perfect perception scores (and an over-budget judge held the step).
"""

from __future__ import annotations

import math
import time

import integrity_judge as J
import pytest
import torch

from perceptrl.judge import JudgeConfig, build_perception_reward
from perceptrl.rewards import verl_adapter
from perceptrl.rewards.hybrid import build_hybrid
from perceptrl.rewards.runner import RewardRunner
from perceptrl.rewards.trl_adapter import trl_reward_funcs
from bounds import DEADLINE_SLACK_S

BUDGET = 6.0  # the runner's batch budget: only the over-budget judge (120 s) may exceed it, also on a loaded machine
JUDGE = {"backend": "integrity_judge:judge", "cache_path": None}
VARIANTS = {  # what the response is worth apart from perception: (accuracy, format) combinations
    "correct_formatted": "<think>\nFrom the figure AB = 10 and BC = 3 {tok}.\n</think>\n<answer>\n\\boxed{{10}}\n</answer>",
    "correct_unformatted": "AB = 10 and BC = 3 {tok}, so the answer is \\boxed{{10}}",
    "wrong_formatted": "<think>\nFrom the figure AB = 10 and BC = 3 {tok}.\n</think>\n<answer>\n\\boxed{{7}}\n</answer>",
    "wrong_unformatted": "I am not sure {tok}. \\boxed{{7}}",
}
COMPOSITIONS = {  # the outcomes of the other members of the group
    "alone": [],
    "with_perfect": ["perfect"] * 3,
    "with_failed": ["transport", "over_budget", "timeout"],
    "mixed": ["perfect", "parsed_zero", "bad_reply"],
}


def build_cases(outcomes=J.OUTCOMES, compositions=COMPOSITIONS):
    """``(completions, group ids, target indices, case labels, plan for batch A, plan for batch B)``."""
    completions, groups, targets, labels = [], [], [], []
    plan_a, plan_b = {}, {}
    c = 0
    for outcome in outcomes:
        for variant, template in VARIANTS.items():
            for comp_name, others in compositions.items():
                gid = f"g{c}"
                tok = f"zq{c}x0"
                targets.append(len(completions))
                labels.append((outcome, variant, comp_name))
                completions.append(template.format(tok=tok))
                groups.append(gid)
                plan_a[tok], plan_b[tok] = outcome, "perfect"
                for j, other in enumerate(others, 1):
                    otok = f"zq{c}x{j}"
                    completions.append(VARIANTS["correct_formatted"].format(tok=otok))
                    groups.append(gid)
                    plan_a[otok] = plan_b[otok] = other
                c += 1
    return completions, groups, targets, labels, plan_a, plan_b


def check_property(labels, targets, total_a, total_b, perception_a=None, groups=None):
    for label, t in zip(labels, targets):
        outcome = label[0]
        a, b = total_a[t], total_b[t]
        assert a is not None and math.isfinite(a), label
        if outcome == "perfect":
            assert a == pytest.approx(b), label
        else:
            assert a < b - 1e-9, f"{label}: {a} is not below the perfect-verdict total {b}"
        if perception_a is not None:
            p = perception_a[t]
            assert p is not None, f"{label}: perception is None (would be renormalised)"
            if outcome in J.FAILURES:
                members = [i for i, g in enumerate(groups) if g == groups[t]]
                mean = sum(perception_a[i] for i in members) / len(members)
                assert p <= mean + 1e-9 and p < 1.0, f"{label}: failed sample got {p}, group mean {mean}"


def _score_runner(runner, completions, groups, plan):
    J.PLAN.clear()
    J.PLAN.update(plan)
    rows = [{"id": g, "answer": "10", "visual_annotations": J.ANNOTATIONS} for g in groups]
    t0 = time.monotonic()
    out = runner.score(completions, rows)
    assert time.monotonic() - t0 < BUDGET + DEADLINE_SLACK_S  # the over-budget judge (120 s) never holds the step
    return out


def test_every_judge_outcome_through_the_runner():
    completions, groups, targets, labels, plan_a, plan_b = build_cases()
    judge = build_perception_reward(JudgeConfig(**JUDGE))
    with RewardRunner(build_hybrid("perception_r1", perception=judge), workers=0, batch_budget=BUDGET) as runner:
        a = _score_runner(runner, completions, groups, plan_a)
        b = _score_runner(runner, completions, groups, plan_b)
    check_property(labels, targets, a.total, b.total, a.components["perception"], groups)
    # and every outcome is counted where it belongs
    m = a.metrics
    n_cases = len(VARIANTS) * len(COMPOSITIONS)
    assert m["judge/unparseable"] == 4 * n_cases  # unparseable, conflicting, refused, empty targets
    assert m["judge/rejected"] == n_cases and m["judge/partial"] == n_cases
    n_over = n_cases + len(J.OUTCOMES) * len(VARIANTS)  # targets + one "over_budget" member per with_failed group
    assert m["perception/over_budget"] == n_over
    assert m["judge/failed/over_budget"] == n_over
    assert b.metrics["perception/over_budget"] == len(J.OUTCOMES) * len(VARIANTS)
    assert a.components["perception"].count(None) == 0


def test_zero_policy_has_the_same_property():
    completions, groups, targets, labels, plan_a, plan_b = build_cases(compositions={
        k: COMPOSITIONS[k] for k in ("alone", "mixed")})
    judge = build_perception_reward(JudgeConfig(**JUDGE, failure_policy="zero"))
    with RewardRunner(build_hybrid("perception_r1", perception=judge), workers=0, batch_budget=BUDGET) as runner:
        a = _score_runner(runner, completions, groups, plan_a)
        b = _score_runner(runner, completions, groups, plan_b)
    check_property(labels, targets, a.total, b.total, a.components["perception"], groups)
    for label, t in zip(labels, targets):
        if label[0] in J.FAILURES:
            assert a.components["perception"][t] == 0.0


def _call_like_trl(funcs, weights, completions, columns, prompts):
    """TRL 1.16's reward calls and aggregation (``nansum`` of weight × reward)."""
    kwargs = dict(columns, trainer_state=None, log_extra=lambda *a: None, log_metric=lambda k, v: None)
    per_func = torch.zeros(len(completions), len(funcs))
    for i, f in enumerate(funcs):
        out = f(prompts=prompts, completions=completions, completion_ids=[[0]] * len(completions), **kwargs)
        per_func[:, i] = torch.tensor([torch.nan if r is None else r for r in out])
    total = (per_func * torch.tensor(weights).unsqueeze(0)).nansum(dim=1)
    return total.tolist(), per_func


@pytest.mark.parametrize("group_by", ["id_column", "prompts"])
def test_every_judge_outcome_through_the_trl_adapter(group_by):
    compositions = COMPOSITIONS if group_by == "id_column" else {k: COMPOSITIONS[k] for k in ("alone", "mixed")}
    completions, groups, targets, labels, plan_a, plan_b = build_cases(compositions=compositions)
    columns = {"answer": ["10"] * len(groups), "visual_annotations": [J.ANNOTATIONS] * len(groups)}
    if group_by == "id_column":
        columns["id"] = list(groups)
    prompts = [[{"role": "user", "content": f"What is AB? (problem {g})"}] for g in groups]
    judge = build_perception_reward(JudgeConfig(**JUDGE))
    with RewardRunner(build_hybrid("perception_r1", perception=judge), workers=0, batch_budget=BUDGET) as runner:
        funcs, weights = trl_reward_funcs(runner)
        perception = [f.__name__ for f in funcs].index("perception")
        results = []
        for plan in (plan_a, plan_b):
            J.PLAN.clear()
            J.PLAN.update(plan)
            results.append(_call_like_trl(funcs, weights, [[{"role": "assistant", "content": c}] for c in completions],
                                          columns, prompts))
    (total_a, per_a), (total_b, _) = results
    check_property(labels, targets, total_a, total_b, per_a[:, perception].tolist(), groups)
    for label, t in zip(labels, targets):  # the group is known: (1 + 0 + 0 + 0) / 4, not 0 as if alone
        if label[0] == "transport" and label[2] == "mixed":
            assert per_a[t, perception].item() == pytest.approx(0.25)


@pytest.mark.parametrize("engine", ["verl", "easyr1"])
def test_every_judge_outcome_through_the_verl_and_easyr1_adapters(engine):
    completions, groups, targets, labels, plan_a, plan_b = build_cases(compositions={
        k: COMPOSITIONS[k] for k in ("alone", "mixed")})
    options = {"workers": 0, "batch_budget": BUDGET}
    totals, perception = [], []
    for plan in (plan_a, plan_b):
        J.PLAN.clear()
        J.PLAN.update(plan)
        if engine == "verl":
            out = verl_adapter.compute_score_batched(
                ["geo"] * len(groups), completions, ["10"] * len(groups),
                [{"index": g, "visual_annotations": J.ANNOTATIONS} for g in groups],
                preset="perception_r1", judge=JUDGE, runner_options=options)
            totals.append([o["score"] for o in out])
        else:
            out = verl_adapter.easyr1_compute_score(
                [{"response": c, "ground_truth": "10", "uid": g, "visual_annotations": J.ANNOTATIONS}
                 for c, g in zip(completions, groups)],
                preset="perception_r1", judge=JUDGE, runner_options=options)
            totals.append([o["overall"] for o in out])
        perception.append([o["perception"] for o in out])
    check_property(labels, targets, totals[0], totals[1], perception[0], groups)
