import importlib.util

import pytest

from perceptrl.rewards import verl_adapter

GOOD = "<think>\nx\n</think>\n<answer>\n\\boxed{\\frac{1}{2}}\n</answer>"


def test_loadable_from_its_file_like_verl_and_easyr1_do():
    spec = importlib.util.spec_from_file_location("custom_module", verl_adapter.__file__)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.compute_score("geo3k", GOOD, "0.5")
    assert out == {"score": pytest.approx(1.0), "accuracy": 1.0, "format": 1.0, "repetition": 0.0}


def test_verl_batched_and_easyr1_batch():
    out = verl_adapter.compute_score_batched(["a", "a"], [GOOD, "no"], ["0.5", "0.5"],
                                             [{"choices": None}, None])
    assert [o["score"] for o in out] == pytest.approx([1.0, 0.0])
    res = verl_adapter.easyr1_compute_score([{"response": GOOD, "ground_truth": "0.5", "response_length": 9},
                                             {"response": "", "ground_truth": "0.5"}])
    assert res[0]["overall"] == pytest.approx(1.0) and res[1]["overall"] == 0.0
    assert set(res[0]) == {"overall", "accuracy", "format", "repetition"}
    with pytest.raises(ValueError):
        verl_adapter.easyr1_compute_score({"response": GOOD})
    out = verl_adapter.compute_score("x", GOOD, "0.5", preset="easyr1_math")
    assert out["score"] == pytest.approx(1.0)
