"""Config: YAML recipes load, overrides apply, unknown keys name the key and the valid ones."""

from pathlib import Path

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.train.config import load_train_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["perception_r1", "papo", "vppo", "noisy_rollout", "demo_cpu"])
def test_every_recipe_loads(name):
    cfg = load_train_config(CONFIGS / f"{name}.yaml")
    assert cfg.trl["output_dir"]
    assert cfg.method.parts <= {"grpo", "papo", "vppo", "noisy_rollout"}


def test_perception_r1_recipe_is_the_reference():
    cfg = load_train_config(CONFIGS / "perception_r1.yaml")
    t = cfg.trl
    assert (t["num_generations"], t["beta"], t["epsilon"], t["epsilon_high"]) == (8, 0.0, 0.2, 0.3)
    assert (t["learning_rate"], t["weight_decay"], t["warmup_steps"]) == (1e-6, 0.001, 0.05)
    assert t["max_completion_length"] == 4096 and cfg.data.max_prompt_length == 4096
    assert (cfg.data.min_pixels, cfg.data.max_pixels) == (3136, 1806336)
    assert t["per_device_train_batch_size"] * 8 * t["gradient_accumulation_steps"] == 1024
    assert cfg.rewards.preset == "perception_r1" and cfg.data.template == "perception_r1"


def test_overrides_are_parsed_as_yaml():
    cfg = load_train_config(CONFIGS / "demo_cpu.yaml",
                            ["trl.max_steps=4", "method.name=papo+noisy_rollout", "trl.learning_rate=1e-3",
                             "trl.save_strategy=no", "method.mask_prob=0.3", "rewards.exclude=[perception]"])
    assert cfg.trl["max_steps"] == 4 and cfg.trl["learning_rate"] == 1e-3
    assert cfg.trl["save_strategy"] == "no"  # YAML 1.2 booleans: "no" stays a string
    assert cfg.method.parts == {"papo", "noisy_rollout"} and cfg.method.effective_mask_prob() == 0.3
    assert cfg.rewards.exclude == ["perception"]


def test_mask_prob_defaults_to_each_papers_value():
    assert load_train_config(None, ["method.name=papo"]).method.effective_mask_prob() == 0.6
    assert load_train_config(None, ["method.name=vppo"]).method.effective_mask_prob() == 0.5


@pytest.mark.parametrize("override, key", [
    ("method.gama=0.1", "method.gama"),
    ("trl.max_step=3", "trl.max_step"),
    ("modle.dtype=float32", "modle"),
    ("judge.bakend=rules", "judge.bakend"),
])
def test_unknown_keys_name_the_key_and_the_valid_ones(override, key):
    with pytest.raises(PerceptrlError) as e:
        load_train_config(None, [override])
    assert key in e.value.what and "use one of" in (e.value.fix or "")


def test_bad_values_are_explained():
    with pytest.raises(PerceptrlError, match="unknown method"):
        load_train_config(None, ["method.name=ppo"])
    with pytest.raises(PerceptrlError, match="probability"):
        load_train_config(None, ["method.mask_prob=1.5"])
    with pytest.raises(PerceptrlError, match="not of the form"):
        load_train_config(None, ["trl.max_steps"])
    with pytest.raises(PerceptrlError, match="not found"):
        load_train_config("/nonexistent.yaml")


def test_unknown_key_in_file_names_the_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("method:\n  name: papo\n  papo_gama: 0.1\n")
    with pytest.raises(PerceptrlError) as e:
        load_train_config(p)
    assert str(p) in e.value.where and "papo_gamma" in e.value.what  # "did you mean"
