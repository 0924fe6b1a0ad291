"""The perception judge inside the reward runner, with the judge server down (METHODS.md §1, bug 3).

No mock: the judge's openai backend talks to a loopback port where nothing listens (connection
refused, a real transport failure). Training must get a total reward for every rollout, the
perception term filled by the failure policy — ``neutral`` (the pessimistic group mean: 0 when the
whole group failed) or ``zero`` — never ``None`` (never renormalised onto the other terms), and the
failures counted.
"""

import pytest

from perceptrl.judge import JudgeConfig, build_perception_reward
from perceptrl.judge.local_server import free_port
from perceptrl.rewards.hybrid import build_hybrid
from perceptrl.rewards.runner import RewardRunner

ROW = {"id": "g", "answer": "10", "visual_annotations": ["AB = 10", "angle ABC = 40°"]}
GOOD = "<think>\nFrom the figure AB = 10 and angle ABC = 40°.\n</think>\n<answer>\n\\boxed{10}\n</answer>"
WRONG = "<think>\nAB = 3.\n</think>\n<answer>\n\\boxed{7}\n</answer>"


@pytest.mark.parametrize("policy", ["neutral", "zero"])
def test_judge_down_never_stops_scoring(policy):
    cfg = JudgeConfig(backend="openai", base_url=f"http://127.0.0.1:{free_port()}/v1", model="nobody",
                      max_retries=1, backoff=0.05, timeout=5, cache_path=None, failure_policy=policy)
    judge = build_perception_reward(cfg)
    with RewardRunner(build_hybrid("perception_r1", perception=judge), workers=1, item_timeout=10.0,
                      batch_budget=60.0) as runner:
        out = runner.score([GOOD, WRONG, GOOD], [ROW] * 3)
    assert len(out.total) == 3
    perception = out.components["perception"]
    assert perception == [0.0, 0.0, 0.0]  # one group, all failed: 0 under both policies
    assert out.total[0] > out.total[1]  # accuracy and format still count
    assert out.total[0] == out.total[2]
    assert out.metrics["judge/failures"] == 2  # two distinct requests, each failed after its retry
    assert out.metrics["judge/failed_samples"] == 3
    assert out.metrics["judge/retries"] == 2
