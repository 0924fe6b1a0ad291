"""Invalid VOGUE / GRPO-CARE settings fail at config load, naming the option and the paper's value."""

from pathlib import Path

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.train import load_train_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("override, match", [
    ("method.vogue_alpha=-0.1", "vogue_alpha"),
    ("method.vogue_entropy_coef=-1", "vogue_entropy_coef"),
    ("method.care_ema_decay=1.5", "0.995"),
    ("method.care_ema_every=0", "care_ema_every"),
    ("method.care_margin=-0.01", "0.01"),
    ("method.care_confidence_upper=0", "0.95"),
])
def test_bad_values_are_refused(override, match):
    with pytest.raises(PerceptrlError, match=match):
        load_train_config(None, [override])


def test_grpo_care_refuses_a_reference_kl_and_accepts_its_recipe():
    with pytest.raises(PerceptrlError, match="trl.beta"):
        load_train_config(None, ["method.name=grpo_care", "trl.beta=0.04"])
    cfg = load_train_config(CONFIGS / "grpo_care.yaml")
    assert cfg.method.parts == {"grpo_care"} and cfg.method.care_ema_decay == 0.995
    assert load_train_config(None, ["method.name=vogue+grpo_care", "method.care_confidence_upper=null"]).method.parts \
        == {"vogue", "grpo_care"}
