"""PeriodicEval: held-out evaluation every ``eval_every`` steps and after the last, once per step; the
arm table imports without transformers (settings checks and ``--help`` stay fast)."""

import subprocess
import sys

from transformers import TrainerControl, TrainerState, TrainingArguments

from perceptrl.demo.config import DemoConfig
from perceptrl.demo.periodic_eval import PeriodicEval
from perceptrl.models import load_vlm
from perceptrl.synth import generate


def test_evaluates_every_k_steps_and_after_the_last_once(tiny_qwen25vl_dir, tmp_path):
    model, processor = load_vlm(tiny_qwen25vl_dir, dtype="float32")
    model.train()  # as inside a Trainer
    ticks = []
    cb = PeriodicEval(generate(2, seed=1, kinds=("chart",)), processor,
                      DemoConfig(eval_every=2, max_completion_length=4), progress=ticks.append)
    state, args, control = TrainerState(), TrainingArguments(str(tmp_path), use_cpu=True), TrainerControl()
    state.max_steps = 5
    for step in (1, 2, 3, 4, 5, 5):  # a repeated last step (an end-of-training hook) is not scored twice
        state.global_step = step
        cb.on_step_end(args, state, control, model=model)
    assert [r.step for r in cb.results] == [2, 4, 5]
    assert ticks == [1] * 6
    assert all(len(r.correct) == 2 and len(r.ids) == 2 for r in cb.results)
    assert model.training  # evaluation leaves the model in its training mode


def test_the_arm_table_imports_without_transformers():
    code = ("import sys; import perceptrl.demo.arms, perceptrl.demo.config; "
            "print('transformers' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"], out
