"""The two arms differ only in the perception term; their overrides are a valid training config."""

from perceptrl.demo.arms import reward_terms, train_overrides
from perceptrl.demo.config import DemoConfig
from perceptrl.train import load_train_config


def test_arms_differ_only_by_the_perception_term():
    cfg = DemoConfig(perception_weight=0.5)
    a, b = reward_terms(cfg, "A"), reward_terms(cfg, "B")
    assert [t["name"] for t in a] == ["accuracy", "format", "repetition"]
    assert b[:3] == a and b[3] == {"name": "perception", "weight": 0.5}


def test_overrides_load_as_a_train_config(tmp_path):
    cfg = DemoConfig(grpo_steps=7, prompts_per_step=3, num_generations=4)
    tcfg = load_train_config(None, overrides=train_overrides(cfg, "B", 2, tmp_path / "arm"))
    assert tcfg.trl["max_steps"] == 7 and tcfg.trl["seed"] == 2
    assert tcfg.trl["per_device_train_batch_size"] == 12 and tcfg.trl["num_generations"] == 4
    assert tcfg.judge["backend"] == "rules"
    assert [t["name"] for t in tcfg.rewards.terms][-1] == "perception"
