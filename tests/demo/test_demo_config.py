"""DemoConfig: presets and the checks that reject bad settings before any work."""

import pytest

from perceptrl.demo.config import DemoConfig
from perceptrl.errors import PerceptrlError


def test_quick_preset_is_smaller_than_full():
    full, quick = DemoConfig(), DemoConfig.quick()
    assert quick.seeds == 1 and full.seeds >= 3
    assert quick.grpo_steps < full.grpo_steps and quick.sft_steps < full.sft_steps
    full.check()
    quick.check()


@pytest.mark.parametrize("field,value,needle", [
    ("seeds", 0, "seeds=0"),
    ("grpo_steps", -1, "grpo_steps=-1"),
    ("num_generations", 1, "num_generations=1"),
    ("grpo_learning_rate", 0.0, "grpo_learning_rate=0.0"),
    ("perception_weight", -0.5, "perception_weight=-0.5"),
    ("kinds", ("count", "pie"), "pie"),
    ("difficulty", 7, "difficulty=7"),
])
def test_bad_settings_raise_one_clear_error(field, value, needle):
    with pytest.raises(PerceptrlError) as e:
        DemoConfig(**{field: value}).check()
    assert needle in str(e.value.render())
    assert "fix" in e.value.render()
