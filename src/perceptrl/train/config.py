"""Training configuration: TRL's ``GRPOConfig`` (section ``trl``) plus perceptrl's own sections.

One small dataclass per component, in the style of EasyR1: ``model``, ``data``, ``rewards``,
``judge``, ``method``. Every option has one default, documented where it is declared, with the
paper it comes from. A YAML file holds the sections; ``key.sub=value`` overrides (values parsed as
YAML) are applied on top. Unknown sections or keys raise :class:`PerceptrlError` naming the key and
the valid ones, before any expensive work.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from perceptrl.errors import PerceptrlError
from perceptrl.train.method_checks import check_new_methods

METHODS = ("grpo", "papo", "vppo", "noisy_rollout", "vogue", "grpo_care")


class _Yaml12Loader(yaml.SafeLoader):
    """Safe YAML with YAML 1.2 booleans: only true/false, so ``save_strategy: no`` stays the string "no"."""


_Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.2 floats: PyYAML (1.1) reads 1e-6 as a string
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    __import__("re").compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _yaml_load(text: str) -> Any:
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


@dataclass
class ModelConfig:
    """The policy to train."""

    # Hub id or local folder (Perception-R1 trains Qwen/Qwen2.5-VL-7B-Instruct).
    name_or_path: str = ""
    # Weight dtype: "auto" keeps the checkpoint's dtype; "float32" on CPU.
    dtype: str = "auto"
    # Attention kernel passed to transformers (None: transformers' default, sdpa).
    attn_implementation: str | None = None
    # LoRA rank; 0 trains all parameters (Perception-R1 does full fine-tuning). LoRA: Hu et al. 2021.
    lora_r: int = 0
    # LoRA scaling alpha (LoRA paper: alpha = 2r is a common choice).
    lora_alpha: int = 16
    # LoRA dropout.
    lora_dropout: float = 0.05
    # Modules LoRA wraps ("all-linear" as in QLoRA, Dettmers et al. 2023; lm_head is always excluded by PEFT).
    lora_target_modules: Any = "all-linear"
    # QLoRA: load the base model in 4 bit with bitsandbytes (Dettmers et al. 2023); needs a GPU and bitsandbytes.
    load_in_4bit: bool = False


@dataclass
class DataConfig:
    """Training data: any format :func:`perceptrl.data.io.read_examples` reads."""

    # Path or Hugging Face id of the training set (None: examples must be passed to ``train``).
    path: str | None = None
    # "auto" | "perception_r1" | "trl" | "jsonl" | "hf" | "geometry3k".
    format: str = "auto"
    # Split for hub datasets (None: the reader's default).
    split: str | None = None
    # Folder that relative image paths start from (None: the data file's folder, or a parent where they exist).
    image_root: str | None = None
    # Prompt template (Perception-R1's think/answer/boxed instruction).
    template: str = "perception_r1"
    # Image pixel bounds set on the processor; None keeps the processor's own (Perception-R1: 3,136 .. 1,806,336).
    min_pixels: int | None = None
    max_pixels: int | None = None
    # Longest prompt allowed, text plus image tokens, checked by validation (Perception-R1: 4096; None: no limit).
    max_prompt_length: int | None = None
    # Validate every row with the real processor before step 1 (the run stops listing every bad row).
    validate: bool = True
    # Use only the first N rows (None: all).
    max_rows: int | None = None
    mixture: list[dict[str, Any]] | None = field(default=None, metadata={"help": (
        "Multi-domain data mixture (MoDoMoDo): a list of sources {path, weight, weight_end?, name?, format?, split?, "
        "image_root?, max_rows?} used instead of data.path. Each prompt's source is drawn by the weights (linear from "
        "weight to weight_end over training: a schedule); per-source accuracy, reward and length are logged under "
        "mixture/<name>/. Weights trade domains against each other: MoDoMoDo finds the best mixture beats uniform "
        "mixing. Recorded in the run folder (mixture.json); a resume with another mixture is refused.")})


@dataclass
class RewardsConfig:
    """Which rewards, with which weights, and how the runner executes them."""

    # Hybrid preset from perceptrl.rewards.hybrid (Perception-R1: 0.9 acc + 0.1 fmt + 0.7 perception + rep).
    preset: str | None = "perception_r1"
    # Explicit terms replacing the preset: list of {name, weight, gate}; gate names a term that must be 1.
    terms: list[dict[str, Any]] | None = None
    # Drop these terms from the preset (e.g. ["perception"] for the accuracy+format baseline arm).
    exclude: list[str] = field(default_factory=list)
    # Train with a perception term even when no row has visual annotations (it then scores 0 for
    # every sample; perceptrl stops by default, since that is almost always a data mistake).
    allow_missing_annotations: bool = False
    # Worker processes for CPU-heavy rewards (math-verify); 0 = in process; None = the usable CPUs, at
    # most 8 (perceptrl.rewards.runner.default_workers: 2 on a 2-core laptop), as RewardRunner and
    # `perceptrl score` default to.
    workers: int | None = None
    # Per-item timeout in seconds for heavy rewards (perceptrl's runner default; the reference relies on math-verify's 5 s).
    item_timeout: float = 1.0
    # Time budget for one batch of rewards, judge included, in seconds (None: 10, or 120 with a judge;
    # judge samples past it follow judge.failure_policy and are counted in perception/over_budget).
    batch_budget: float | None = None
    # Python modules imported before the rewards are built, so that their ``@register_reward``
    # functions can be named in ``terms``: dotted names (``my_pkg.rewards``) or ``.py`` file paths
    # (perceptrl's plugin hook; TRL's CLI takes reward functions by dotted path the same way).
    modules: list[str] = field(default_factory=list)


@dataclass
class MethodConfig:
    """Perception-aware policy optimisation (METHODS.md section 3). Names compose with "+", e.g. "papo+noisy_rollout"."""

    # grpo | papo | vppo | noisy_rollout | vogue | grpo_care, or a "+"-joined combination (vogue implies noisy_rollout's branch).
    name: str = "grpo"
    # Probability that a patch is blackened in the masked image (None: the method's paper value, PAPO 0.6, VPPO 0.5).
    mask_prob: float | None = None
    # Side of a masked patch in pixels (None: the processor's vision patch size, 14 for Qwen2/2.5-VL).
    mask_patch: int | None = None
    # PAPO gamma, weight of the implicit perception loss -gamma * KL_prcp (PAPO: 0.02 for 3B, 0.01 for 7B).
    papo_gamma: float = 0.02
    # PAPO eta_o, weight of the entropy term on the clean image (PAPO double-entropy loss: 0.03).
    papo_eta_o: float = 0.03
    # PAPO eta_m, weight of the entropy term on the masked image (PAPO double-entropy loss: 0.03).
    papo_eta_m: float = 0.03
    # VPPO k: share of each response's tokens (top by visual dependency) that carry gradient (VPPO: 0.4).
    vppo_k: float = 0.4
    # VPPO beta_min, the floor of the trajectory advantage scale (VPPO: 0.9).
    vppo_beta_min: float = 0.9
    # VPPO clamp on the per-token visual dependency s_t (VPPO: 10).
    vppo_s_max: float = 10.0
    # NoisyRollout initial DDPM noise step out of 1000 (NoisyRollout: ~450-500 for geometry).
    noise_step: int = 500
    # NoisyRollout share of each group's rollouts sampled from the noised image (NoisyRollout: half).
    noise_share: float = 0.5
    # NoisyRollout annealing: "sigmoid" (NoisyRollout) or "none" (constant noise).
    noise_schedule: str = "sigmoid"
    # Sigmoid annealing: training progress (0..1) where the noise is halved, and its steepness (perceptrl's choice).
    noise_midpoint: float = 0.5
    noise_sharpness: float = 10.0
    batched_forward: bool = field(default=True, metadata={"help": (
        "Compute the second-image log-probs (PAPO's masked image with gradient, VPPO's clean + masked pair) in "
        "the same forward as the first, the batch doubled along the sample axis (perceptrl's choice; the PAPO "
        "and VPPO papers run separate passes). Faster (one call of the vision tower and LM instead of two), at "
        "the price of the activations of twice the rows at once: set false when that does not fit in memory.")})
    vogue_alpha: float = field(default=0.5, metadata={"help": (
        "VOGUE (arXiv 2510.01444): weight of the visual-uncertainty bonus alpha * U_i added to a noisy-branch "
        "rollout's advantage, U_i its mean raw-vs-noised divergence. Larger explores visually uncertain rollouts "
        "more, at the risk of rewarding image-sensitivity over correctness (value ours: not published where we read).")})
    vogue_bonus_max: float = field(default=0.5, metadata={"help": (
        "VOGUE: cap on the advantage bonus, so that a very uncertain rollout cannot outweigh the reward signal "
        "(GRPO advantages are ~unit scale; value ours).")})
    vogue_u_max: float = field(default=10.0, metadata={"help": (
        "VOGUE: clamp on the per-token divergence cosh(d) - 1 before averaging (as VPPO's s_max; value ours).")})
    vogue_entropy_coef: float = field(default=0.01, metadata={"help": (
        "VOGUE token-entropy bonus: -coef * mean token entropy added to the loss (0 turns it off). Higher keeps "
        "exploration up longer, too high destabilises training (value ours).")})
    care_ema_decay: float = field(default=0.995, metadata={"help": (
        "GRPO-CARE (arXiv 2506.16141): decay of the EMA reference, ref <- d*ref + (1-d)*policy (paper: 0.995). "
        "Closer to 1 is a slower, steadier judge of consistency; lower follows the policy and rewards its own habits.")})
    care_ema_every: int = field(default=10, metadata={"help": (
        "GRPO-CARE: optimizer steps between EMA updates of the reference (paper: 10). The reference is a second "
        "full copy of the policy in memory.")})
    care_bonus_coef: float = field(default=0.5, metadata={"help": (
        "GRPO-CARE: the consistency bonus is coef * accuracy for accurate, consistent rollouts (paper: 0.5). "
        "Higher favours coherent reasoning more against plain correctness.")})
    care_confidence_upper: float | None = field(default=0.95, metadata={"help": (
        "GRPO-CARE: cap on the reference's answer likelihood before the group comparison (paper: 0.95), so "
        "near-certain answers do not raise the bar for the rest of the group; null: no cap.")})
    care_margin: float = field(default=0.01, metadata={"help": (
        "GRPO-CARE: a rollout is consistent when its answer likelihood is at least the accurate rollouts' mean "
        "minus this margin (paper: 0.01; 0 in its stricter variant).")})
    care_accuracy_reward: str = field(default="accuracy", metadata={"help": (
        "GRPO-CARE: the reward term whose value is the accuracy the bonus is based on (the hybrid's term name).")})

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
    # JudgeConfig keyword arguments (perceptrl.judge.JudgeConfig); "rules" runs on CPU without a server.
    judge: dict[str, Any] = field(default_factory=lambda: {"backend": "rules"})
    method: MethodConfig = field(default_factory=MethodConfig)
    # GRPOConfig keyword arguments; TRL's defaults apply to anything not set here.
    trl: dict[str, Any] = field(default_factory=dict)
    # The file this config was read from (for messages), not a user option.
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("source", None)
        return d


_SECTIONS = {"model": ModelConfig, "data": DataConfig, "rewards": RewardsConfig, "method": MethodConfig}
_DICT_SECTIONS = ("judge", "trl")


def _valid_trl_keys() -> set[str]:
    from trl import GRPOConfig

    return {f.name for f in fields(GRPOConfig) if f.init}


def _valid_judge_keys() -> set[str] | None:
    try:
        from perceptrl.judge import JudgeConfig
    except ImportError:  # judge package not installed in this checkout: keys checked when it is
        return None
    return {f.name for f in fields(JudgeConfig)}


def _bad_key(key: str, valid: set[str] | list[str], where: str) -> PerceptrlError:
    import difflib

    close = difflib.get_close_matches(key.split(".")[-1], list(valid), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return PerceptrlError(
        f"unknown configuration key {key!r}.{hint}",
        where=where,
        fix=f"use one of: {', '.join(sorted(valid))}",
    )


def config_from_dict(raw: dict[str, Any], *, source: str | None = None) -> TrainConfig:
    """Build and check a :class:`TrainConfig` from a plain mapping (the YAML document)."""
    where = source or "<config>"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PerceptrlError("the configuration must be a mapping of sections", where=where,
                             fix="write `model:`, `data:`, `rewards:`, `judge:`, `method:`, `trl:` sections")
    valid_sections = list(_SECTIONS) + list(_DICT_SECTIONS)
    cfg = TrainConfig(source=source)
    for section, body in raw.items():
        if section not in valid_sections:
            raise _bad_key(section, valid_sections, where)
        if body is None:
            continue
        if not isinstance(body, dict):
            raise PerceptrlError(f"section {section!r} must be a mapping", where=where,
                                 fix=f"write `{section}:` followed by indented `key: value` lines")
        if section in _SECTIONS:
            cls = _SECTIONS[section]
            names = {f.name for f in fields(cls)}
            for key in body:
                if key not in names:
                    raise _bad_key(f"{section}.{key}", names, where)
            setattr(cfg, section, cls(**{**dataclasses.asdict(getattr(cfg, section)), **body}))
        elif section == "trl":
            valid = _valid_trl_keys()
            for key in body:
                if key not in valid:
                    raise _bad_key(f"trl.{key}", valid, where)
            cfg.trl = dict(body)
        else:  # judge
            valid_j = _valid_judge_keys()
            if valid_j is not None:
                for key in body:
                    if key not in valid_j:
                        raise _bad_key(f"judge.{key}", valid_j, where)
            cfg.judge = dict(body)
    check_config(cfg)
    return cfg


def check_config(cfg: TrainConfig) -> None:
    """Semantic checks that do not need the model or data."""
    where = cfg.source or "<config>"
    unknown = cfg.method.parts - set(METHODS)
    if unknown or not cfg.method.parts:
        raise PerceptrlError(f"unknown method {cfg.method.name!r}", where=f"{where}: method.name",
                             fix=f"use one of {', '.join(METHODS)}, or a '+'-joined combination such as papo+noisy_rollout")
    p = cfg.method.mask_prob
    if p is not None and not 0.0 <= p <= 1.0:
        raise PerceptrlError(f"method.mask_prob={p} is not a probability", where=f"{where}: method.mask_prob",
                             fix="use a value in [0, 1] (PAPO 0.6, VPPO 0.5)")
    if not 0.0 < cfg.method.vppo_k <= 1.0:
        raise PerceptrlError(f"method.vppo_k={cfg.method.vppo_k} must be in (0, 1]", where=f"{where}: method.vppo_k",
                             fix="VPPO uses 0.4")
    if not 0.0 <= cfg.method.vppo_beta_min <= 1.0:
        raise PerceptrlError(f"method.vppo_beta_min={cfg.method.vppo_beta_min} must be in [0, 1]",
                             where=f"{where}: method.vppo_beta_min", fix="VPPO uses 0.9")
    if not 0 <= cfg.method.noise_step < 1000:
        raise PerceptrlError(f"method.noise_step={cfg.method.noise_step} must be in [0, 1000)",
                             where=f"{where}: method.noise_step", fix="NoisyRollout uses 450-500")
    if cfg.method.noise_schedule not in ("sigmoid", "none"):
        raise PerceptrlError(f"method.noise_schedule={cfg.method.noise_schedule!r} is unknown",
                             where=f"{where}: method.noise_schedule", fix="use 'sigmoid' or 'none'")
    check_new_methods(cfg.method, cfg.trl, where)
    if cfg.data.mixture is not None:
        from perceptrl.train.mixture import parse_mixture

        parse_mixture(cfg.data.mixture, where)
        if cfg.data.path or cfg.data.max_rows is not None:
            raise PerceptrlError("data.mixture replaces data.path and data.max_rows", where=f"{where}: data",
                                 fix="list every dataset under data.mixture (max_rows per source), and unset data.path")
    if not 0.0 < cfg.method.noise_share < 1.0:
        raise PerceptrlError(f"method.noise_share={cfg.method.noise_share} must be in (0, 1)",
                             where=f"{where}: method.noise_share", fix="NoisyRollout uses 0.5")


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise PerceptrlError(f"override {item!r} is not of the form section.key=value", where="command line",
                             fix="write e.g. trl.max_steps=4 or method.name=papo")
    key, value = item.split("=", 1)
    path = key.strip().split(".")
    if len(path) < 2:
        raise PerceptrlError(f"override {item!r} must name a section and a key", where="command line",
                             fix="write e.g. trl.learning_rate=1e-6")
    try:
        parsed = _yaml_load(value) if value != "" else None
    except yaml.YAMLError:
        parsed = value
    return path, parsed


def apply_overrides(raw: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """Apply ``a.b=value`` strings to a raw config mapping (values parsed as YAML: numbers, lists, null...)."""
    raw = dict(raw or {})
    for item in overrides or []:
        path, value = _parse_override(item)
        node = raw
        for part in path[:-1]:
            nxt = node.get(part)
            if nxt is None:
                nxt = {}
            elif not isinstance(nxt, dict):
                raise PerceptrlError(f"override {item!r}: {part!r} is not a section", where="command line",
                                     fix="check the dotted key")
            else:
                nxt = dict(nxt)
            node[part] = nxt
            node = nxt
        node[path[-1]] = value
    return raw


def load_train_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML recipe (or start from defaults when ``path`` is None) and apply overrides."""
    raw: dict[str, Any] = {}
    source = None
    if path is not None:
        p = Path(path)
        source = str(p)
        if not p.is_file():
            raise PerceptrlError(f"configuration file not found: {p}", where=str(p),
                                 fix="pass a YAML recipe, e.g. configs/demo_cpu.yaml")
        try:
            raw = _yaml_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise PerceptrlError(f"invalid YAML: {e}", where=str(p), fix="fix the YAML syntax") from None
    raw = apply_overrides(raw, overrides)
    return config_from_dict(raw, source=source)
