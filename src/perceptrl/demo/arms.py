"""The GRPO arms of the demo and of ``perceptrl experiment``, run through :func:`perceptrl.train.train`.

An arm is a reward (with or without Perception-R1's perception term) and a policy-optimisation
method (docs/methods.md §3); :data:`ARMS` names every arm the experiment knows:

* ``grpo``: Perception-R1's reward without the perception term (0.9·accuracy + 0.1·format + repetition);
* ``perception_r1``: the same plus the perception reward, judged by the rules judge;
* ``papo``, ``vppo``, ``noisy_rollout``: the ``grpo`` reward, trained with that method;
* ``perception_r1+papo``: the perception reward, trained with PAPO;
* ``perception_gate``: the perception reward also *gates* the accuracy reward (accuracy pays only
  when every annotated fact is stated right), after PEARL's "fidelity gate" (arXiv 2511.18437). PEARL
  checks perception with auxiliary rollouts on a checklist of sub-questions; here the check is the
  rules judge on the response itself, and the threshold (all facts) is ours;
* ``vogue``, ``grpo_care``: the ``grpo`` reward, trained with VOGUE (arXiv 2510.01444) or with
  GRPO-CARE's consistency bonus (arXiv 2506.16141; the demo's strict format has the ``<answer>``
  block the bonus reads). Their settings are docs/methods.md's defaults;
* ``vision_sr1``: the ``grpo`` reward plus Vision-SR1's annotation-free perception reward
  (arXiv 2508.19652) with ``cfg.perception_weight``, its rules solver recomputing the answer from the
  readings the response states. The demo's chains state their readings in the ``<think>`` block, so
  that block is the "description" here (ours: the paper's policy writes a separate
  ``<description>`` block, which the demo's warm start was never taught); sentences that state the
  answer are stripped from it first, so the reward pays for readings, not for the answer.

All arms of a seed start from the same warm-started weights, see the same problems in the same
order with the same seed and step count; only the arm's reward and method differ. A
:class:`~perceptrl.demo.periodic_eval.PeriodicEval` callback scores the policy on the held-out problems every ``eval_every``
steps, so every metric can be plotted per step.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perceptrl.data.schema import Example
from perceptrl.demo.config import DemoConfig
from perceptrl.errors import PerceptrlError

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class Arm:
    """One arm: its label in reports, whether its reward has the perception term, its method, and
    the gate on its accuracy term (``None``: ungated; see :class:`perceptrl.rewards.hybrid.Gate`), and
    which registered reward is its perception term, with that reward's parameters; ``reward_model``:
    whether its accuracy reward is shaped by the seed's outcome RM."""

    label: str
    perception: bool
    method: str
    accuracy_gate: str | None = None
    perception_term: str = "perception"
    perception_params: tuple[tuple[str, Any], ...] = ()
    reward_model: bool = False


ARMS: dict[str, Arm] = {
    "grpo": Arm("GRPO: accuracy + format", False, "grpo"),
    "perception_r1": Arm("Perception-R1: + perception reward", True, "grpo"),
    "papo": Arm("PAPO: GRPO reward, implicit perception loss", False, "papo"),
    "vppo": Arm("VPPO: GRPO reward, visually dependent tokens", False, "vppo"),
    "noisy_rollout": Arm("NoisyRollout: GRPO reward, half the rollouts on noised images", False, "noisy_rollout"),
    "perception_r1+papo": Arm("Perception-R1 + PAPO", True, "papo"),
    "perception_gate": Arm("perception-gated accuracy (PEARL-style gate)", True, "grpo", "perception>=1.0"),
    "vogue": Arm("VOGUE: GRPO reward, visual-uncertainty bonus on the noisy branch", False, "vogue"),
    "grpo_care": Arm("GRPO-CARE: GRPO reward + EMA-reference consistency bonus", False, "grpo_care"),
    "vision_sr1": Arm("Vision-SR1: + annotation-free perception reward (rules solver)", True, "grpo",
                      perception_term="vision_sr1", perception_params=(("backend", "rules"), ("tag", "think"))),
    "reward_model": Arm("HERO: accuracy shaped by an outcome reward model (stratified)", False, "grpo",
                        reward_model=True),
}


def get_arm(name: str) -> Arm:
    """The arm called ``name``; an unknown name is an error that lists the known ones."""
    try:
        return ARMS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, ARMS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PerceptrlError(f"unknown arm {name!r}{hint}", where="arms",
                             fix=f"choose from {', '.join(ARMS)}") from None

