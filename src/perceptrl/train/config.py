"""Training configuration: perceptrl's sections (``model``, ``data``, ``rewards``, ``judge``,
``method``) plus ``trl`` (keyword arguments of TRL's ``GRPOConfig``).

One small dataclass per component, in the style of EasyR1. Every option is declared once, with
:func:`perceptrl.config.option`: its default and a help text naming the paper it comes from and
its trade-off (``perceptrl train --help`` and docs/training.md show them). Each dataclass checks
its own values in ``check()`` (run by ``__post_init__``). A YAML recipe holds the sections;
``section.key=value`` overrides (values parsed as YAML) are applied on top by OmegaConf
(:mod:`perceptrl.config.recipe`). Unknown sections or keys raise :class:`PerceptrlError` naming
the key and the valid ones, before any expensive work.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from perceptrl.config import option
from perceptrl.errors import PerceptrlError
from perceptrl.judge.config import JudgeConfig
from perceptrl.train.method_checks import check_new_methods

METHODS = ("grpo", "papo", "vppo", "noisy_rollout", "vogue", "grpo_care")


def _require(ok: bool, what: str, key: str, fix: str) -> None:
    if not ok:
        raise PerceptrlError(what, where=key, fix=fix)


@dataclass
class ModelConfig:
    """The policy to train."""

    name_or_path: str = option("", help="Hub id or local folder of the policy (Perception-R1 trains "
                               "Qwen/Qwen2.5-VL-7B-Instruct); tiny:qwen2_5_vl / tiny:qwen2_vl build a tiny "
                               "random-init model locally.")
    dtype: str = option("auto", help="Weight dtype: auto keeps the checkpoint's (bfloat16 on GPUs); float32 on CPU.")
    attn_implementation: str | None = option(None, help="Attention kernel passed to transformers (sdpa, "
                                             "flash_attention_2, ...); null: transformers' default, sdpa.")
    lora_r: int = option(0, help="LoRA rank (Hu et al. 2021); 0 trains all parameters, as Perception-R1 does: "
                         "LoRA saves memory at some quality cost.")
    lora_alpha: int = option(16, help="LoRA scaling alpha (the LoRA paper: alpha = 2r is a common choice).")
    lora_dropout: float = option(0.05, help="LoRA dropout.")
    lora_target_modules: Any = option("all-linear", help="Modules LoRA wraps: all-linear as in QLoRA (Dettmers "
                                      "et al. 2023; PEFT always leaves lm_head out); default or null = only "
                                      "the language model's attention and MLP projections (vision tower frozen).")
    freeze_vision_tower: bool = option(False, help="Train the language model and the vision-to-language projector "
                                       "(the merger) only; the vision encoder's weights stay as loaded (EasyR1 "
                                       "worker.actor.model.freeze_vision_tower; Perception-R1 trains it). With LoRA the "
                                       "base weights are frozen anyway.")
    load_in_4bit: bool = option(False, help="QLoRA: load the base model in 4 bit NF4 with bitsandbytes (Dettmers "
                                "et al. 2023); needs a CUDA GPU, bitsandbytes and lora_r > 0.")

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        _require(self.lora_r >= 0, f"model.lora_r={self.lora_r} must be >= 0", "model.lora_r",
                 "use 0 (full fine-tuning) or a rank such as 64")
        _require(0.0 <= self.lora_dropout < 1.0, f"model.lora_dropout={self.lora_dropout} must be in [0, 1)",
                 "model.lora_dropout", "LoRA commonly uses 0.05")


@dataclass
class DataConfig:
    """Training data: any format :func:`perceptrl.data.io.read_examples` reads."""

    path: str | None = option(None, help="File, folder or Hugging Face id of the training set; synth:N = N "
                              "procedural problems (seed = trl.seed); null: examples must be passed to train().")
    format: str = option("auto", help="auto | perception_r1 | trl | jsonl | hf | geometry3k (see docs/data.md).")
    split: str | None = option(None, help="Split of a hub dataset (or of a Geometry3K folder: train); null: "
                               "the reader's default.")
    image_root: str | None = option(None, help="Folder relative image paths start from; null: the data file's "
                                    "folder, or a parent where the images are.")
    template: str = option("perception_r1", help="Prompt template: perception_r1 = the question + Perception-R1's "
                           "think/answer/boxed instruction.")
    min_pixels: int | None = option(None, help="Lower image pixel bound set on the processor (Perception-R1: "
                                    "3,136); null keeps the processor's own.")
    max_pixels: int | None = option(None, help="Upper image pixel bound set on the processor (Perception-R1: "
                                    "1,806,336); fewer pixels, fewer image tokens, less detail.")
    max_prompt_length: int | None = option(None, help="Longest prompt, text plus image tokens, checked by "
                                           "validation (Perception-R1: 4096); null: no limit.")
    validate: bool = option(True, help="Validate every row with the real processor before step 1 (the run stops "
                            "listing every bad row); off saves start-up time on a known-good set.")
    max_rows: int | None = option(None, help="Use only the first N rows; null: all.")
    mixture: list[dict[str, Any]] | None = option(None, help=(
        "Multi-domain data mixture (MoDoMoDo): a list of sources {path, weight, weight_end?, name?, format?, split?, "
        "image_root?, max_rows?} used instead of data.path. Each prompt's source is drawn by the weights (linear from "
        "weight to weight_end over training: a schedule); per-source accuracy, reward and length are logged under "
        "mixture/<name>/. Weights trade domains against each other: MoDoMoDo finds the best mixture beats uniform "
        "mixing. Recorded in the run folder (mixture.json); a resume with another mixture is refused."))

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        for name in ("min_pixels", "max_pixels", "max_prompt_length", "max_rows"):
            v = getattr(self, name)
            _require(v is None or v >= 1, f"data.{name}={v} must be >= 1 (or null)", f"data.{name}",
                     "use a positive number, or null for no bound")


@dataclass
class RewardsConfig:
    """Which rewards, with which weights, and how the runner executes them."""

    preset: str | None = option("perception_r1", help="Hybrid preset from perceptrl.rewards.hybrid: "
                                "perception_r1 (Perception-R1: 0.9 accuracy + 0.1 format + 0.7 perception + "
                                "repetition), perception_r1_no_judge, easyr1_math.")
    terms: list[dict[str, Any]] | None = option(None, help="Explicit terms replacing the preset: a list of "
                                                "{name, weight, gate, reward, params}; gate names a term that "
                                                "must pass (accuracy, or accuracy>=0.5).")
    exclude: list[str] = option(default_factory=list, help="Drop these terms from the preset, e.g. [perception] "
                                "for the accuracy+format baseline arm.")
    allow_missing_annotations: bool = option(False, help="Train with a perception term even when no row has "
                                             "visual annotations (it then scores 0 for every sample); perceptrl "
                                             "stops by default, since that is almost always a data mistake.")
    workers: int | None = option(None, help="Worker processes for CPU-heavy rewards (math-verify); 0 = in process; "
                                 "null = the usable CPUs, at most 8 (perceptrl.rewards.runner.default_workers), "
                                 "as RewardRunner and perceptrl score default to.")
    item_timeout: float = option(1.0, help="Per-item timeout in seconds for heavy rewards (perceptrl's runner; the "
                                 "reference relies on math-verify's 5 s): shorter bounds a step, longer scores "
                                 "fewer slow items as timeouts.")
    batch_budget: float | None = option(None, help="Time budget for one batch of rewards, judge included, in "
                                        "seconds (null: 10, or 120 with a judge); judge samples past it follow "
                                        "judge.failure_policy and are counted in perception/over_budget.")
    modules: list[str] = option(default_factory=list, help="Python modules imported before the rewards are "
                                "built, so that their @register_reward functions can be named in terms: dotted "
                                "names (my_pkg.rewards) or .py file paths (TRL's CLI takes reward functions by "
                                "dotted path the same way).")

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        _require(self.workers is None or self.workers >= 0, f"rewards.workers={self.workers} must be >= 0",
                 "rewards.workers", "use 0 (in process), a process count, or null (the usable CPUs)")
        _require(self.item_timeout > 0, f"rewards.item_timeout={self.item_timeout} must be > 0",
                 "rewards.item_timeout", "perceptrl uses 1.0 s")
        _require(self.batch_budget is None or self.batch_budget > 0,
                 f"rewards.batch_budget={self.batch_budget} must be > 0 (or null)", "rewards.batch_budget",
                 "use null (10 s; 120 s with a judge) or a number of seconds")


@dataclass
class MethodConfig:
    """Perception-aware policy optimisation (docs/methods.md). Names compose with "+", e.g. "papo+noisy_rollout"."""

    name: str = option("grpo", help="grpo | papo | vppo | noisy_rollout | vogue | grpo_care, or a +-joined "
                       "combination such as papo+noisy_rollout (one masked image serves PAPO and VPPO; vogue implies "
                       "noisy_rollout's branch).")
    mask_prob: float | None = option(None, help="Probability that a patch of the masked image is blackened; null: "
                                     "the method's paper value (PAPO 0.6, VPPO 0.5).")
    mask_patch: int | None = option(None, help="Side of a masked patch in pixels; null: the processor's vision "
                                    "patch size (14 for Qwen2/2.5-VL).")
    papo_gamma: float = option(0.02, help="PAPO gamma, weight of the implicit perception loss -gamma * KL_prcp "
                               "(PAPO: 0.02 for 3B, 0.01 for 7B); larger risks KL hacking.")
    papo_eta_o: float = option(0.03, help="PAPO eta_o, weight of the entropy term on the clean image (PAPO "
                               "double-entropy loss: 0.03).")
    papo_eta_m: float = option(0.03, help="PAPO eta_m, weight of the entropy term on the masked image (PAPO "
                               "double-entropy loss: 0.03); non-zero runs the masked pass with gradient.")
    vppo_k: float = option(0.4, help="VPPO k: share of each response's tokens (top by visual dependency) that "
                           "carry gradient (VPPO: 0.4); smaller focuses the update, with fewer tokens learning.")
    vppo_beta_min: float = option(0.9, help="VPPO beta_min, the floor of the trajectory advantage scale (VPPO: 0.9).")
    vppo_s_max: float = option(10.0, help="VPPO clamp on the per-token visual dependency s_t (VPPO: 10).")
    noise_step: int = option(500, help="NoisyRollout initial DDPM noise step out of 1000 (NoisyRollout: ~450-500 "
                             "for geometry); more noise, more exploration, less legible images.")
    noise_share: float = option(0.5, help="NoisyRollout share of each group's rollouts sampled from the noised "
                                "image (NoisyRollout: half).")
    noise_schedule: str = option("sigmoid", help="NoisyRollout annealing: sigmoid (NoisyRollout) or none "
                                 "(constant noise).")
    noise_midpoint: float = option(0.5, help="Sigmoid annealing: training progress (0..1) where the noise is "
                                   "halved (perceptrl's choice).")
    noise_sharpness: float = option(10.0, help="Sigmoid annealing steepness (perceptrl's choice).")
    batched_forward: bool = option(True, help=(
        "Compute the second-image log-probs (PAPO's masked image with gradient, VPPO's clean + masked pair) in "
        "the same forward as the first, the batch doubled along the sample axis (perceptrl's choice; the PAPO "
        "and VPPO papers run separate passes). Faster (one call of the vision tower and LM instead of two), at "
        "the price of the activations of twice the rows at once: set false when that does not fit in memory."))
    vogue_alpha: float = option(0.5, help=(
        "VOGUE (arXiv 2510.01444): weight of the visual-uncertainty bonus alpha * U_i added to a noisy-branch "
        "rollout's advantage, U_i its mean raw-vs-noised divergence. Larger explores visually uncertain rollouts "
        "more, at the risk of rewarding image-sensitivity over correctness (value ours: not published where we read)."))
    vogue_bonus_max: float = option(0.5, help=(
        "VOGUE: cap on the advantage bonus, so that a very uncertain rollout cannot outweigh the reward signal "
        "(GRPO advantages are ~unit scale; value ours)."))
    vogue_u_max: float = option(10.0, help=(
        "VOGUE: clamp on the per-token divergence cosh(d) - 1 before averaging (as VPPO's s_max; value ours)."))
    vogue_entropy_coef: float = option(0.01, help=(
        "VOGUE token-entropy bonus: -coef * mean token entropy added to the loss (0 turns it off). Higher keeps "
        "exploration up longer, too high destabilises training (value ours)."))
    care_ema_decay: float = option(0.995, help=(
        "GRPO-CARE (arXiv 2506.16141): decay of the EMA reference, ref <- d*ref + (1-d)*policy (paper: 0.995). "
        "Closer to 1 is a slower, steadier judge of consistency; lower follows the policy and rewards its own habits."))
    care_ema_every: int = option(10, help=(
        "GRPO-CARE: optimizer steps between EMA updates of the reference (paper: 10). The reference is a second "
        "full copy of the policy in memory."))
    care_bonus_coef: float = option(0.5, help=(
        "GRPO-CARE: the consistency bonus is coef * accuracy for accurate, consistent rollouts (paper: 0.5). "
        "Higher favours coherent reasoning more against plain correctness."))
    care_confidence_upper: float | None = option(0.95, help=(
        "GRPO-CARE: cap on the reference's answer likelihood before the group comparison (paper: 0.95), so "
        "near-certain answers do not raise the bar for the rest of the group; null: no cap."))
    care_margin: float = option(0.01, help=(
        "GRPO-CARE: a rollout is consistent when its answer likelihood is at least the accurate rollouts' mean "
        "minus this margin (paper: 0.01; 0 in its stricter variant)."))
    care_accuracy_reward: str = option("accuracy", help=(
        "GRPO-CARE: the reward term whose value is the accuracy the bonus is based on (the hybrid's term name)."))

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        unknown = self.parts - set(METHODS)
        _require(not unknown and bool(self.parts), f"unknown method {self.name!r}", "method.name",
                 f"use one of {', '.join(METHODS)}, or a '+'-joined combination such as papo+noisy_rollout")
        p = self.mask_prob
        _require(p is None or 0.0 <= p <= 1.0, f"method.mask_prob={p} is not a probability", "method.mask_prob",
                 "use a value in [0, 1] (PAPO 0.6, VPPO 0.5)")
        _require(0.0 < self.vppo_k <= 1.0, f"method.vppo_k={self.vppo_k} must be in (0, 1]", "method.vppo_k",
                 "VPPO uses 0.4")
        _require(0.0 <= self.vppo_beta_min <= 1.0, f"method.vppo_beta_min={self.vppo_beta_min} must be in [0, 1]",
                 "method.vppo_beta_min", "VPPO uses 0.9")
        _require(0 <= self.noise_step < 1000, f"method.noise_step={self.noise_step} must be in [0, 1000)",
                 "method.noise_step", "NoisyRollout uses 450-500")
        _require(self.noise_schedule in ("sigmoid", "none"), f"method.noise_schedule={self.noise_schedule!r} is "
                 "unknown", "method.noise_schedule", "use 'sigmoid' or 'none'")
        _require(0.0 < self.noise_share < 1.0, f"method.noise_share={self.noise_share} must be in (0, 1)",
                 "method.noise_share", "NoisyRollout uses 0.5")

    @property
    def parts(self) -> set[str]:
        return {p.strip() for p in self.name.split("+") if p.strip()}

    @property
    def needs_masked_pass(self) -> bool:
        return bool(self.parts & {"papo", "vppo"})

    def effective_mask_prob(self) -> float:
        if self.mask_prob is not None:
            return self.mask_prob
        return 0.6 if "papo" in self.parts else 0.5


@dataclass
class TrainConfig:
    """The whole run: perceptrl sections plus ``trl`` (keyword arguments of TRL's ``GRPOConfig``)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    rewards: RewardsConfig = field(default_factory=RewardsConfig)
    #: The perception judge (perceptrl.judge.JudgeConfig); backend rules runs on CPU without a server.
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    #: GRPOConfig keyword arguments, keys checked against its fields; TRL's defaults apply to the rest.
    trl: dict[str, Any] = field(default_factory=dict)
    #: The file this config was read from (for messages), not a user option.
    source: str | None = None
    #: Dotted keys the recipe or an override set (``judge.failure_policy`` chosen vs defaulted).
    explicit: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("source", None)
        d.pop("explicit", None)
        return d


#: The typed sections of a training recipe, in the order ``perceptrl train --help`` lists them.
SECTIONS: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "rewards": RewardsConfig,
                             "judge": JudgeConfig, "method": MethodConfig}


