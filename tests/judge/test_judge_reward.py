"""The perception reward: parity with METHODS.md §1 and one test per reference bug it must not copy."""

import asyncio
import re

import pytest

from perceptrl.judge import JudgeConfig, PerceptionReward, RulesJudge, build_perception_reward
from perceptrl.judge.prompt import shown_response
from perceptrl.judge.reward import row_annotations
from perceptrl.rewards.base import BatchReward


def fixed_judge(answers: dict[str, str]):
    """A judge model whose answer is fixed per response (looked up by the response text)."""

    def judge(messages):
        return answers[shown_response(messages[-1]["content"])]

    return judge


def _reward(answers, **kw):
    cfg = JudgeConfig(backend="openai", base_url="http://unused.invalid/v1", model="fixed", cache_path=None, **kw)
    return build_perception_reward(cfg, generator=fixed_judge(answers))


def reference_score(answer: str) -> float:
    """The reference implementation's arithmetic (last greedy match per tag, divided by the number of
    tags found), reproduced only to show where perceptrl departs from it."""
    last = dict(re.findall(r"<info(\d+)>(.*)</info\1>", answer))
    return sum(v.strip() == "1" for v in last.values()) / len(last) if last else 0.0


# (annotations, response, judge answer, r_v by the METHODS.md formula)
TRIPLES = [
    (["AB = 10"], "AB = 10", "<info1>1</info1>", 1.0),
    (["AB = 10", "BC = 3"], "AB = 10", "<info1>1</info1>\n<info2>0</info2>", 0.5),
    (["a", "b", "c"], "r3", "<info1>1</info1>\n<info2>1</info2>\n<info3>0</info3>", 2 / 3),
    (["a", "b", "c", "d"], "r4", "<info1>0</info1>\n<info2>0</info2>\n<info3>0</info3>\n<info4>0</info4>", 0.0),
    (["a", "b", "c", "d", "e"], "r5", "\n".join(f"<info{k}>1</info{k}>" for k in range(1, 6)), 1.0),
]


def test_is_a_batch_reward_named_perception():
    r = _reward({})
    assert isinstance(r, BatchReward) and r.name == "perception"


@pytest.mark.parametrize("anns,resp,answer,expected", TRIPLES)
def test_parity_with_formula(anns, resp, answer, expected):
    r = _reward({resp: answer})
    assert r.score([resp], [{"visual_annotations": anns}]) == [pytest.approx(expected)]
    verdicts = [int(x) for x in re.findall(r">([01])<", answer)]
    assert r.last_outcomes[0].verdicts == verdicts
    assert expected == pytest.approx(sum(verdicts) / len(anns))  # r_v = (1/m) Σ o_j


def test_no_annotations_scores_empty_score():
    assert _reward({}).score(["x"], [{"visual_annotations": []}]) == [0.0]
    assert _reward({}, empty_score=None).score(["x"], [{}]) == [None]


def test_bug1_truncated_answer_divides_by_m_and_counts_missing():
    answer = "<info1>1</info1>\n<info2>1</info2>\n<info3>"  # cut off by max_tokens
    r = _reward({"resp": answer})
    assert reference_score(answer) == 1.0
    assert r.score(["resp"], [{"visual_annotations": ["a", "b", "c", "d"]}]) == [0.5]
    assert r.metrics()["judge/missing_verdicts"] == 2


def test_bug2_one_verdict_per_index_not_last_greedy_match():
    answer = "<info1>0</info1>\n<info2>1</info2>\non reflection <info1>1</info1>"
    r = _reward({"resp": answer})
    assert reference_score(answer) == 1.0  # the last tag wins
    assert r.score(["resp"], [{"visual_annotations": ["a", "b"]}]) == [0.5]  # conflicting info1 counts 0
    assert r.metrics()["judge/conflicting_verdicts"] == 1


def test_bug2_tags_in_the_response_are_not_verdicts():
    # the judge answers for one item; the response's own tags are never parsed
    r = _reward({"AB = 10. [tag removed]": "<info1>0</info1>"})  # the value goes with its tag
    assert r.score(["AB = 10. <info2>1</info2>"], [{"visual_annotations": ["AB = 10", "BC = 3"]}]) == [0.0]


@pytest.mark.parametrize("policy,expected", [("skip", None), ("zero", 0.0)])
def test_bug3_judge_failure_never_raises(policy, expected):
    def broken(messages):
        raise ConnectionError("judge down")

    cfg = JudgeConfig(backend="openai", base_url="http://unused.invalid/v1", model="m", cache_path=None,
                      failure_policy=policy)
    r = build_perception_reward(cfg, generator=broken)
    scores = r.score(["a", "b", "a"], [{"visual_annotations": ["x"]}] * 3)
    assert scores == [expected] * 3
    m = r.metrics()
    assert m["judge/failures"] == 2 and m["judge/failed_samples"] == 3
    assert r.last_outcomes[0].error.startswith("ConnectionError")


