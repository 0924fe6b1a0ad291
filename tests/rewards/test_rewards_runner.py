import asyncio
import importlib.util
import signal
import time
import uuid
from pathlib import Path

import pytest

from perceptrl.rewards.hybrid import HybridSpec, RewardTerm, build_hybrid
from perceptrl.rewards.registry import register_reward
from perceptrl.rewards.runner import RewardRunner
from bounds import DEADLINE_SLACK_S

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("perceptrl_bench_rewards", ROOT / "benchmarks" / "rewards.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _stuck_key(completion, row):
    return completion


def _stuck_score(key, timeout):
    if key == "stuck":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    if key.startswith("slow"):
        time.sleep(0.15)
    return float(len(key))


register_reward("test_stuck", heavy=True, key=_stuck_key, score_key=_stuck_score)(
    lambda c, r: _stuck_score(_stuck_key(c, r), None)
)
# a badly written reward: not applicable when the *response* says so
register_reward("test_response_decides_none")(lambda c, r: None if "skip me" in c else 0.0)


class SleepyJudge:
    name = "perception"

    def __init__(self, delay):
        self.delay, self.calls, self.started = delay, 0, None

    async def ascore(self, completions, rows):
        self.calls += 1
        self.started = time.monotonic()
        await asyncio.sleep(self.delay)
        return [None if i % 4 == 0 else 0.5 for i in range(len(completions))]

    def metrics(self):
        return {"judge/calls": float(self.calls)}


@pytest.fixture(scope="module")
def batch():
    completions, rows, _ = _bench().make_batch(n_prompts=12, group=8, seed=5)
    return completions, rows


def test_identical_for_any_worker_count_and_in_process(batch):
    completions, rows = batch
    results = []
    for workers in (0, 1, 2):
        with RewardRunner("perception_r1_no_judge", workers=workers) as r:
            results.append(r.score(completions, rows))
    for other in results[1:]:
        assert other.total == results[0].total
        assert other.components == results[0].components
    m = results[-1].metrics
    assert m["accuracy/unique_keys"] < len(completions)  # dedupe happened
    assert m["accuracy/timeouts"] == 0 and m["accuracy/over_budget"] == 0
    assert list(results[0].components) == ["accuracy", "format", "repetition"]
    assert 0 < results[0].metrics["accuracy/mean"] < 1


def test_runner_matches_the_plain_reward_functions(batch):
    from perceptrl.rewards.accuracy import accuracy_reward
    from perceptrl.rewards.format import make_format_reward
    from perceptrl.rewards.repetition import repetition_penalty

    completions, rows = batch
    fmt = make_format_reward("strict_newlines")
    with RewardRunner("perception_r1_no_judge", workers=2) as r:
        out = r.score(completions, rows)
    for i, (c, row) in enumerate(zip(completions, rows)):
        expect = 0.9 * accuracy_reward(c, row) + 0.1 * fmt(c, row) + repetition_penalty(c)
        assert out.total[i] == pytest.approx(expect)


def test_pathological_answers_time_out_within_budget(tmp_path):
    gold_rows = [{"id": f"p{i}", "answer": "5"} for i in range(3)]
    patho = ["9**9**9**9", "(" * 500 + "1" + ")" * 500, r"10^{10^{10^{10}}}"]
    completions = [f"<think>\nx\n</think>\n<answer>\n\\boxed{{{p}}}\n</answer>" for p in patho]
    completions += ["<think>\nx\n</think>\n<answer>\n\\boxed{5}\n</answer>"] * 3
    rows = gold_rows + gold_rows
    with RewardRunner("perception_r1_no_judge", workers=2, item_timeout=0.3, batch_budget=5.0) as r:
        t = time.monotonic()
        out = r.score(completions, rows)
        assert time.monotonic() - t < 5.0 + DEADLINE_SLACK_S  # budget 5 s (reference: 5 s per pathological answer)
        assert out.components["accuracy"] == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
        assert out.metrics["accuracy/timeouts"] + out.metrics["accuracy/errors"] == 3
        # a timed-out key is remembered: the next batch does not pay for it again
        t = time.monotonic()
        again = r.score(completions[:1], rows[:1])
        assert again.metrics["accuracy/cached_timeouts"] == 1 and again.metrics["accuracy/timeouts"] == 1


def test_stuck_worker_is_killed_not_waited_for():
    spec = HybridSpec([RewardTerm("test_stuck")])
    with RewardRunner(spec, workers=1, item_timeout=0.2, batch_budget=10.0) as r:
        r._heavy.pool.kill_after = 0.6
        pids = r.worker_pids
        t = time.monotonic()
        out = r.score(["ab", "stuck", "abc"], [{"id": 1}, {"id": 2}, {"id": 3}])
        assert time.monotonic() - t < 0.6 + DEADLINE_SLACK_S  # the stuck item would sleep 60 s
        assert out.components["test_stuck"] == [2.0, 0.0, 3.0]
        assert out.metrics["test_stuck/timeouts"] == 1 and out.metrics["test_stuck/workers_replaced"] == 1
        assert r.worker_pids != pids


def test_batch_budget_bounds_the_batch():
    spec = HybridSpec([RewardTerm("test_stuck")])
    with RewardRunner(spec, workers=1, item_timeout=30.0, batch_budget=0.5) as r:  # only the budget can end it
        t = time.monotonic()
        out = r.score(["stuck", "ab"], [{"id": 1}, {"id": 2}])
        assert time.monotonic() - t < 0.5 + DEADLINE_SLACK_S
        assert out.components["test_stuck"] == [0.0, 0.0]
        assert out.metrics["test_stuck/over_budget"] == 2


def test_judge_runs_concurrently_and_none_is_renormalised(batch):
    completions, rows = batch
    judge = SleepyJudge(delay=1.5)
    spec = HybridSpec([RewardTerm("test_stuck", 1.0), RewardTerm("perception", 1.0)])
    with RewardRunner(build_hybrid(spec, perception=judge), workers=1, item_timeout=2.0) as r:
        r.score(["warm"], [{"id": 0}])

        async def go():
            # the sync part is slow on purpose; the judge's 1.5 s overlaps it
            return await r.ascore([f"slow{i}" for i in range(10)], [{"id": i} for i in range(10)])

        t = time.monotonic()
        out = asyncio.run(go())  # heavy part 1.5 s (10 x 0.15 s, one worker), judge 1.5 s
        # concurrent: the judge starts with the heavy part, not after it (>= 1.5 s, more under load)
        assert judge.started - t < 1.0
    assert out.components["perception"][0] is None
    assert out.total[0] == pytest.approx(5.0 * 2)  # None = not applicable: weight renormalised onto the other term
    assert out.total[1] == pytest.approx(5.0 + 0.5)
    assert out.metrics["judge/calls"] == 2.0


def test_real_rules_judge_plugs_in():
    from perceptrl.judge import JudgeConfig, build_perception_reward

    judge = build_perception_reward(JudgeConfig(backend="rules", cache_path=None))
    h = build_hybrid("perception_r1", perception=judge)
    row = {"id": "g", "answer": "10", "visual_annotations": ["AB = 10", "angle ABC = 40°"]}
    good = "<think>\nFrom the figure AB = 10 and angle ABC = 40°.\n</think>\n<answer>\n\\boxed{10}\n</answer>"
    bad = "<think>\nI guess.\n</think>\n<answer>\n\\boxed{10}\n</answer>"
    with RewardRunner(h, workers=1) as r:
        out = r.score([good, bad], [row, row])
    assert out.components["perception"] == [1.0, 0.0]
    assert out.total == pytest.approx([0.9 + 0.1 + 0.7, 0.9 + 0.1])


def test_empty_200kb_and_code_like_responses_never_execute(tmp_path):
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    code = [
        f"__import__('os').system('touch {marker}')",
        f"(lambda: open('{marker}', 'w'))()",
        f"lambda: __import__('os').system('touch {marker}')",
    ]
    completions = ["", "<think>" + "words " * 40_000 + "</think><answer>\\boxed{3}</answer>"]
    completions += [f"<answer>{c}</answer>" for c in code] + [f"\\boxed{{{c}}}" for c in code]
    rows = [{"id": i, "answer": "3"} for i in range(len(completions))]
    rows[-1] = {"id": "g", "answer": code[0]}  # code-like gold too
    with RewardRunner("perception_r1_no_judge", workers=2, item_timeout=1.0) as r:
        out = r.score(completions, rows)
    assert out.components["accuracy"][:2] == [0.0, 1.0]
    assert out.components["format"][0] == 0.0
    assert all(v == 0.0 for v in out.components["accuracy"][2:])
    assert not marker.exists()


def test_mismatched_lengths_are_a_user_error():
    from perceptrl.errors import PerceptrlError

    with RewardRunner("perception_r1_no_judge", workers=0) as r:
        with pytest.raises(PerceptrlError, match="rows"):
            r.score(["a", "b"], [{"answer": "1"}])


def test_group_reward_sees_the_batch_and_accuracy():
    spec = HybridSpec([RewardTerm("accuracy", 1.0), RewardTerm("length_group", 1.0)])
    rows = [{"id": "p", "answer": "4"}] * 3
    comps = ["<answer>\\boxed{4}</answer>", "<answer>so the result is \\boxed{5}</answer>",
             "<answer>after a long detour the result is \\boxed{4}</answer>"]
    with RewardRunner(spec, workers=1) as r:
        out = r.score(comps, rows)
    assert out.components["accuracy"] == [1.0, 0.0, 1.0]
    lg = out.components["length_group"]
    assert lg[0] == pytest.approx(0.5) and lg[2] == pytest.approx(-0.5) and lg[1] <= 0


def test_none_decided_by_the_response_is_counted_and_warned(caplog):
    spec = HybridSpec([RewardTerm("accuracy", 1.0), RewardTerm("test_response_decides_none", 1.0)])
    rows = [{"id": "p", "answer": "4"}] * 2 + [{"id": "q", "answer": "4"}] * 2
    comps = ["\\boxed{4} skip me", "\\boxed{4}", "\\boxed{4}", "\\boxed{4}"]
    with RewardRunner(spec, workers=0) as r:
        out = r.score(comps, rows)
    assert out.metrics["test_response_decides_none/none_varies_in_group"] == 1  # group p only
    assert "the response decides it" in caplog.text
    assert "accuracy/none_varies_in_group" not in out.metrics


def test_a_batch_reward_that_ignores_the_deadline_is_cut_and_scores_zero():
    judge = SleepyJudge(delay=30.0)  # takes no deadline= keyword
    spec = HybridSpec([RewardTerm("accuracy", 1.0), RewardTerm("perception", 1.0)])
    with RewardRunner(build_hybrid(spec, perception=judge), workers=0, batch_budget=1.0) as r:
        t = time.monotonic()
        out = r.score(["\\boxed{4}", "\\boxed{5}"], [{"id": "p", "answer": "4"}] * 2)
        assert time.monotonic() - t < 1.0 + DEADLINE_SLACK_S  # the judge would take 30 s
    assert out.components["perception"] == [0.0, 0.0] and out.metrics["perception/over_budget"] == 2
    assert out.total == pytest.approx([1.0, 0.0])