#: perceptrl's defaults for a few GRPOConfig keys (TRL's in brackets); a recipe's ``trl`` section wins.
TRL_DEFAULTS: dict[str, Any] = {
    "report_to": "tensorboard",  # metrics to TensorBoard by default ["none"]
    "logging_steps": 1,  # RL runs are short in steps; log every step [10]
}


def grpo_fields() -> dict[str, dataclasses.Field]:
    """TRL's ``GRPOConfig`` init fields: the keys and types of the ``trl`` section."""
    from trl import GRPOConfig

    return {f.name: f for f in fields(GRPOConfig) if f.init}


def _check_trl(body: dict[str, Any], where: str) -> None:
    """Values of the ``trl`` section have the type of their GRPOConfig field (numbers, booleans,
    strings); the rest (enums, dicts, unions) is left to GRPOConfig itself."""
    known = grpo_fields()
    simple = {int: (int,), float: (int, float), bool: (bool,), str: (str,)}
    for key, value in body.items():
        tp = known[key].type
        args = typing.get_args(tp)
        base = args[0] if len(args) == 2 and type(None) in args else tp
        if base not in simple or value is None:
            continue
        ok = isinstance(value, simple[base]) and not (base is not bool and isinstance(value, bool))
        _require(ok, f"trl.{key}={value!r} is not of type {base.__name__} (TRL's GRPOConfig.{key})", f"{where}: trl.{key}",
                 f"give trl.{key} a {base.__name__}")