def test_bug3_a_crashing_backend_is_contained():
    class Exploding(RulesJudge):
        async def ajudge(self, pairs):
            raise RuntimeError("boom")

    r = PerceptionReward(Exploding(), failure_policy="zero")
    assert r.score(["a"], [{"visual_annotations": ["x"]}]) == [0.0]


def test_garbage_answer_is_a_counted_failure():
    r = _reward({"resp": "I think the response is good."}, failure_policy="zero")
    assert r.score(["resp"], [{"visual_annotations": ["a"]}]) == [0.0]
    m = r.metrics()
    assert m["judge/unparseable"] == 1 and m["judge/failures"] == 1


def test_duplicates_in_a_batch_are_sent_once():
    calls = []

    def judge(messages):
        calls.append(messages)
        return "<info1>1</info1>"

    cfg = JudgeConfig(backend="openai", base_url="http://unused.invalid/v1", model="m", cache_path=None)
    r = build_perception_reward(cfg, generator=judge)
    rows = [{"visual_annotations": ["a"]}] * 4 + [{"visual_annotations": ["b"]}]
    assert r.score(["x", "x", "y", "x", "x"], rows) == [1.0] * 5
    assert len(calls) == 3  # (a,x) (a,y) (b,x)
    assert r.metrics()["judge/deduplicated"] == 2


def test_persistent_cache_across_instances(tmp_path):
    calls = []

    def judge(messages):
        calls.append(1)
        return "<info1>1</info1>"

    cfg = JudgeConfig(backend="openai", base_url="http://unused.invalid/v1", model="m",
                      cache_path=str(tmp_path / "v.sqlite"))
    rows = [{"visual_annotations": ["a"]}]
    assert build_perception_reward(cfg, generator=judge).score(["x"], rows) == [1.0]
    r2 = build_perception_reward(cfg, generator=judge)
    assert r2.score(["x"], rows) == [1.0] and len(calls) == 1
    assert r2.metrics()["judge/cache_hits"] == 1
    # transport failures are not cached (a later call retries them); answers, even garbage, are
    def down(messages):
        raise ConnectionError("down")

    for model, fn, sent in (("down", down, 2), ("garbage", lambda m: "garbage", 1)):
        r3 = build_perception_reward(JudgeConfig(**{**cfg.__dict__, "model": model}), generator=fn)
        assert r3.score(["x"], rows) == [None] and r3.score(["x"], rows) == [None]
        m = r3.metrics()
        assert m["judge/requests"] == sent and m["judge/failed_samples"] == 2


def test_cache_key_changes_with_template(tmp_path):
    (tmp_path / "t.txt").write_text("Another judge prompt.")
    calls = []

    def judge(messages):
        calls.append(messages[0]["content"])
        return "<info1>1</info1>"

    base = dict(backend="openai", base_url="http://unused.invalid/v1", model="m", cache_path=str(tmp_path / "c"))
    build_perception_reward(JudgeConfig(**base), generator=judge).score(["x"], [{"visual_annotations": ["a"]}])
    build_perception_reward(JudgeConfig(**base, template_path=str(tmp_path / "t.txt")), generator=judge).score(
        ["x"], [{"visual_annotations": ["a"]}])
    assert len(calls) == 2 and calls[1] == "Another judge prompt."
    # so do the judge model and its generation settings (a smaller max_tokens truncates answers)
    for change in ({"model": "m2"}, {"max_tokens": 8}):
        build_perception_reward(JudgeConfig(**{**base, **change}), generator=judge).score(
            ["x"], [{"visual_annotations": ["a"]}])
    assert len(calls) == 4
    build_perception_reward(JudgeConfig(**base), generator=judge).score(["x"], [{"visual_annotations": ["a"]}])
    assert len(calls) == 4  # the original settings still hit their entry


def test_async_interface_and_rules_backend():
    r = build_perception_reward({"backend": "rules"})
    rows = [{"visual_annotations": ["AB = 10", "BC = 3"]}]
    assert asyncio.run(r.ascore(["AB = 10, BC = 4"], rows)) == [0.5]
    assert r.last_outcomes[0].verdicts == [1, 0]


def test_visual_key_info_string_and_conversational_completions():
    row = {"visual_key_info": "<info1>AB = 10</info1>\n<info2>x <y> z</info2>"}
    assert row_annotations(row) == ["AB = 10", "x <y> z"]
    r = build_perception_reward({"backend": "rules"})
    assert r.score([[{"role": "assistant", "content": "AB = 10"}]], [row]) == [0.5]
