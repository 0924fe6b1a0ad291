"""Arms differ only in the perception term and the method; their overrides are a valid training config."""

import pytest

from perceptrl.demo.arms import ARMS, get_arm, reward_terms, train_overrides
from perceptrl.demo.config import DemoConfig
from perceptrl.errors import PerceptrlError
from perceptrl.train import load_train_config
from perceptrl.train.config import METHODS


def test_arms_differ_only_by_the_perception_term():
    cfg = DemoConfig(perception_weight=0.5)
    a, b = reward_terms(cfg, "grpo"), reward_terms(cfg, "perception_r1")
    assert [t["name"] for t in a] == ["accuracy", "format", "repetition"]
    assert b[:3] == a and b[3] == {"name": "perception", "weight": 0.5}
    assert reward_terms(cfg, "papo") == a and reward_terms(cfg, "perception_r1+papo") == b
    gated = reward_terms(cfg, "perception_gate")
    assert gated[0] == {"name": "accuracy", "weight": 0.9, "gate": "perception>=1.0"} and gated[1:] == b[1:]


@pytest.mark.parametrize("arm", list(ARMS))
def test_every_arm_is_a_valid_training_config(tmp_path, arm):
    tcfg = load_train_config(None, overrides=train_overrides(DemoConfig(), arm, 0, tmp_path / "arm"))
    assert tcfg.method.name == ARMS[arm].method
    assert set(tcfg.method.name.split("+")) <= set(METHODS)
    assert (ARMS[arm].perception_term in [t["name"] for t in tcfg.rewards.terms]) == ARMS[arm].perception


def test_unknown_arm_suggests_the_close_one():
    with pytest.raises(PerceptrlError, match="did you mean 'papo'"):
        get_arm("pappo")
    with pytest.raises(PerceptrlError, match="arms"):
        DemoConfig(arms=("grpo", "nope")).check()
    with pytest.raises(PerceptrlError, match="distinct"):
        DemoConfig(arms=("grpo", "grpo")).check()


def test_overrides_load_as_a_train_config(tmp_path):
    cfg = DemoConfig(grpo_steps=7, prompts_per_step=3, num_generations=4)
    tcfg = load_train_config(None, overrides=train_overrides(cfg, "perception_r1", 2, tmp_path / "arm"))
    assert tcfg.trl["max_steps"] == 7 and tcfg.trl["seed"] == 2
    assert tcfg.trl["per_device_train_batch_size"] == 12 and tcfg.trl["num_generations"] == 4
    assert tcfg.judge.backend == "rules"
    assert [t["name"] for t in tcfg.rewards.terms][-1] == "perception"


def test_kl_beta_and_freeze_vision_reach_the_train_config_and_the_report(tmp_path):
    from perceptrl.demo.settings_text import settings_lines

    default = load_train_config(None, overrides=train_overrides(DemoConfig(), "grpo", 0, tmp_path / "a"))
    kl = load_train_config(None, overrides=train_overrides(DemoConfig(kl_beta=0.04), "grpo", 0, tmp_path / "b"))
    assert default.trl["beta"] == 0.0 and kl.trl["beta"] == 0.04
    assert any("no KL (Perception-R1)" in line for line in settings_lines(DemoConfig()))
    assert any("KL β 0.04 to the warm start" in line for line in settings_lines(DemoConfig(kl_beta=0.04)))
    frozen = load_train_config(None, overrides=train_overrides(DemoConfig(freeze_vision=True), "grpo", 0, tmp_path / "c"))
    assert frozen.model.freeze_vision_tower and not default.model.freeze_vision_tower
    assert any("vision encoder frozen" in line for line in settings_lines(DemoConfig(freeze_vision=True)))


@pytest.mark.parametrize("arm", ["vogue", "grpo_care"])
def test_new_method_arms_build_with_the_grpo_reward(tmp_path, arm):
    cfg = DemoConfig()
    assert reward_terms(cfg, arm) == reward_terms(cfg, "grpo")
    tcfg = load_train_config(None, overrides=train_overrides(cfg, arm, 0, tmp_path / arm))
    assert tcfg.method.parts == {arm} and tcfg.trl["beta"] == 0.0
    DemoConfig(arms=("grpo", arm)).check()  # raises PerceptrlError for an unknown arm


def test_vision_sr1_arm_pays_for_stated_readings_not_for_the_answer(tmp_path):
    """The arm's term is Vision-SR1's rules reward on the <think> block: right readings pay, a wrong
    reading does not, and a chain that only states the answer gets nothing."""
    from perceptrl.rewards.registry import get_reward
    from perceptrl.synth import generate

    cfg = DemoConfig(perception_weight=0.7)
    term = reward_terms(cfg, "vision_sr1")[-1]
    assert term == {"name": "vision_sr1", "weight": 0.7, "params": {"backend": "rules", "tag": "think"}}
    tcfg = load_train_config(None, overrides=train_overrides(cfg, "vision_sr1", 0, tmp_path / "arm"))
    assert tcfg.rewards.terms[-1]["name"] == "vision_sr1" and tcfg.method.name == "grpo"
    reward = get_reward(term["name"], **term["params"]).fn
    row = generate(1, seed=0, kinds=("chart",))[0].to_row()
    cot = row["metadata"]["cot"]
    a, b = (line.split(" = ")[1] for line in cot.splitlines()[1:3])
    misread = cot.replace(f"bar A = {a}", f"bar A = {int(a) + 1}", 1)
    answer_only = "<think>\nthe answer is " + row["answer"] + "\n</think>\n<answer>\n\\boxed{" + row["answer"] + "}\n</answer>"
    assert reward([cot, misread, answer_only], [row] * 3) == [1.0, 0.0, 0.0]
