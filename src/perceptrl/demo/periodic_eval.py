"""Held-out evaluation inside a GRPO arm, as a ``transformers`` callback.

Its own module so that the arm table (:mod:`perceptrl.demo.arms`), which settings checks and
``--help`` read, does not import transformers (about 10 s of CPU on a 2-core machine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from transformers import TrainerCallback

from perceptrl.data.schema import Example
from perceptrl.demo.config import DemoConfig
from perceptrl.demo.evaluate import EvalResult, evaluate


class PeriodicEval(TrainerCallback):
    """Held-out evaluation every ``every`` optimizer steps and after the last one."""

    def __init__(self, examples: Sequence[Example], processor: Any, cfg: DemoConfig,
                 progress: Callable[[int], None] | None = None):
        self.examples, self.processor, self.cfg = list(examples), processor, cfg
        self.progress = progress
        self.results: list[EvalResult] = []

    def _eval(self, model: Any, step: int) -> None:
        if self.results and self.results[-1].step == step:
            return
        self.results.append(evaluate(model, self.processor, self.examples, step=step,
                                     max_new_tokens=self.cfg.max_completion_length, template=self.cfg.template))

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.progress is not None:
            self.progress(1)
        if state.global_step % self.cfg.eval_every == 0 or state.global_step >= state.max_steps:
            self._eval(model, state.global_step)
