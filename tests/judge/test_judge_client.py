"""ChatClient failure handling against a real socket with nothing listening (no mock).

Round trips against a real server are in tests/integration/test_judge_server.py.
"""

import asyncio
import time

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.judge import ChatClient, JudgeConfig, JudgeRequestError, build_perception_reward
from perceptrl.judge.local_server import free_port

MSGS = [{"role": "user", "content": "hi"}]


def test_unreachable_server_raises_after_retries_with_backoff():
    client = ChatClient(f"http://127.0.0.1:{free_port()}/v1", "m", max_retries=2, backoff=0.05, timeout=5)
    t0 = time.perf_counter()
    with pytest.raises(JudgeRequestError) as e:
        asyncio.run(client.complete(MSGS))
    assert time.perf_counter() - t0 >= 0.05  # it did back off
    assert client.usage["requests"] == 3 and client.usage["retries"] == 2 and client.usage["failures"] == 1
    assert isinstance(e.value, PerceptrlError) and "judge.base_url" in e.value.render()


def test_complete_many_returns_errors_instead_of_raising():
    client = ChatClient(f"http://127.0.0.1:{free_port()}/v1", "m", max_retries=0, timeout=5)
    out = asyncio.run(client.complete_many([MSGS, MSGS, [{"role": "user", "content": "other"}]]))
    assert all(isinstance(o, JudgeRequestError) for o in out)
    assert client.usage["requests"] == 2  # the identical concurrent request was sent once
    assert client.usage["dedup_hits"] == 1


def test_usable_from_successive_event_loops():
    client = ChatClient(f"http://127.0.0.1:{free_port()}/v1", "m", max_retries=0, timeout=5)
    for _ in range(2):  # one asyncio.run per training step
        with pytest.raises(JudgeRequestError):
            asyncio.run(client.complete(MSGS))


@pytest.mark.parametrize("policy,expected", [("neutral", 0.0), ("zero", 0.0)])
def test_reward_with_unreachable_judge_applies_policy(policy, expected, tmp_path):
    cfg = JudgeConfig(backend="openai", base_url=f"http://127.0.0.1:{free_port()}/v1", model="m",
                      max_retries=1, backoff=0.01, timeout=5, failure_policy=policy,
                      cache_path=str(tmp_path / "c.sqlite"))
    r = build_perception_reward(cfg)
    scores = r.score(["a", "b"], [{"visual_annotations": ["x"]}] * 2)
    assert scores == [expected, expected]
    m = r.metrics()
    assert m["judge/failures"] == 2 and m["judge/retries"] == 2 and m["judge/failed/transport"] == 2
    with pytest.raises(PerceptrlError):  # the pre-flight check names the problem
        asyncio.run(r.check())


def test_bad_concurrency_rejected():
    with pytest.raises(PerceptrlError):
        ChatClient("http://x/v1", "m", max_concurrency=0)
