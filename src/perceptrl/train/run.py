"""``train(cfg)``: everything before step 1 (data, validation, model, rewards, judge, summary), then TRL.

Order matters: cheap checks that a user can fail (config, data, validation with the real processor,
judge reachability) run before anything expensive, and each raises :class:`PerceptrlError` naming
the file/row and the fix.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError
from perceptrl.train.config import TRL_DEFAULTS, TrainConfig

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    output_dir: str
    log_history: list[dict[str, Any]]
    model: Any
    processor: Any
    trainer: Any = None
    summary: dict[str, Any] = field(default_factory=dict)
    # SHA-256 of the final parameters (perceptrl.train.checkpoints.parameter_digest)
    parameter_digest: str = ""
    is_main_process: bool = True


def _read_source(cfg: TrainConfig, path: str, *, format: str, split: str | None, image_root: str | None,
                 where: str) -> list[Example]:
    """One dataset: a file, folder or hub id (any format read_examples reads), or ``synth:N``."""
    if path.startswith("synth:"):  # procedural problems, e.g. "synth:64" (the CPU demo's data)
        from perceptrl.synth import generate

        try:
            n = int(path.split(":", 1)[1])
        except ValueError:
            raise PerceptrlError(f"bad synthetic data spec {path!r}", where=where,
                                 fix="write synth:N, e.g. synth:64") from None
        return generate(n, seed=int(cfg.trl.get("seed", 42)))
    from perceptrl.data.io import read_examples

    return read_examples(path, format=format, split=split, image_root=image_root)


def _load_examples(cfg: TrainConfig, train_examples: list[Example] | None) -> tuple[list[Example], Any]:
    """The training rows, and the :class:`~perceptrl.train.mixture.Mixture` when ``data.mixture`` is set."""
    where = cfg.source or "<config>"
    mixture = None
    if train_examples is None and cfg.data.mixture:
        from perceptrl.train.mixture import load_mixture

        def read(e: dict[str, Any]) -> list[Example]:
            return _read_source(cfg, str(e["path"]), format=e.get("format", cfg.data.format),
                                split=e.get("split", cfg.data.split), image_root=e.get("image_root", cfg.data.image_root),
                                where=f"{where}: data.mixture ({e['name']})")

        train_examples, mixture = load_mixture(cfg.data.mixture, where, read)
    elif train_examples is None:
        if not cfg.data.path:
            raise PerceptrlError("no training data", where=f"{where}: data.path",
                                 fix="set data.path (a file, folder or dataset id) or data.mixture, or pass train_examples=")
        train_examples = _read_source(cfg, str(cfg.data.path), format=cfg.data.format, split=cfg.data.split,
                                      image_root=cfg.data.image_root, where=f"{where}: data.path")
    examples = list(train_examples)
    if cfg.data.max_rows is not None and mixture is None:
        examples = examples[: cfg.data.max_rows]
    if not examples:
        raise PerceptrlError("the training set is empty", where=str(cfg.data.path or "train_examples"),
                             fix="point data.path at a non-empty dataset")
    return examples, mixture


def _check_rows_fill_a_batch(cfg: TrainConfig, args: Any, n_rows: int) -> None:
    """TRL's sampler yields whole generation batches only: with fewer rows than one batch of prompts
    the run would print its summary, train 0 steps and exit 0. Refuse instead (before any loading);
    a partial last batch is dropped every epoch, which is said."""
    prompts = args.generation_batch_size // args.num_generations
    where = f"{cfg.source or '<config>'}: trl"
    if n_rows < prompts:
        raise PerceptrlError(
            f"{n_rows} training row(s) cannot fill one batch of {prompts} prompts "
            f"(generation_batch_size {args.generation_batch_size} = {args.per_device_train_batch_size} per device "
            f"x {args.world_size} process(es) x {args.steps_per_generation} steps_per_generation, "
            f"/ num_generations {args.num_generations}): the run would train 0 steps",
            where=where,
            fix=f"give at least {prompts} rows, or lower trl.per_device_train_batch_size / "
            "trl.gradient_accumulation_steps (or raise trl.num_generations) so one batch needs fewer prompts",
        )
    if n_rows % prompts:
        logger.warning("%d rows do not divide into batches of %d prompts: the last %d rows of each epoch are not "
                       "used (TRL drops incomplete batches)", n_rows, prompts, n_rows % prompts)


def _check_annotations(cfg: TrainConfig, examples: list[Example]) -> None:
    """A perception reward on rows without visual annotations scores 0 for every sample (there is
    nothing to check the reasoning against): a silent no-op. Stop unless the user opted in."""
    from perceptrl.train.rewards_setup import build_spec

    if "perception" not in [t.name for t in build_spec(cfg).terms]:
        return
    missing = [ex for ex in examples if not ex.visual_annotations]
    if not missing:
        return
    where = f"{cfg.source or '<config>'}: rewards"
    if len(missing) == len(examples) and not cfg.rewards.allow_missing_annotations:
        raise PerceptrlError(
            f"the perception reward is configured but none of the {len(examples)} training rows has visual "
            "annotations: it would score 0 for every sample",
            where=where,
            fix="annotate the data first (`perceptrl annotate`), drop the term (rewards.exclude=[perception]), "
            "or set rewards.allow_missing_annotations=true to train anyway",
        )
    logger.warning("%d of %d training rows have no visual annotations: the perception reward scores 0 on them "
                   "(ids %s)", len(missing), len(examples), ", ".join(repr(ex.id) for ex in missing[:5]))


def _set_pixel_bounds(processor: Any, min_pixels: int | None, max_pixels: int | None) -> None:
    ip = getattr(processor, "image_processor", None)
    if ip is None or (min_pixels is None and max_pixels is None):
        return
    size = dict(getattr(ip, "size", None) or {})
    if min_pixels is not None:
        size["shortest_edge"] = min_pixels
        if hasattr(ip, "min_pixels"):
            ip.min_pixels = min_pixels
    if max_pixels is not None:
        size["longest_edge"] = max_pixels
        if hasattr(ip, "max_pixels"):
            ip.max_pixels = max_pixels
    ip.size = type(ip.size)(**size) if getattr(ip, "size", None) is not None and not isinstance(ip.size, dict) else size


def _validate(cfg: TrainConfig, examples: list[Example], processor: Any) -> None:
    if not cfg.data.validate:
        logger.warning("data validation is off (data.validate=false)")
        return
    try:
        from perceptrl.data.validate import ensure_valid
    except ImportError:  # pragma: no cover - the data package ships it
        logger.warning("perceptrl.data.validate is not available: data not validated")
        return
    kwargs: dict[str, Any] = {"processor": processor, "source": str(cfg.data.path or "train_examples"),
                              "template": cfg.data.template}
    size = dict(getattr(getattr(processor, "image_processor", None), "size", None) or {})
    kwargs["min_pixels"] = cfg.data.min_pixels if cfg.data.min_pixels is not None else size.get("shortest_edge")
    kwargs["max_pixels"] = cfg.data.max_pixels if cfg.data.max_pixels is not None else size.get("longest_edge")
    if cfg.data.max_prompt_length is not None:
        kwargs["max_prompt_length"] = cfg.data.max_prompt_length
    ensure_valid(examples, **kwargs)


def _model_name(cfg: TrainConfig) -> str:
    if not cfg.model.name_or_path:
        raise PerceptrlError("no model", where=f"{cfg.source or '<config>'}: model.name_or_path",
                             fix="set model.name_or_path (hub id or local folder), or pass model=")
    name = cfg.model.name_or_path
    if name.startswith("tiny:"):  # a tiny random-init VLM built locally, e.g. "tiny:qwen2_5_vl"
        from perceptrl.models import tiny_model_dir

        name = str(tiny_model_dir(name.split(":", 1)[1]))
    return name


def _load_processor(cfg: TrainConfig, model: Any, processor: Any) -> Any:
    """The processor alone (seconds), so the data is validated before the weights are loaded (minutes for 7B)."""
    if processor is not None:
        return processor
    from perceptrl.models import load_processor

    if model is not None:
        name = getattr(model.config, "_name_or_path", None) or cfg.model.name_or_path
        return load_processor(name, model_type=getattr(model.config, "model_type", None))
    return load_processor(_model_name(cfg))


def _load_model(cfg: TrainConfig, model: Any) -> Any:
    if model is not None:
        return model
    name = _model_name(cfg)
    if cfg.model.load_in_4bit:
        try:
            from transformers import BitsAndBytesConfig
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise PerceptrlError("model.load_in_4bit needs bitsandbytes and a CUDA GPU",
                                 where=f"{cfg.source or '<config>'}: model.load_in_4bit",
                                 fix="pip install bitsandbytes on a GPU machine, or set model.load_in_4bit=false") from None
        return _load_qlora(cfg, name, BitsAndBytesConfig)
    from perceptrl.models import load_vlm

    model, _ = load_vlm(name, dtype=cfg.model.dtype, attn_implementation=cfg.model.attn_implementation)
    return model


def _load_qlora(cfg: TrainConfig, name: str, bnb_config_cls: Any) -> Any:  # pragma: no cover - GPU only
    import torch
    from transformers import AutoModelForImageTextToText

    bnb = bnb_config_cls(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
                         bnb_4bit_use_double_quant=True)
    return AutoModelForImageTextToText.from_pretrained(name, quantization_config=bnb,
                                                       attn_implementation=cfg.model.attn_implementation)


def _maybe_lora(cfg: TrainConfig, model: Any, seed: int) -> Any:
    if cfg.model.lora_r <= 0:
        if cfg.model.load_in_4bit:
            raise PerceptrlError("QLoRA needs LoRA adapters: model.load_in_4bit without model.lora_r",
                                 where=f"{cfg.source or '<config>'}: model.lora_r", fix="set model.lora_r, e.g. 64")
        return model
    from transformers import set_seed

    from perceptrl.models import wrap_lora

    set_seed(seed)  # LoRA A matrices are random: same seed, same adapters (resume parity)
    lora: dict[str, Any] = {"r": cfg.model.lora_r, "lora_alpha": cfg.model.lora_alpha,
                            "lora_dropout": cfg.model.lora_dropout}
    if cfg.model.lora_target_modules not in (None, "default"):
        lora["target_modules"] = cfg.model.lora_target_modules
    return wrap_lora(model, lora)


def _check_judge(cfg: TrainConfig, setup: Any) -> None:
    """The judge must answer, unless the user chose what happens when it does not."""
    backend = cfg.judge.backend
    if setup.judge is None or backend == "rules":
        return
    explicit = "judge.failure_policy" in cfg.explicit
    probe = getattr(setup.judge, "ascore", None)
    try:
        scores = asyncio.run(probe(["<think>\nprobe\n</think>\n<answer>\n\\boxed{0}\n</answer>"],
                                   [{"visual_annotations": ["x = 1"], "answer": "0"}]))
        metrics = setup.judge.metrics() if hasattr(setup.judge, "metrics") else {}
        failed = any(v for k, v in metrics.items() if "fail" in k) or scores[0] is None
    except Exception as e:  # noqa: BLE001 - any failure is "unreachable" here
        failed, metrics = True, {"error": repr(e)}
    if failed:
        msg = f"the perception judge ({cfg.judge.base_url or backend}) did not answer a probe request ({metrics})"
        if not explicit:
            raise PerceptrlError(msg, where=f"{cfg.source or '<config>'}: judge",
                                 fix="start the judge server, or set judge.failure_policy (neutral|zero) to train anyway")
        logger.warning("%s; continuing with judge.failure_policy=%s", msg, cfg.judge.failure_policy)


def _grpo_args(cfg: TrainConfig):
    from trl import GRPOConfig

    kwargs = {**TRL_DEFAULTS, **cfg.trl}
    kwargs.setdefault("output_dir", os.path.join("runs", f"perceptrl-{cfg.method.name.replace('+', '-')}"))
    # the dataset is a row_id column expanded in Python: it must not be dropped as "unused"
    kwargs["remove_unused_columns"] = False
    try:
        return GRPOConfig(**kwargs)
    except (ValueError, TypeError) as e:
        raise PerceptrlError(f"invalid trl settings: {e}", where=f"{cfg.source or '<config>'}: trl",
                             fix="see TRL's GRPOConfig documentation for the option") from None


def _summary(cfg: TrainConfig, args: Any, model: Any, n_rows: int, setup: Any) -> dict[str, Any]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    world = args.world_size
    rollouts_per_step = args.per_device_train_batch_size * world * args.gradient_accumulation_steps
    prompts_per_step = rollouts_per_step / args.num_generations
    if args.max_steps and args.max_steps > 0:
        steps = args.max_steps
    else:
        prompts = args.generation_batch_size // args.num_generations  # TRL drops an incomplete last batch
        used = (n_rows // prompts) * prompts
        steps = math.ceil(used * args.num_generations * args.num_iterations * args.num_train_epochs / rollouts_per_step)
    m = cfg.method
    method = m.name
    if m.needs_masked_pass:
        method += f" (mask p={m.effective_mask_prob()}"
        if "papo" in m.parts:
            method += f", gamma={m.papo_gamma}, eta_o={m.papo_eta_o}, eta_m={m.papo_eta_m}"
        if "vppo" in m.parts:
            method += f", k={m.vppo_k}, beta_min={m.vppo_beta_min}"
        method += ")"
    if m.parts & {"noisy_rollout", "vogue"}:
        method += f" (noise step {m.noise_step}/1000, {m.noise_schedule} annealing, share {m.noise_share})"
    if "vogue" in m.parts:
        method += f" (VOGUE alpha {m.vogue_alpha}, cap {m.vogue_bonus_max}, entropy {m.vogue_entropy_coef})"
    if "grpo_care" in m.parts:
        method += (f" (CARE: EMA {m.care_ema_decay} every {m.care_ema_every} steps, bonus {m.care_bonus_coef}, "
                   f"cap {m.care_confidence_upper}, margin {m.care_margin})")
    return {
        "model": getattr(model.config, "_name_or_path", "") or cfg.model.name_or_path or type(model).__name__,
        "parameters": f"{total / 1e6:.2f}M total, {trainable / 1e6:.2f}M trainable",
        "rows": n_rows,
        "rewards": setup.description or ", ".join(f"{n}×{w:g}" for n, w in zip(setup.names, setup.weights, strict=False)),
        "judge": setup.judge_summary,
        "method": method,
        "loss": f"{args.loss_type}, clip {args.epsilon}/{args.epsilon_high or args.epsilon}, beta {args.beta}",
        "effective batch": f"{rollouts_per_step} rollouts = {prompts_per_step:g} prompts × {args.num_generations} "
                           f"({world} process(es) × {args.per_device_train_batch_size} × {args.gradient_accumulation_steps} accum)",
        "expected steps": steps,
        "output": args.output_dir,
    }


def _print_summary(summary: dict[str, Any]) -> None:
    width = max(len(k) for k in summary)
    lines = ["perceptrl train"] + [f"  {k.ljust(width)}  {v}" for k, v in summary.items()]
    print("\n".join(lines), flush=True)


def train(
    cfg: TrainConfig,
    train_examples: list[Example] | None = None,
    model: Any = None,
    processor: Any = None,
    *,
    resume: bool = False,
    reward_funcs: list[Any] | None = None,
    reward_weights: list[float] | None = None,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Run GRPO (and the configured perception-aware method) on ``cfg``.

    ``train_examples``, ``model`` and ``processor`` override the config's data and model.
    ``reward_funcs``/``reward_weights`` replace the configured rewards with TRL reward functions
    (for custom experiments). ``resume=True`` continues from the last checkpoint in the output
    folder (same data order, RNG and optimizer state), or starts fresh if there is none.
    """
    from perceptrl.train.checkpoints import last_complete_checkpoint
    from perceptrl.train.rewards_setup import RewardSetup, build_rewards
    from perceptrl.train.rows import RowStore
    from perceptrl.train.trainer import PerceptrlGRPOTrainer

    args = _grpo_args(cfg)  # bad trl settings fail before anything is loaded
    if reward_funcs is None:
        from perceptrl.train.rewards_setup import check_rewards

        check_rewards(cfg)  # unknown reward terms / modules fail before the model is loaded
    examples, mixture = _load_examples(cfg, train_examples)
    _check_rows_fill_a_batch(cfg, args, len(examples))  # 0 steps would otherwise "succeed"
    if reward_funcs is None:
        _check_annotations(cfg, examples)
    processor = _load_processor(cfg, model, processor)
    _set_pixel_bounds(processor, cfg.data.min_pixels, cfg.data.max_pixels)
    _validate(cfg, examples, processor)  # every bad row listed before the weights are loaded
    model = _load_model(cfg, model)
    if reward_funcs is not None:
        names = [getattr(f, "__name__", type(f).__name__) for f in reward_funcs]
        weights = list(reward_weights) if reward_weights is not None else [1.0] * len(reward_funcs)
        setup = RewardSetup(funcs=list(reward_funcs), weights=weights, names=names, judge_summary="custom rewards")
    else:
        setup = build_rewards(cfg)
        _check_judge(cfg, setup)
    args.reward_weights = setup.weights
    model = _maybe_lora(cfg, model, args.seed)

    checkpoint = None
    if resume:
        checkpoint = last_complete_checkpoint(args.output_dir)
        if checkpoint is None:
            logger.warning("--resume: no checkpoint in %s, starting from step 0", args.output_dir)
        else:
            logger.info("resuming from %s", checkpoint)  # weights restored by the trainer's _load_from_checkpoint

    rows = RowStore(examples, template=cfg.data.template)
    trainer = PerceptrlGRPOTrainer(
        model=model,
        reward_funcs=setup.funcs,
        args=args,
        train_dataset=rows.dataset(),
        processing_class=processor,
        callbacks=callbacks,
        method=cfg.method,
        rows=rows,
        mixture=mixture,
    )
    summary = _summary(cfg, args, trainer.model, len(examples), setup)
    main = trainer.accelerator.is_main_process
    if mixture is not None:
        _record_mixture(mixture, summary, args.output_dir, main=main, resume=checkpoint is not None)
    if main:
        _print_summary(summary)
        _save_config(cfg, args.output_dir)
    try:
        trainer.train(resume_from_checkpoint=checkpoint)
    finally:
        if setup.runner is not None and hasattr(setup.runner, "close"):
            setup.runner.close()
    trainer.save_model(args.output_dir)
    if main:
        processor.save_pretrained(args.output_dir)
    final = trainer.accelerator.unwrap_model(trainer.model)
    digest = _check_ranks_agree(trainer, final, args.output_dir)
    return TrainResult(output_dir=str(Path(args.output_dir)), log_history=list(trainer.state.log_history),
                       model=final, processor=processor, trainer=trainer, summary=summary,
                       parameter_digest=digest, is_main_process=main)


