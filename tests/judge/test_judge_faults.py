"""Judge faults against a real HTTP server on 127.0.0.1 (``loopback_judge.py``): one bad reply never
fails the batch, a silent or dripping server never holds a reward step past its budget.

Each test fails on the code before the integrity fixes: a garbage body or a choice without a message
raised out of the batch's gather (all 16 samples failed, then renormalised); the runner awaited the
judge with no deadline (a silent judge held a step for timeout × attempts); an attempt was bounded
by ``timeout + 5`` s and httpx's per-read timeout (a dripping server took ~6 s per 1 s attempt).
"""

import asyncio
import re
import time

import pytest
from loopback_judge import DRIP, GARBAGE, HTTP_400, NEVER, NO_MESSAGE, LoopbackJudge

from perceptrl.judge import ChatClient, JudgeConfig, JudgeRequestError, build_perception_reward
from perceptrl.rewards.hybrid import build_hybrid
from perceptrl.rewards.runner import RewardRunner
from bounds import DEADLINE_SLACK_S

OK = "<info1>1</info1>"
ROW = {"answer": "10", "visual_annotations": ["AB = 10"]}


def response(tag: str) -> str:
    return f"<think>\nFrom the figure AB = 10 [{tag}].\n</think>\n<answer>\n\\boxed{{10}}\n</answer>"


def tag_of(text: str) -> str:
    m = re.search(r"\[(\w+)\]", text)
    return m.group(1) if m else ""


def _cfg(server: LoopbackJudge, **kw) -> JudgeConfig:
    base = dict(backend="openai", base_url=server.base_url, model="loopback", cache_path=None, max_retries=1,
                backoff=0.01, timeout=5.0)
    return JudgeConfig(**{**base, **kw})


@pytest.mark.parametrize("bad", [GARBAGE, NO_MESSAGE])
def test_one_bad_reply_in_16_fails_only_that_request(bad):
    def behave(text):
        return bad if tag_of(text) == "r07" else OK

    rows = [dict(ROW, id=f"p{i // 4}") for i in range(16)]  # 4 GRPO groups of 4
    with LoopbackJudge(behave) as server:
        reward = build_perception_reward(_cfg(server))
        scores = reward.score([response(f"r{i:02d}") for i in range(16)], rows)
        m = reward.metrics()
    assert scores[:7] + scores[8:] == [1.0] * 15  # 15/16 scored
    assert scores[7] == pytest.approx(3 / 4)  # neutral: its group's mean with the failure counted 0
    assert m["judge/failures"] == 1 and m["judge/failed/bad_reply"] == 1 and m["judge/failed_samples"] == 1
    assert server.requests["ok"] == 15 and server.requests[bad] == 2  # the bad one was retried once
    assert reward.client.usage.get("attempt_failures/transport", 0) == 0


def test_rejected_request_is_a_judgement_not_a_failure():
    def behave(text):
        return HTTP_400 if tag_of(text) == "long" else OK

    rows = [dict(ROW, id="p")] * 4
    with LoopbackJudge(behave) as server:
        reward = build_perception_reward(_cfg(server))
        scores = reward.score([response(t) for t in ("a", "b", "c", "long")], rows)
        m = reward.metrics()
    # the response is what varies between requests: a rejection is its doing, r_v = 0 (not neutral)
    assert scores == [1.0, 1.0, 1.0, 0.0]
    assert m["judge/rejected"] == 1 and m["judge/failed_samples"] == 0
    assert server.requests[HTTP_400] == 1  # not retried


def _runner(server: LoopbackJudge, budget: float, **kw) -> RewardRunner:
    judge = build_perception_reward(_cfg(server, timeout=60.0, max_retries=3, **kw))
    return RewardRunner(build_hybrid("perception_r1", perception=judge), workers=0, batch_budget=budget)


@pytest.mark.parametrize("stall", [NEVER, DRIP])
def test_a_silent_or_dripping_judge_cannot_hold_the_step(stall):
    def behave(text):
        return stall if tag_of(text).startswith("slow") else OK

    # group a: 2 answered, 2 stalled; group b: all 4 stalled
    tags = ["a0", "a1", "slowa2", "slowa3", "slowb0", "slowb1", "slowb2", "slowb3"]
    rows = [dict(ROW, id="a")] * 4 + [dict(ROW, id="b")] * 4
    budget = 2.0
    with LoopbackJudge(behave) as server, _runner(server, budget) as runner:
        t0 = time.monotonic()
        out = runner.score([response(t) for t in tags], rows)
        took = time.monotonic() - t0
        assert took < budget + DEADLINE_SLACK_S, f"the step took {took:.1f} s with a {budget} s budget"
        assert out.components["perception"] == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0])
        assert out.metrics["perception/over_budget"] == 6 and out.metrics["judge/over_budget"] == 6
        assert out.metrics["judge/failed/over_budget"] == 6
        # nothing is left wedged: the next step is answered
        out2 = runner.score([response("a0"), response("a1")], rows[:2])
        assert out2.components["perception"] == [1.0, 1.0] and out2.metrics["perception/over_budget"] == 0
    # the stalled samples score strictly below a perfect judgement, never renormalised upwards
    assert max(out.total[2:]) < out.total[0]


def test_dripping_server_is_bounded_by_a_total_deadline_per_attempt():
    with LoopbackJudge(lambda text: DRIP) as server:
        client = ChatClient(server.base_url, "loopback", timeout=1.0, max_retries=0)
        t0 = time.monotonic()
        with pytest.raises(JudgeRequestError) as e:
            asyncio.run(client.complete([{"role": "user", "content": "hi"}]))
        took = time.monotonic() - t0
    assert took < 1.0 + DEADLINE_SLACK_S, f"a 1 s attempt took {took:.1f} s"
    assert e.value.kind == "timeout" and client.usage["failures/timeout"] == 1
