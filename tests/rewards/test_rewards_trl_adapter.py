import pytest
import torch
from trl.trainer.utils import get_callable_name, is_async_callable

from perceptrl.rewards.hybrid import HybridSpec, RewardTerm
from perceptrl.rewards.runner import RewardRunner
from perceptrl.rewards.base import completion_text
from perceptrl.rewards.trl_adapter import trl_reward_funcs

GOOD = "<think>\nAB = 10\n</think>\n<answer>\n\\boxed{10}\n</answer>"


def _call_like_trl(funcs, weights, prompts, completions, columns, completion_ids):
    """TRL 1.16's _calculate_rewards / aggregation for sync functions (grpo_trainer.py)."""
    logged = {}
    metrics = {}
    kwargs = dict(columns, trainer_state=None, log_extra=lambda *a: None,
                  log_metric=lambda k, v: metrics.__setitem__(k, v))
    per_func = torch.zeros(len(prompts), len(funcs))
    for i, f in enumerate(funcs):
        assert not is_async_callable(f)
        out = f(prompts=prompts, completions=completions, completion_ids=completion_ids, **kwargs)
        per_func[:, i] = torch.tensor([torch.nan if r is None else r for r in out])
        logged[f"rewards/{get_callable_name(f)}/mean"] = torch.nanmean(per_func[:, i]).item()
    total = (per_func * torch.tensor(weights).unsqueeze(0)).nansum(dim=1)
    return total.tolist(), logged, metrics


def test_components_logged_by_name_and_total_equals_hybrid():
    spec = HybridSpec([RewardTerm("accuracy", 0.9), RewardTerm("format", 0.1, params={"pattern": "strict_newlines"}),
                       RewardTerm("iou", 0.5, reward="iou_union"), RewardTerm("repetition", 1.0)])
    completions = [GOOD, "<answer>[0,0,10,10]</answer>", "nonsense " * 50, [{"role": "assistant", "content": GOOD}]]
    columns = {
        "answer": ["10", "3", "3", "9"],
        "id": ["a", "b", "c", "d"],
        "boxes": [[], [{"x0": 0, "y0": 0, "x1": 10, "y1": 20}], [], []],
    }
    with RewardRunner(spec, workers=1) as runner:
        funcs, weights = trl_reward_funcs(runner)
        assert [get_callable_name(f) for f in funcs] == ["accuracy", "format", "iou", "repetition", "hybrid"]
        assert weights == [0.0, 0.0, 0.0, 0.0, 1.0]
        total, logged, metrics = _call_like_trl(funcs, weights, ["p"] * 4, completions, columns, [[1, 2, 3]] * 4)
        expected = runner.score([completion_text(c) for c in completions],
                                [{k: v[i] for k, v in columns.items()} for i in range(4)])
    assert total == pytest.approx(expected.total)
    # row 0: iou not applicable -> accuracy + format renormalised by 1.5 / 1.0
    assert total[0] == pytest.approx(1.5) and total[2] < 0  # repetition penalty
    assert total[1] == pytest.approx(0.5 * 0.5)  # union IoU 0.5, wrong answer, no format
    assert logged["rewards/iou/mean"] == pytest.approx(0.5)  # only where applicable (NaN elsewhere)
    assert logged["rewards/accuracy/mean"] == pytest.approx(0.25)
    assert "reward_runner/accuracy/timeouts" in metrics


def test_batch_is_scored_once():
    calls = []

    class CountingRunner(RewardRunner):
        def score(self, completions, rows, **kw):
            calls.append(len(completions))
            return super().score(completions, rows, **kw)

    with CountingRunner("perception_r1_no_judge", workers=0) as runner:
        funcs, weights = trl_reward_funcs(runner)
        comps = [GOOD, GOOD]
        _call_like_trl(funcs, weights, ["p", "p"], comps, {"answer": ["10", "10"]}, [[1], [2]])
        _call_like_trl(funcs, weights, ["p", "p"], list(comps), {"answer": ["10", "10"]}, [[1], [2]])
    assert calls == [2, 2]


def test_a_new_step_with_the_same_completions_is_scored_anew():
    # regression: the cache key was (id(completions), len, hash of the texts): a later step with the
    # same texts in a reused list got the previous step's rewards, whatever its rows said
    comps = [GOOD, GOOD]
    with RewardRunner("perception_r1_no_judge", workers=0) as runner:
        funcs, weights = trl_reward_funcs(runner)
        first, _, _ = _call_like_trl(funcs, weights, ["p", "p"], comps, {"answer": ["10", "10"]}, [[1], [2]])
        second, _, _ = _call_like_trl(funcs, weights, ["q", "q"], comps, {"answer": ["5", "5"]}, [[1], [2]])
    assert first == pytest.approx([1.0, 1.0]) and second == pytest.approx([0.1, 0.1])


def test_trl_solution_column_is_the_gold_answer():
    # regression: with TRL's `solution` column accuracy was None for every rollout, so after
    # renormalisation a wrong answer in the right format earned the full reward
    wrong = GOOD.replace("boxed{10}", "boxed{5}")
    with RewardRunner("perception_r1_no_judge", workers=0) as runner:
        funcs, weights = trl_reward_funcs(runner)
        total, _, _ = _call_like_trl(funcs, weights, ["p", "p"], [GOOD, wrong], {"solution": ["10", "10"]}, [[1], [2]])
    assert total[0] > total[1]
    assert total[1] < 0.5


def test_completion_text_forms():
    assert completion_text("x") == "x"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "a"},
                                                              {"type": "image"}, {"type": "text", "text": "b"}]}]) == "ab"
    assert completion_text(None) == ""
    # every message, in order (the judge and the rule rewards read the same text)
    assert completion_text([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]) == "a\nb"
    assert completion_text({"role": "assistant", "content": "c"}) == "c"


def test_real_grpo_trainer_logs_each_component(tiny_qwen25vl_dir, tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    ds = Dataset.from_list([{"prompt": f"What is {i}+{i}?", "answer": str(2 * i), "id": f"q{i}"} for i in range(4)])
    with RewardRunner("perception_r1_no_judge", workers=1) as runner:
        funcs, weights = trl_reward_funcs(runner)
        args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4,
                          max_completion_length=8, max_steps=1, logging_steps=1, reward_weights=weights,
                          report_to=[], use_cpu=True, save_strategy="no")
        trainer = GRPOTrainer(model=str(tiny_qwen25vl_dir), reward_funcs=funcs, args=args, train_dataset=ds)
        trainer.train()
    log = trainer.state.log_history[0]
    for name in ("accuracy", "format", "repetition", "hybrid"):
        assert f"rewards/{name}/mean" in log
    assert log["reward"] == pytest.approx(log["rewards/hybrid/mean"])
    assert "reward_runner/accuracy/timeouts" in log
