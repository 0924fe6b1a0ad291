"""The training rows, and the checks on them that run before anything expensive is loaded.

Each check raises :class:`PerceptrlError` naming the file/row and the fix: too few rows to fill
one batch (TRL would train 0 steps), a perception reward on rows without annotations (it would
score 0 everywhere), rows the real processor cannot take.
"""

from __future__ import annotations

import logging
from typing import Any

from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError
from perceptrl.train.config import TrainConfig

logger = logging.getLogger(__name__)


def read_source(cfg: TrainConfig, path: str, *, format: str, split: str | None, image_root: str | None,
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


def load_examples(cfg: TrainConfig, train_examples: list[Example] | None) -> tuple[list[Example], Any]:
    """The training rows, and the :class:`~perceptrl.train.mixture.Mixture` when ``data.mixture`` is set."""
    where = cfg.source or "<config>"
    mixture = None
    if train_examples is None and cfg.data.mixture:
        from perceptrl.train.mixture import load_mixture

        def read(e: dict[str, Any]) -> list[Example]:
            return read_source(cfg, str(e["path"]), format=e.get("format", cfg.data.format),
                                split=e.get("split", cfg.data.split), image_root=e.get("image_root", cfg.data.image_root),
                                where=f"{where}: data.mixture ({e['name']})")

        train_examples, mixture = load_mixture(cfg.data.mixture, where, read)
    elif train_examples is None:
        if not cfg.data.path:
            raise PerceptrlError("no training data", where=f"{where}: data.path",
                                 fix="set data.path (a file, folder or dataset id) or data.mixture, or pass train_examples=")
        train_examples = read_source(cfg, str(cfg.data.path), format=cfg.data.format, split=cfg.data.split,
                                      image_root=cfg.data.image_root, where=f"{where}: data.path")
    examples = list(train_examples)
    if cfg.data.max_rows is not None and mixture is None:
        examples = examples[: cfg.data.max_rows]
    if not examples:
        raise PerceptrlError("the training set is empty", where=str(cfg.data.path or "train_examples"),
                             fix="point data.path at a non-empty dataset")
    return examples, mixture


def check_rows_fill_a_batch(cfg: TrainConfig, args: Any, n_rows: int) -> None:
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


def check_annotations(cfg: TrainConfig, examples: list[Example]) -> None:
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


def validate_rows(cfg: TrainConfig, examples: list[Example], processor: Any) -> None:
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
