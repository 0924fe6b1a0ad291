"""Report arithmetic: steps-to-match, aggregation over seeds, paired McNemar vs the baseline, verdict."""

import json
from types import SimpleNamespace

import pytest

from perceptrl.demo.config import DemoConfig
from perceptrl.demo.report import per_item_results, steps_to_match, summarize, verdict, write_report


def _eval(step, correct, facts, hits=None):
    hits = hits if hits is not None else [[1, 1] if f == 1.0 else [1, 0] if f == 0.5 else [0, 0] for f in facts]
    return {"step": step, "accuracy": sum(correct) / len(correct), "perception": sum(facts) / len(facts),
            "format": 1.0, "correct": correct, "facts": facts, "fact_hits": hits,
            "ids": [f"p{i}" for i in range(len(correct))], "samples": ["<think>\nx\n</think>"]}


def _run(tmp_path, b_correct, arms=("grpo", "perception_r1"), reps=1):
    """Two seeds; ``reps`` repeats every problem list (more items, same rates: more power)."""
    cfg = DemoConfig(seeds=2, grpo_steps=4, eval_every=2, arms=arms)
    warm, runs = {}, {}

    def ev(step, correct, facts):
        return _eval(step, correct * reps, facts * reps)

    for s in (0, 1):
        warm[s] = {"eval": ev(0, [0, 0, 0, 0], [0.0] * 4)}
        logs = [{"step": i, "reward": 0.1 * i, "rewards/accuracy/mean": 0.1 * i} for i in (1, 2, 3, 4)]
        runs[(s, arms[0])] = {"evals": [ev(2, [1, 0, 0, 0], [0.5] * 4), ev(4, [1, 1, 0, 0], [0.5] * 4)],
                              "log_history": logs}
        for arm in arms[1:]:
            runs[(s, arm)] = {"evals": [ev(2, [1, 1, 0, 0], [1.0] * 4), ev(4, b_correct, [1.0] * 4)],
                              "log_history": logs}
    return SimpleNamespace(out_dir=tmp_path, cfg=cfg, warm=warm, arms=runs, seconds=12.0)


def test_steps_to_match():
    assert steps_to_match([(0, 0.1), (5, 0.3), (10, 0.5)], 0.3) == 5
    assert steps_to_match([(0, 0.1), (5, 0.2)], 0.3) is None


def test_summary_pairs_answers_and_facts_against_the_baseline(tmp_path):
    s = summarize(_run(tmp_path, [1, 1, 1, 1]))
    assert s["baseline"] == "grpo" and s["arms"] == ["grpo", "perception_r1"]
    assert s["aggregate"]["grpo.accuracy"]["mean"] == pytest.approx(0.5)
    assert s["aggregate"]["perception_r1.accuracy"]["mean"] == pytest.approx(1.0)
    ans = s["comparisons"]["perception_r1"]["answers"]
    assert (ans["arm_only"], ans["base_only"], ans["n"]) == (4, 0, 8)
    assert ans["p"] == pytest.approx(0.125)
    facts = s["comparisons"]["perception_r1"]["facts"]
    assert facts["n"] == 16 and facts["arm_only"] == 8 and facts["base_only"] == 0
    assert facts["p"] == pytest.approx(2 * 0.5 ** 8)
    # the baseline's final seed-mean accuracy (50%) is reached at step 2 of 4
    assert s["comparisons"]["perception_r1"]["steps_to_match"] == 2
    assert s["comparisons"]["perception_r1"]["steps_ratio"] == pytest.approx(0.5)
    assert s["rl_works"]["seeds_above_warm_start"] == [0, 1]
    # 4 of 8 items gained over the warm start: p = 0.125, so not a regime where RL works
    assert s["rl_works"]["works"] is False and s["rl_works"]["p"] == pytest.approx(0.125)
    v = verdict(s)
    assert "ahead of grpo on part of the measures" in v and "p = 0.125" in v
    assert "RL itself did not clearly work" in v and "steps-to-match is not meaningful" in v


def test_rl_works_needs_a_significant_gain_over_the_warm_start(tmp_path):
    s = summarize(_run(tmp_path, [1, 1, 1, 1], reps=4))  # 16 of 32 items gained: p = 3e-5
    assert s["rl_works"]["works"] is True and s["rl_works"]["gain"] == pytest.approx(0.5)
    v = verdict(s)
    assert "RL itself worked" in v and "0.50x of the steps (within the 0.67x aim)" in v
    facts = s["vs_warm_start"]["perception_r1"]["facts"]
    assert facts["diff"] == pytest.approx(1.0) and "improved reading" in v


def test_bootstrap_interval_brackets_the_mean(tmp_path):
    run = _run(tmp_path, [1, 1, 1, 1])
    run.arms[(1, "grpo")]["evals"][-1] = _eval(4, [1, 1, 1, 0], [0.5] * 4)
    stat = summarize(run)["aggregate"]["grpo.accuracy"]
    assert stat["ci"][0] <= stat["mean"] <= stat["ci"][1]
    assert stat["ci"][0] >= 0.5 - 1e-9 and stat["ci"][1] <= 0.75 + 1e-9
    assert stat["ci"][1] > stat["ci"][0]


