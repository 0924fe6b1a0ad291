"""DemoConfig: presets and the checks that reject bad settings before any work."""

import pytest

from perceptrl.demo.config import DemoConfig
from perceptrl.errors import PerceptrlError


def test_quick_preset_is_smaller_than_full():
    full, quick = DemoConfig.preset("demo"), DemoConfig.quick()
    assert quick.seeds == 1 and full.seeds >= 2
    assert quick.grpo_steps < full.grpo_steps and quick.sft_steps < full.sft_steps
    full.check()
    quick.check()


@pytest.mark.parametrize("field,value,needle", [
    ("seeds", 0, "seeds=0"),
    ("grpo_steps", -1, "grpo_steps=-1"),
    ("num_generations", 1, "num_generations=1"),
    ("grpo_learning_rate", 0.0, "grpo_learning_rate=0.0"),
    ("perception_weight", -0.5, "perception_weight=-0.5"),
    ("kl_beta", -0.1, "kl_beta=-0.1"),
    ("kinds", ("count", "pie"), "pie"),
    ("difficulty", 7, "difficulty=7"),
    ("choice_share", 1.5, "choice_share=1.5"),
    ("shortcut", 0.9, "shortcut=0.9 > choice_share"),
    ("arms", ("grpo", "ppo"), "ppo"),
    ("teacher_colors", ("red", "teal"), "teacher_colors ['red', 'teal']"),
    ("teacher_colors", (), "teacher_colors []"),
])
def test_bad_settings_raise_one_clear_error(field, value, needle):
    with pytest.raises(PerceptrlError) as e:
        DemoConfig(**{field: value}).check()
    assert needle in str(e.value.render())
    assert "fix" in e.value.render()


def test_experiment_preset_runs_every_arm_with_the_powered_size():
    from perceptrl.demo.arms import ARMS
    from perceptrl.demo.power import minimum_detectable_effect

    exp = DemoConfig.preset("experiment")
    exp.check()
    assert exp.arms == tuple(ARMS) and exp.arms[0] == "grpo" and exp.seeds >= 5
    # the held-out size the power calculation asks for: 5 points detectable at psi = 0.3 (docs/demo.md)
    assert minimum_detectable_effect(exp.seeds * exp.n_eval, 0.3) <= 0.05
    demo = DemoConfig.preset("demo")
    assert demo.arms == ("grpo", "perception_r1")
    # both presets run the fifth experiment's world; the demo has fewer seeds, arms and steps
    from perceptrl.demo.config import WORLD

    for key, value in WORLD.items():
        assert getattr(exp, key) == value, key
        if key not in ("sft_steps", "grpo_steps"):  # the demo trains less, to fit in 10 min
            assert getattr(demo, key) == value, key
    assert DemoConfig().teacher_bias == 0 and DemoConfig().choice_share == 0.5  # the field defaults: the plain world
    quick = DemoConfig.preset("experiment", quick=True, seeds=2)
    assert quick.arms == exp.arms and quick.seeds == 2 and quick.grpo_steps < exp.grpo_steps
    with pytest.raises(PerceptrlError, match="unknown preset"):
        DemoConfig.preset("nope")


def test_kl_with_grpo_care_is_refused_before_any_work():
    with pytest.raises(PerceptrlError, match="grpo_care"):
        DemoConfig(kl_beta=0.04, arms=("grpo", "grpo_care"))
    DemoConfig(kl_beta=0.04, arms=("grpo", "perception_r1"))