_RECIPE = Path(__file__).resolve().parents[3] / "configs" / "demo_cpu.yaml"


def reward_terms(cfg: DemoConfig, arm: str, rm_model: str | None = None) -> list[dict[str, Any]]:
    """Perception-R1's terms (docs/methods.md §1); arms with perception add their perception term with
    ``cfg.perception_weight``; the ``reward_model`` arm moves the accuracy weight onto the RM term
    stratified on accuracy (``rm_model``: the RM's directory)."""
    spec = get_arm(arm)
    accuracy: dict[str, Any] = {"name": "accuracy", "weight": 0.0 if spec.reward_model else 0.9}
    if spec.accuracy_gate:
        accuracy["gate"] = spec.accuracy_gate
    terms: list[dict[str, Any]] = [
        accuracy,
        {"name": "format", "weight": 0.1, "params": {"pattern": "strict_newlines"}},
        {"name": "repetition", "weight": 1.0},
    ]
    if spec.perception:
        term: dict[str, Any] = {"name": spec.perception_term, "weight": cfg.perception_weight}
        if spec.perception_params:
            term["params"] = dict(spec.perception_params)
        terms.append(term)
    if spec.reward_model:
        terms.append({"name": "reward_model", "weight": 0.9,
                      "params": {"model": rm_model, "stratify": "accuracy", "batch_size": 64}})
    return terms


def train_overrides(cfg: DemoConfig, arm: str, seed: int, output_dir: str | os.PathLike,
                    rm_model: str | None = None) -> list[str]:
    """``key=value`` overrides of ``configs/demo_cpu.yaml`` for one arm (everything the demo relies on)."""
    values: dict[str, Any] = {
        "model.dtype": "float32",
        "model.freeze_vision_tower": cfg.freeze_vision,
        "data.template": cfg.template,
        "data.validate": True,
        "rewards.preset": None,
        "rewards.terms": reward_terms(cfg, arm, rm_model),
        "rewards.workers": 0,  # math-verify in process: the demo already runs one process per core
        "judge.backend": "rules",
        "judge.cache_path": None,
        "method.name": get_arm(arm).method,
        "trl.output_dir": str(output_dir),
        "trl.seed": seed,
        "trl.max_steps": cfg.grpo_steps,
        "trl.per_device_train_batch_size": cfg.prompts_per_step * cfg.num_generations,
        "trl.num_generations": cfg.num_generations,
        "trl.max_completion_length": cfg.max_completion_length,
        "trl.temperature": cfg.temperature,
        "trl.learning_rate": cfg.grpo_learning_rate,
        "trl.lr_scheduler_type": "constant",
        "trl.beta": cfg.kl_beta,
        "trl.use_cpu": True,
        "trl.bf16": False,
        "trl.logging_steps": 1,
        "trl.save_strategy": "no",
        "trl.report_to": "none",
        "trl.disable_tqdm": True,
    }
    return [f"{k}={json.dumps(v)}" for k, v in values.items()]


def run_arm(model: Any, processor: Any, train_examples: Sequence[Example], eval_examples: Sequence[Example],
            cfg: DemoConfig, *, arm: str, seed: int, output_dir: str | os.PathLike,
            progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """GRPO for one arm; returns its log history and held-out evaluations (step > 0)."""
    from perceptrl.demo.periodic_eval import PeriodicEval
    from perceptrl.train import load_train_config, train

    recipe = _RECIPE if _RECIPE.is_file() else None
    rm_model, rm_record = None, None
    if get_arm(arm).reward_model:
        from perceptrl.demo.outcome_rm import train_outcome_rm

        rm_dir = Path(output_dir).parent / "reward_model"
        rm_record = train_outcome_rm(model, processor, train_examples, rm_dir, template=cfg.template,
                                     temperature=cfg.temperature, max_new_tokens=cfg.max_completion_length, seed=seed)
        rm_model = str(rm_dir)
    tcfg = load_train_config(recipe, overrides=train_overrides(cfg, arm, seed, output_dir, rm_model))
    evaluator = PeriodicEval(eval_examples, processor, cfg, progress=progress)
    result = train(tcfg, train_examples=list(train_examples), model=model, processor=processor,
                   callbacks=[evaluator])
    out = {"arm": arm, "seed": seed, "log_history": result.log_history,
           "evals": [r.as_dict() for r in evaluator.results], "summary": result.summary}
    if rm_record is not None:
        out["reward_model"] = rm_record
    return out
