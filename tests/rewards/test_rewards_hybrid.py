import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.rewards.hybrid import Gate, HybridSpec, RewardTerm, build_hybrid, get_preset


class ConstJudge:
    """A BatchReward returning fixed values (None = judge skipped)."""

    name = "perception"

    def __init__(self, values):
        self.values = values

    async def ascore(self, completions, rows):
        return list(self.values)

    def metrics(self):
        return {}


def test_perception_r1_preset_is_exact():
    spec = get_preset("perception_r1")
    assert [(t.name, t.weight, t.reward_name, t.params, t.gate) for t in spec.terms] == [
        ("accuracy", 0.9, "accuracy", {}, None),
        ("format", 0.1, "format", {"pattern": "strict_newlines"}, None),
        ("perception", 0.7, "perception", {}, None),
        ("repetition", 1.0, "repetition", {}, None),
    ]
    h = build_hybrid(spec, perception=ConstJudge([0.5]))
    comps = {"accuracy": [1.0], "format": [1.0], "perception": [0.5], "repetition": [-0.2]}
    assert h.combine(comps) == pytest.approx([0.9 + 0.1 + 0.35 - 0.2])


def test_perception_needed_and_no_judge_preset():
    with pytest.raises(PerceptrlError, match="no judge"):
        build_hybrid("perception_r1")
    h = build_hybrid("perception_r1_no_judge")
    assert h.names == ["accuracy", "format", "repetition"]
    assert get_preset("perception_r1", without=("perception",)).terms == h.spec.terms


def test_none_renormalises_positive_terms_not_penalties():
    h = build_hybrid("perception_r1", perception=ConstJudge([None]))
    comps = {"accuracy": [1.0], "format": [0.0], "perception": [None], "repetition": [-0.5]}
    # present positive weights 0.9 + 0.1 of 1.7 -> scale 1.7; the penalty is not rescaled
    assert h.combine(comps) == pytest.approx([0.9 * 1.7 - 0.5])
    spec = get_preset("perception_r1")
    spec.none_policy = "zero"
    hz = build_hybrid(spec, perception=ConstJudge([None]))
    assert hz.combine(comps) == pytest.approx([0.9 - 0.5])
    all_none = {"accuracy": [None], "format": [None], "perception": [None], "repetition": [-0.5]}
    assert h.combine(all_none) == pytest.approx([-0.5])


def test_gates():
    spec = HybridSpec([RewardTerm("accuracy", 1.0), RewardTerm("format", 0.5, gate="accuracy")])
    h = build_hybrid(spec)
    comps = {"accuracy": [1.0, 0.0, None], "format": [1.0, 1.0, 1.0]}
    # third: accuracy not applicable -> its gate fails, format counts 0
    assert h.combine(comps) == pytest.approx([1.5, 0.0, 0.0])
    assert Gate.parse("accuracy>=0.5") == Gate("accuracy", 0.5)
    with pytest.raises(PerceptrlError, match="gated on"):
        build_hybrid(HybridSpec([RewardTerm("format", 1.0, gate="accuracy")]))
    with pytest.raises(PerceptrlError, match="bad gate"):
        Gate.parse("accuracy > 1")


def test_from_config_and_validation():
    spec = HybridSpec.from_config({"terms": [{"name": "acc", "reward": "accuracy", "weight": 2},
                                             {"name": "fmt", "reward": "format", "params": {"pattern": "think_answer"}}],
                                   "none_policy": "zero"})
    h = build_hybrid(spec)
    assert h.names == ["acc", "fmt"] and spec.none_policy == "zero"
    assert h.terms[1].info.fn("<think>a</think><answer>1</answer>", {}) == 1.0
    assert HybridSpec.from_config({"preset": "perception_r1", "without": ["perception"]}).terms[-1].name == "repetition"
    for bad in ({"terms": [{"weight": 1}]}, {"oops": 1}, 3, {"preset": "nope"}):
        with pytest.raises(PerceptrlError):
            build_hybrid(HybridSpec.from_config(bad))
    with pytest.raises(PerceptrlError, match="duplicate"):
        build_hybrid(HybridSpec([RewardTerm("accuracy"), RewardTerm("accuracy")]))
    with pytest.raises(PerceptrlError, match="weight"):
        build_hybrid(HybridSpec([RewardTerm("accuracy", float("nan"))]))


def test_fill_failed_neutral_is_the_pessimistic_group_mean():
    from perceptrl.rewards.hybrid import fill_failed

    values = [1.0, 0.5, 0.9, 0.9, 1.0, None, 0.3]
    failed = [False, False, True, True, True, False, False]
    groups = ["a", "a", "a", "a", "b", "c", "c"]
    out = fill_failed(values, failed, groups, "neutral")
    # a: (1 + 0.5 + 0 + 0) / 4; b: every sample failed -> 0; c: nothing failed, None (n/a) kept
    assert out == pytest.approx([1.0, 0.5, 0.375, 0.375, 0.0, None, 0.3])
    group_a = out[:4]
    assert out[2] <= sum(group_a) / 4 and out[2] < 1.0  # no advantage from failing, below perfect
    assert fill_failed(values, failed, groups, "zero") == [1.0, 0.5, 0.0, 0.0, 0.0, None, 0.3]
    # not-applicable members do not count in the mean
    assert fill_failed([None, 1.0, 0.0], [False, False, True], ["g"] * 3) == [None, 1.0, 0.5]
    with pytest.raises(PerceptrlError):
        fill_failed([0.0], [True], ["g"], "skip")


def test_a_filled_failure_is_never_renormalised():
    # regression: a failed judgement was None and the hybrid paid (0.9 + 0.1) * 1.7 = perfect perception
    from perceptrl.rewards.hybrid import fill_failed

    h = build_hybrid("perception_r1", perception=ConstJudge([None]))
    perfect = h.combine({"accuracy": [1.0], "format": [1.0], "perception": [1.0], "repetition": [0.0]})[0]
    filled = fill_failed([1.0, 1.0, None], [False, False, True], ["g"] * 3)
    totals = h.combine({"accuracy": [1.0] * 3, "format": [1.0] * 3, "perception": filled, "repetition": [0.0] * 3})
    assert totals[2] < perfect and totals[2] == pytest.approx(0.9 + 0.1 + 0.7 * 2 / 3)