def _record_mixture(mixture: Any, summary: dict[str, Any], output_dir: str, *, main: bool, resume: bool) -> None:
    """The mixture on the summary and in ``mixture.json`` (a resume with another mixture is refused)."""
    from perceptrl.train.mixture import record_or_check

    summary["data mixture"] = ", ".join(f"{n} ({k} rows) {w:g}->{we:g}" for n, k, w, we in
                                        zip(mixture.names, mixture.sizes, mixture.weights, mixture.weights_end))
    if main:
        record_or_check(mixture, output_dir, resume=resume)


def _save_config(cfg: TrainConfig, output_dir: str) -> None:
    """The resolved configuration (recipe plus overrides) next to the checkpoints: what exactly ran."""
    import yaml

    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "perceptrl_config.yaml"), "w") as f:
        yaml.safe_dump(cfg.to_dict(), f, sort_keys=False)


def _check_ranks_agree(trainer: Any, model: Any, output_dir: str) -> str:
    """Fingerprint the final parameters; with several processes, each writes its own and all are compared.

    Data-parallel replicas must end identical; a difference means a desynchronised run (a rank that
    skipped an all-reduce, a rank-dependent update) and is reported as an error, not silently saved.
    """
    from perceptrl.train.checkpoints import parameter_digest

    digest = parameter_digest(model)
    acc = trainer.accelerator
    if acc.num_processes > 1:
        from accelerate.utils import DistributedType, gather_object

        os.makedirs(output_dir, exist_ok=True)
        with open(os.path.join(output_dir, f"parameters.rank{acc.process_index}.sha256"), "w") as f:
            f.write(digest + "\n")
        digests = gather_object([digest])
        if acc.is_main_process:
            if len(set(digests)) == 1:
                logger.info("all %d processes end with identical parameters (sha256 %s)", len(digests), digest[:16])
            elif acc.distributed_type not in (DistributedType.DEEPSPEED, DistributedType.FSDP):  # shards differ
                logger.error("processes ended with different parameters: %s", digests)
    return digest
