"""Typed recipe sections: judge is a JudgeConfig, trl keys and simple types follow GRPOConfig, values
are converted and checked by OmegaConf, and every error names the key."""

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.judge.config import JudgeConfig
from perceptrl.train.config import config_from_dict, load_train_config


def test_judge_section_is_a_judge_config():
    cfg = load_train_config(None, ["judge.max_concurrency=4", "judge.cache_path=null"])
    assert isinstance(cfg.judge, JudgeConfig) and cfg.judge.max_concurrency == 4 and cfg.judge.cache_path is None
    assert cfg.explicit == {"judge.max_concurrency", "judge.cache_path"}


def test_judge_checks_run_at_load_and_name_the_file(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("judge:\n  backend: openai\n")
    with pytest.raises(PerceptrlError) as e:
        load_train_config(p)
    assert str(p) in e.value.where and "base_url" in e.value.what


@pytest.mark.parametrize("override, key", [("model.lora_r=many", "model.lora_r"),
                                           ("trl.max_steps=many", "trl.max_steps"),
                                           ("trl.bf16=3", "trl.bf16"),
                                           ("rewards.exclude=perception", "rewards.exclude")])
def test_wrong_types_name_the_key(override, key):
    with pytest.raises(PerceptrlError) as e:
        load_train_config(None, [override])
    assert key in e.value.what


def test_strings_convert_to_the_declared_type():
    cfg = config_from_dict({"model": {"lora_r": "8"}, "method": {"papo_gamma": 1}, "trl": {"learning_rate": 1}})
    assert cfg.model.lora_r == 8 and cfg.method.papo_gamma == 1.0 and cfg.trl["learning_rate"] == 1


def test_section_checks_run_on_construction():
    with pytest.raises(PerceptrlError, match="lora_r"):
        config_from_dict({"model": {"lora_r": -1}})
    with pytest.raises(PerceptrlError, match="item_timeout"):
        load_train_config(None, ["rewards.item_timeout=0"])