def _check_across(parts: dict[str, Any], where: str) -> None:
    """Checks that need two sections: VOGUE / GRPO-CARE options against ``trl`` (CARE trains without KL), and a
    data mixture instead of ``data.path``."""
    check_new_methods(parts["method"], parts["trl"], where)
    data = parts["data"]
    if data.mixture is not None:
        from perceptrl.train.mixture import parse_mixture

        parse_mixture(data.mixture, where)
        _require(not data.path and data.max_rows is None, "data.mixture replaces data.path and data.max_rows",
                 f"{where}: data", "list every dataset under data.mixture (max_rows per source), and unset data.path")


def _recipe():
    from perceptrl.config.recipe import Recipe

    return Recipe(SECTIONS, {"trl": lambda: set(grpo_fields())})


def config_from_dict(raw: dict[str, Any], *, source: str | None = None,
                     overrides: list[str] | None = None) -> TrainConfig:
    """Build and check a :class:`TrainConfig` from a plain mapping (the YAML document) and overrides."""
    where = source or "<config>"
    parts, explicit = _recipe().build(raw, overrides, where)
    _check_trl(parts["trl"], where)
    _check_across(parts, where)
    return TrainConfig(**parts, source=source, explicit=frozenset(explicit))


def load_train_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML recipe (or start from defaults when ``path`` is None) and apply overrides."""
    from perceptrl.config.recipe import read_yaml

    raw = read_yaml(path) if path is not None else {}
    return config_from_dict(raw, source=str(path) if path is not None else None, overrides=overrides)