def test_verdict_says_when_perception_loses(tmp_path):
    run = _run(tmp_path, [0, 0, 0, 0])
    for s in (0, 1):
        run.arms[(s, "perception_r1")]["evals"] = [_eval(2, [0, 0, 0, 0], [0.0] * 4), _eval(4, [0, 0, 0, 0], [0.0] * 4)]
    v = verdict(summarize(run))
    assert v.startswith("The perception reward did not win against grpo")
    assert "not meaningful" in v


def test_verdict_says_when_rl_did_not_work(tmp_path):
    run = _run(tmp_path, [1, 1, 0, 0])
    for s in (0, 1):
        run.warm[s]["eval"] = _eval(0, [1, 1, 1, 0], [0.0] * 4)
    v = verdict(summarize(run))
    assert "RL itself did not clearly work" in v and "above it on 0 of 2 seeds" in v


def test_unpaired_items_are_refused(tmp_path):
    run = _run(tmp_path, [1, 1, 1, 1])
    run.arms[(0, "perception_r1")]["evals"][-1]["ids"] = ["q0", "q1", "q2", "q3"]
    with pytest.raises(ValueError, match="different problems"):
        summarize(run)


def test_many_arms_each_compared_with_the_baseline(tmp_path):
    arms = ("grpo", "perception_r1", "papo", "noisy_rollout")
    s = summarize(_run(tmp_path, [1, 1, 1, 0], arms=arms))
    assert list(s["comparisons"]) == ["perception_r1", "papo", "noisy_rollout"]
    v = verdict(s)
    assert v.startswith("The perception reward") and "papo: answer accuracy" in v and "noisy_rollout:" in v


def test_write_report_files(tmp_path):
    run = _run(tmp_path, [1, 1, 1, 0])
    path = write_report(run)
    text = path.read_text()
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["verdict"] in text
    assert "| Perception-R1: + perception reward (`perception_r1`) | 75.0% [75.0%, 75.0%]" in text
    assert "| +75.0% (0.0312) / +100.0% (3.1e-05) |" in text  # vs the warm start, paired
    for png in ("reward.png", "accuracy.png", "perception.png", "format.png", "train_accuracy.png"):
        assert (tmp_path / png).stat().st_size > 1000
        assert f"]({png})" in text
    # every per-item final result is kept, paired by problem id
    assert data["items"]["1/perception_r1"]["correct"] == [1, 1, 1, 0]
    assert data["items"]["0/grpo"]["ids"] == ["p0", "p1", "p2", "p3"]
    assert data["items"] == json.loads(json.dumps(per_item_results(run, summarize(run))))


def test_report_splits_by_chart_group_when_the_teacher_misread(tmp_path):
    from perceptrl.demo.problems import problems

    cfg = DemoConfig(seeds=1, grpo_steps=2, eval_every=2, n_train=8, n_eval=12, teacher_bias=0.5)
    held = problems(cfg, 0)[1]

    def ev(step, c):
        e = _eval(step, [c] * 12, [float(c)] * 12, hits=[[c, c] for _ in held])
        return {**e, "ids": [x.id for x in held]}

    logs = [{"step": 1, "reward": 0.1, "rewards/accuracy/mean": 0.1}]
    run = SimpleNamespace(out_dir=tmp_path, cfg=cfg, warm={0: {"eval": ev(0, 0)}}, seconds=1.0,
                          arms={(0, "grpo"): {"evals": [ev(2, 0)], "log_history": logs},
                                (0, "perception_r1"): {"evals": [ev(2, 1)], "log_history": logs}})
    s = summarize(run)
    cells = s["groups"]["table"]
    assert sum(c["warm_start"]["n"] for c in cells.values()) == 12
    assert all(c["perception_r1"]["perception"] == 1.0 and c["grpo"]["perception"] == 0.0 for c in cells.values())
    text = (write_report(run)).read_text()
    assert "## By chart group" in text
    assert summarize(_run(tmp_path, [1, 1, 1, 1]))["groups"] is None  # no teacher bias: no split


def test_report_lists_the_outcome_rm_of_each_seed(tmp_path):
    from perceptrl.demo.report import render_markdown

    run = _run(tmp_path, [1, 1, 1, 0], arms=("grpo", "reward_model"))
    rec = {"responses": 1024, "right_share": 0.25, "auc_fit": 0.71, "auc_held_out": 0.625}
    run.arms[(0, "reward_model")]["reward_model"] = rec
    run.arms[(1, "reward_model")]["reward_model"] = dict(rec, auc_held_out=None)
    text = render_markdown(run, summarize(run), [])
    assert "| 0 | reward_model | 1024 | 25.0% | 0.710 | 0.625 |" in text
    assert "| 1 | reward_model | 1024 | 25.0% | 0.710 | n/a |" in text
    assert "Outcome reward models" not in render_markdown(_run(tmp_path, [1, 1, 1, 0]), summarize(_run(tmp_path, [1, 1, 1, 0])), [])
