"""``train(cfg)``: everything before step 1 (data, validation, model, rewards, judge, summary), then TRL.

Order matters: cheap checks that a user can fail (config, data, validation with the real processor,
judge reachability) run before anything expensive, and each raises :class:`PerceptrlError` naming
the file/row and the fix. The rows and their checks live in :mod:`perceptrl.train.inputs`, the
model and processor in :mod:`perceptrl.train.model_setup`, the printed summary in
:mod:`perceptrl.train.summary`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError
from perceptrl.train.config import TRL_DEFAULTS, TrainConfig
from perceptrl.train.inputs import check_annotations, check_rows_fill_a_batch, load_examples, validate_rows
from perceptrl.train.model_setup import (load_model, load_processor_for, maybe_freeze_vision, maybe_lora,
                                         set_pixel_bounds)
from perceptrl.train.summary import build_summary, print_summary, record_mixture

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
    from perceptrl.train.rows import RowStore
    from perceptrl.train.trainer import PerceptrlGRPOTrainer

    args = _grpo_args(cfg)  # bad trl settings fail before anything is loaded
    examples, mixture, processor = _prepare_data(cfg, args, train_examples, model, processor,
                                                 custom_rewards=reward_funcs is not None)
    model = load_model(cfg, model)
    maybe_freeze_vision(cfg, model)
    setup = _reward_setup(cfg, reward_funcs, reward_weights)
    args.reward_weights = setup.weights
    model = maybe_lora(cfg, model, args.seed)
    checkpoint = _checkpoint_to_resume(args.output_dir) if resume else None
    rows = RowStore(examples, template=cfg.data.template)
    trainer = PerceptrlGRPOTrainer(model=model, reward_funcs=setup.funcs, args=args, train_dataset=rows.dataset(),
                                   processing_class=processor, callbacks=callbacks, method=cfg.method, rows=rows,
                                   mixture=mixture)
    summary = build_summary(cfg, args, trainer.model, len(examples), setup)
    main = trainer.accelerator.is_main_process
    if mixture is not None:
        record_mixture(mixture, summary, args.output_dir, main=main, resume=checkpoint is not None)
    if main:
        print_summary(summary)
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


def _prepare_data(cfg: TrainConfig, args: Any, train_examples: list[Example] | None, model: Any, processor: Any, *,
                  custom_rewards: bool) -> tuple[list[Example], Any, Any]:
    """Rows, mixture and processor, every check a user can fail done before the weights are loaded."""
    if not custom_rewards:
        from perceptrl.train.rewards_setup import check_rewards

        check_rewards(cfg)  # unknown reward terms / modules fail before the model is loaded
    examples, mixture = load_examples(cfg, train_examples)
    check_rows_fill_a_batch(cfg, args, len(examples))  # 0 steps would otherwise "succeed"
    if not custom_rewards:
        check_annotations(cfg, examples)
    processor = load_processor_for(cfg, model, processor)
    set_pixel_bounds(processor, cfg.data.min_pixels, cfg.data.max_pixels)
    validate_rows(cfg, examples, processor)  # every bad row listed before the weights are loaded
    return examples, mixture, processor


def _reward_setup(cfg: TrainConfig, reward_funcs: list[Any] | None, reward_weights: list[float] | None) -> Any:
    """The configured rewards (judge probed), or the caller's TRL reward functions as they are."""
    from perceptrl.train.rewards_setup import RewardSetup, build_rewards

    if reward_funcs is None:
        setup = build_rewards(cfg)
        _check_judge(cfg, setup)
        return setup
    names = [getattr(f, "__name__", type(f).__name__) for f in reward_funcs]
    weights = list(reward_weights) if reward_weights is not None else [1.0] * len(reward_funcs)
    return RewardSetup(funcs=list(reward_funcs), weights=weights, names=names, judge_summary="custom rewards")


def _checkpoint_to_resume(output_dir: str) -> str | None:
    """The last complete checkpoint in ``output_dir`` (``--resume``), or ``None`` to start from step 0."""
    from perceptrl.train.checkpoints import last_complete_checkpoint

    checkpoint = last_complete_checkpoint(output_dir)
    if checkpoint is None:
        logger.warning("--resume: no checkpoint in %s, starting from step 0", output_dir)
    else:
        logger.info("resuming from %s", checkpoint)  # weights restored by the trainer's _load_from_checkpoint
    return checkpoint


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
