"""HeavyScorer's planning (dedupe, chunks per prompt, remembered timeouts) and TimedOutKeys."""

from perceptrl.rewards.heavy import CHUNK, HeavyScorer, TimedOutKeys, as_score


def test_timed_out_keys_drop_the_least_recently_seen():
    keys = TimedOutKeys(2)
    keys.add("a")
    keys.add("b")
    keys.add("a")  # seen again: now the most recent
    keys.add("c")
    assert "a" in keys and "c" in keys and "b" not in keys


def test_plan_scores_each_key_once_in_chunks_of_one_prompt():
    scorer = HeavyScorer([], workers=0, item_timeout=1.0, batch_budget=5.0)
    rows = [{"id": "p"}] * 40 + [{"id": "q"}] * 3
    keys = [i % 20 for i in range(40)] + [None, "x", "x"]
    scorer.timed_out.add(("t", 5))
    uniq, index, chunks, cached = scorer._plan("t", keys, rows)
    assert uniq == list(range(20)) + ["x"] and index["x"] == 20
    assert cached == 1 and 5 not in [uniq[i] for c in chunks for i in c]  # remembered: not sent again
    assert all(len(c) <= CHUNK for c in chunks) and [20] in chunks  # prompt q's key in its own chunk


def test_in_process_scoring_counts_every_outcome():
    class Info:
        key = staticmethod(lambda c, r: c or None)
        score_key = staticmethod(lambda k, secs: 1 / int(k))  # "0" raises ZeroDivisionError
        timeout_score = 0.0

    class Term:
        name, info = "t", Info()

    scorer = HeavyScorer([Term()], workers=0, item_timeout=1.0, batch_budget=5.0)
    scorer.timed_out.add(("t", "5"))
    metrics = {}
    out = scorer.score(["1", "2", "0", "", "2", "5"], [{"id": i} for i in range(6)], float("inf"), metrics)
    assert out["t"] == [1.0, 0.5, 0.0, None, 0.5, 0.0]
    assert metrics["t/errors"] == 1 and metrics["t/unique_keys"] == 4 and metrics["t/cached_timeouts"] == 1
    assert metrics["t/timeouts"] == 1  # the remembered key stays a timeout
    assert as_score(None, "t") is None
