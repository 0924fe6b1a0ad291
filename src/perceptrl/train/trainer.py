"""``PerceptrlGRPOTrainer``: TRL's GRPOTrainer plus the perception-aware hooks of docs/methods.md §3.

Only a few methods are overridden, each for one reason:

* ``_generate_and_score_completions``: expand ``row_id`` into full rows (see :mod:`.rows`), then,
  after TRL has generated and scored, build the masked image (:mod:`.masking`) and run the one
  shared no-grad masked forward pass (``logp_mask``); VPPO turns the sequence advantages into
  token-level advantages there (TRL's loss accepts ``(B, T)`` advantages).
* ``_generate``: NoisyRollout swaps in noised images for the last half of each group's rollouts;
  TRL then rebuilds the forward inputs from the clean dataset images, so log-probs and updates
  use the clean image.
* ``_compute_loss``: PAPO adds ``-gamma KL_prcp + eta_o H + eta_m H_mask`` to TRL's loss, using the
  very log-probs TRL's loss was computed from (captured in ``_get_per_token_logps_and_entropies``),
  so the policy forward pass is not repeated. With ``method.batched_forward`` the masked-image
  log-probs come from that same forward, the batch doubled (clean rows, then masked: :mod:`.batched`).
* VOGUE (on the NoisyRollout branch): after scoring, the noisy-branch rollouts are scored with the
  raw and the noised image in one doubled no-grad pass; their divergence (:mod:`.vogue`) is a bonus
  on those rollouts' advantages, and ``-coef * entropy`` is added to the loss.
* GRPO-CARE: ``_calculate_rewards`` keeps TRL's rewards; after scoring, an EMA copy of the policy
  scores each answer given its reasoning and the consistency bonus re-forms the advantages (:mod:`.care`).
* ``_get_train_sampler``: TRL's sampler with an epoch-addressable shuffle (:mod:`.sampler`), so a
  run resumed from a checkpoint trains on the same batches as an uninterrupted one; with a data
  mixture, the mixture's weighted sampler (:mod:`.mixture`) and per-source metrics.

Everything else (generation, vLLM, rewards, advantages, clipping, loss types, PEFT, accelerate,
DeepSpeed/FSDP, logging, checkpoints) is TRL's.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch
from trl import GRPOTrainer
from trl.models.utils import disable_gradient_checkpointing
from trl.trainer.utils import RepeatSampler

from perceptrl.train.batched import double_batch, split_halves
from perceptrl.train.care import apply_care, check_care_supported, save_reference
from perceptrl.train.checkpoints import load_checkpoint_weights
from perceptrl.train.config import MethodConfig
from perceptrl.train.losses import papo_loss, seq_token_mean, vppo_advantage_scale, vppo_token_dependency, vppo_token_mask
from perceptrl.train.masking import mask_pixel_values
from perceptrl.train.mixture import Mixture, log_source_metrics, sampler_for
from perceptrl.train.noise import add_ddpm_noise, annealed_noise_step, noisy_rollout_flags
from perceptrl.train.rows import RowStore
from perceptrl.train.sampler import EpochRepeatSampler
from perceptrl.train.vogue import add_sequence_bonus, vogue_bonus, vogue_token_uncertainty

logger = logging.getLogger(__name__)

_MM_KEYS = (
    "image_grid_thw", "num_images", "pixel_attention_mask", "spatial_shapes", "num_tiles", "image_sizes",
    "token_type_ids", "mm_token_type_ids", "image_position_ids",
)


class PerceptrlGRPOTrainer(GRPOTrainer):
    """GRPO with perception-aware methods. Extra keyword arguments:

    Args:
        method: which methods and their coefficients (:class:`MethodConfig`); default plain GRPO.
        rows: a :class:`RowStore` when the dataset holds ``row_id`` only (what ``perceptrl.train.train`` builds).
        mixture: a :class:`Mixture` whose rows are ``rows`` in source order (needs ``rows``).
    """

    def __init__(self, *args: Any, method: MethodConfig | None = None, rows: RowStore | None = None,
                 mixture: Mixture | None = None, **kwargs: Any):
        self.method = method or MethodConfig()
        self.rows = rows
        self.mixture = mixture
        self._sources = mixture.source_of() if mixture is not None else None
        self._capture_logps = False
        self._captured_logps: torch.Tensor | None = None
        self._second_pixels: torch.Tensor | None = None  # masked image to batch with the next captured pass
        self._captured_second: torch.Tensor | None = None
        self._noisy_flags: list[bool] | None = None
        self._noised_images: list | None = None  # VOGUE: the images each rollout was sampled from
        self._captured_entropies: torch.Tensor | None = None
        self._care_ref: torch.nn.Module | None = None  # GRPO-CARE's EMA reference, built at the first step
        self._care_ref_step = 0
        self._care_resume: str | None = None  # checkpoint folder to restore the EMA reference from
        self._rewards_per_func: torch.Tensor | None = None
        self._rng_calls = 0
        super().__init__(*args, **kwargs)
        parts = self.method.parts
        self._papo = "papo" in parts
        self._vppo = "vppo" in parts
        self._vogue = "vogue" in parts
        self._noisy = "noisy_rollout" in parts or self._vogue  # VOGUE's noisy branch is NoisyRollout's
        self._care = "grpo_care" in parts
        if self._care:
            check_care_supported(self)
        # PAPO's masked-image entropy term needs gradient through the masked pass; it then runs in the loss.
        self._papo_masked_grad = self._papo and self.method.papo_eta_m != 0.0
        self._shared_masked_pass = self._vppo or (self._papo and not self._papo_masked_grad)
        # MoE aux losses would average over both halves of a doubled batch: keep two passes there
        self._batched = self.method.batched_forward and not getattr(self, "aux_loss_enabled", False)

    # ------------------------------------------------------------------ helpers
    def _step_seed(self, salt: int = 0) -> int:
        return (self.args.seed * 1_000_003 + self.state.global_step * 9_973 + self.accelerator.process_index * 131
                + salt * 7_919) % (2**63 - 1)

    def _generator(self) -> torch.Generator:
        """A CPU generator seeded by (seed, step, rank, call): reproducible across resume, distinct per rank."""
        self._rng_calls += 1
        return torch.Generator().manual_seed(self._step_seed(self._rng_calls))

    def _metric(self, name: str, value: float | torch.Tensor) -> None:
        """Record a metric averaged over processes (every rank must call it)."""
        mode = "train" if self.model.training else "eval"
        t = torch.as_tensor(value, dtype=torch.float32, device=self.accelerator.device).reshape(1)
        self._metrics[mode][name].append(self.accelerator.gather(t).mean().item())

    def _forward_logps(self, batch: dict[str, Any], pixel_values: torch.Tensor, *, model=None,
                       grad: bool = False, second: torch.Tensor | None = None):
        """Per-token log-probs of the batch's completions with ``pixel_values`` in place of the image.

        With ``second`` (other pixel values of the same shape), one doubled forward returns the pair
        ``(logps with pixel_values, logps with second)``.
        """
        input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
        attention_mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
        kwargs = {k: batch[k] for k in _MM_KEYS if batch.get(k) is not None}
        call = dict(
            model=model if model is not None else self.model,
            input_ids=input_ids,
            attention_mask=attention_mask,
            logits_to_keep=batch["completion_ids"].size(1),
            batch_size=self.args.per_device_train_batch_size,
            pixel_values=pixel_values,
            **kwargs,
        )
        if second is not None:
            call = double_batch(call, second)
        if grad:
            logps, _, _ = super()._get_per_token_logps_and_entropies(**call)
        else:
            with torch.no_grad(), disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):
                logps, _, _ = super()._get_per_token_logps_and_entropies(**call)
        return split_halves(logps) if second is not None else logps

    @staticmethod
    def _split_per_sample(pixel_values: torch.Tensor, batch: dict[str, Any]) -> list[torch.Tensor]:
        """One tensor of pixel rows per sample, so TRL's shuffle/split keep them aligned with the batch."""
        num_images = batch["num_images"]
        if "image_grid_thw" in batch:
            rows = batch["image_grid_thw"].prod(-1).tolist()
            sections, k = [], 0
            for n in num_images:
                sections.append(sum(rows[k:k + n]))
                k += n
            return list(torch.split(pixel_values, sections, dim=0))
        return list(torch.split(pixel_values, num_images, dim=0))

    # ------------------------------------------------------------------ hooks
    def _get_train_sampler(self, dataset=None):
        # TRL's sampler, with an epoch-addressable shuffle: a resumed run sees the same data order
        if self.mixture is not None:
            return sampler_for(self, dataset if dataset is not None else self.train_dataset, self.mixture)
        sampler = super()._get_train_sampler(dataset)
        if type(sampler) is RepeatSampler:
            sampler.__class__ = EpochRepeatSampler
        return sampler

    def _save_checkpoint(self, model, trial):
        if self._care and self.args.should_save:  # before TRL's trainer_state.json, which marks the folder complete
            save_reference(self, os.path.join(self._get_output_dir(trial=trial), f"checkpoint-{self.state.global_step}"))
        return super()._save_checkpoint(model, trial)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        self._care_resume = resume_from_checkpoint
        # transformers 5 restores VLM weights non-strictly under key names that match none of the
        # module's, and only warns: restore them strictly instead (see load_checkpoint_weights).
        # DeepSpeed/FSDP restore their own checkpoint format; PEFT adapters take the stock path.
        if (model is None or model is self.model) and not (self.is_deepspeed_enabled or self.is_fsdp_enabled):
            if load_checkpoint_weights(self.model, resume_from_checkpoint):
                return
        super()._load_from_checkpoint(resume_from_checkpoint, model)

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep, **kwargs: Any):
        call = dict(model=model, input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=logits_to_keep,
                    **kwargs)
        second = None
        if self._capture_logps and self._second_pixels is not None:  # PAPO batched: clean + masked in one pass
            second, self._second_pixels = self._second_pixels, None
            call = double_batch(call, second)
        logps, entropies, aux = super()._get_per_token_logps_and_entropies(**call)
        if second is not None:
            logps, self._captured_second = split_halves(logps)
            entropies = split_halves(entropies)[0]
        if self._capture_logps:  # the first call inside _compute_loss is the policy forward pass
            self._captured_logps, self._captured_entropies = logps, entropies
            self._capture_logps = False
        return logps, entropies, aux

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._rewards_per_func = rewards_per_func if (self._care or self.mixture is not None) else None
        return rewards_per_func

    def _generate(self, prompts: list):
        if not self._noisy_flags or not any(self._noisy_flags):
            return super()._generate(prompts)
        progress = self.state.global_step / max(self.state.max_steps, 1)
        step = annealed_noise_step(self.method.noise_step, progress, schedule=self.method.noise_schedule,
                                   midpoint=self.method.noise_midpoint, sharpness=self.method.noise_sharpness)
        gen = self._generator()
        noisy_prompts = []
        for prompt, noisy in zip(prompts, self._noisy_flags, strict=True):
            if not noisy or step <= 0:
                noisy_prompts.append(prompt)
                continue
            new = [dict(m) for m in prompt]
            for m in new:
                if isinstance(m.get("content"), list):
                    m["content"] = [
                        {**part, "image": add_ddpm_noise(part["image"], step, generator=gen)}
                        if part.get("type") == "image" and part.get("image") is not None else part
                        for part in m["content"]
                    ]
            noisy_prompts.append(new)
        if self._vogue and step > 0:
            self._noised_images = [part["image"] for p in noisy_prompts for m in p if isinstance(m.get("content"), list)
                                   for part in m["content"] if part.get("type") == "image" and part.get("image") is not None]
        self._metric("noisy_rollout/noise_step", float(step))
        self._metric("noisy_rollout/noisy_share", sum(self._noisy_flags) / len(self._noisy_flags))
        result = list(super()._generate(noisy_prompts))
        # images=None makes TRL rebuild the forward inputs from the clean dataset images
        result[6] = None
        return tuple(result)

    def _generate_and_score_completions(self, inputs):
        if self.rows is not None:
            inputs = self.rows.expand_batch(inputs)
        training = self.model.training
        if training:
            # Reseed the sampler from (seed, step, rank): the rollouts of step k do not depend on how the
            # process got there, so a run resumed from a checkpoint samples exactly what the uninterrupted
            # run sampled (the global RNG is otherwise also consumed by dataloader set-up and skipping).
            self._rng_calls = 0
            torch.manual_seed(self._step_seed())
        if self._noisy and training:
            self._noisy_flags = noisy_rollout_flags(len(inputs), self.accelerator.process_index,
                                                    self.num_generations, self.method.noise_share)
        flags = self._noisy_flags
        try:
            out = super()._generate_and_score_completions(inputs)
        finally:
            self._noisy_flags = None
            noised, self._noised_images = self._noised_images, None
        rewards_per_func, self._rewards_per_func = self._rewards_per_func, None
        if self.mixture is not None and training and rewards_per_func is not None:
            log_source_metrics(self, inputs, out, rewards_per_func, self._sources, self.mixture)
        if self._care and training:
            apply_care(self, out, rewards_per_func)
        if self._vogue and training and out.get("pixel_values") is not None:
            self._apply_vogue(out, flags, noised)
        if not (self._papo or self._vppo) or out.get("pixel_values") is None:
            return out

        masked, share = mask_pixel_values(
            out["pixel_values"], self.method.effective_mask_prob(),
            image_processor=getattr(self.processing_class, "image_processor", None),
            patch=self.method.mask_patch, generator=self._generator(),
        )
        self._metric("perception/masked_patch_share", share)
        if self._papo_masked_grad:
            out["masked_pixel_values"] = self._split_per_sample(masked, out)
        if self._shared_masked_pass:
            logp_old = None
            if self._vppo and out.get("old_per_token_logps") is None and self._batched:
                # on-policy VPPO needs the clean log-probs too: both images in one doubled pass
                logp_old, logp_mask = self._forward_logps(out, out["pixel_values"], second=masked)
            else:
                logp_mask = self._forward_logps(out, masked)
            out["mask_per_token_logps"] = logp_mask
            if self._vppo:
                self._apply_vppo(out, logp_mask, logp_old)
        return out

    def _apply_vppo(self, out: dict[str, Any], logp_mask: torch.Tensor, logp_old: torch.Tensor | None = None) -> None:
        mask = out["completion_mask"]
        if out.get("tool_mask") is not None:
            mask = mask * out["tool_mask"]
        if logp_old is None:
            logp_old = out.get("old_per_token_logps")
        if logp_old is None:  # on-policy: TRL reuses the current log-probs as "old"; compute them once here
            logp_old = self._forward_logps(out, out["pixel_values"])
        m = self.method
        s = vppo_token_dependency(logp_mask, logp_old, m.vppo_s_max)
        fmask = mask.to(s.dtype)
        seq_scores = (s * fmask).sum(-1) / fmask.sum(-1).clamp(min=1.0)
        # min-max normalisation over the whole rollout batch, across processes
        all_scores = self.accelerator.gather(seq_scores)
        factors_all, beta_max = vppo_advantage_scale(all_scores, m.vppo_beta_min)
        n = seq_scores.size(0)
        factors = factors_all[self.accelerator.process_index * n:(self.accelerator.process_index + 1) * n]
        tokens = vppo_token_mask(s, mask, m.vppo_k)
        adv = out["advantages"]
        out["advantages"] = adv[:, None] * factors[:, None].to(adv.dtype) * tokens.to(adv.dtype)
        self._metric("vppo/dependency_mean", (s * fmask).sum() / fmask.sum().clamp(min=1.0))
        self._metric("vppo/token_share", tokens.sum() / mask.sum().clamp(min=1))
        self._metric("vppo/factor_min", factors_all.min())
        self._metric("vppo/factor_max", factors_all.max())
        self._metric("vppo/beta_max", beta_max)

    def _apply_vogue(self, out: dict[str, Any], flags: list[bool] | None, noised: list | None) -> None:
        """Add VOGUE's visual-uncertainty bonus to the noisy-branch rollouts' advantages (see :mod:`.vogue`)."""
        mask = out["completion_mask"]
        noisy = torch.tensor(flags or [False] * mask.size(0), device=mask.device)
        if noised is None:  # noise annealed to step 0 (or no noisy rollout): both branches see the same image
            u = torch.zeros(mask.shape, device=mask.device)
        else:
            proc = getattr(self.processing_class, "image_processor", self.processing_class)
            pv = out["pixel_values"]
            noisy_pv = proc(images=noised, return_tensors="pt")["pixel_values"].to(pv.device, pv.dtype)
            if self._batched:
                logp_raw, logp_noisy = self._forward_logps(out, pv, second=noisy_pv)
            else:
                logp_raw, logp_noisy = self._forward_logps(out, pv), self._forward_logps(out, noisy_pv)
            u = vogue_token_uncertainty(logp_noisy, logp_raw, self.method.vogue_u_max)
        m = self.method
        bonus, seq_u = vogue_bonus(u, mask, noisy, alpha=m.vogue_alpha, bonus_max=m.vogue_bonus_max)
        out["advantages"] = add_sequence_bonus(out["advantages"], bonus)
        n_noisy = noisy.sum().clamp(min=1)
        self._metric("vogue/uncertainty_noisy", (seq_u * noisy).sum() / n_noisy)
        self._metric("vogue/bonus_mean", bonus.sum() / n_noisy)
        self._metric("vogue/bonus_max", bonus.max())

    def _compute_loss(self, model, inputs):
        papo = self._papo and (inputs.get("mask_per_token_logps") is not None
                               or inputs.get("masked_pixel_values") is not None)
        entropy_bonus = self._vogue and self.method.vogue_entropy_coef != 0.0
        self._capture_logps = papo or entropy_bonus
        batched = papo and self._papo_masked_grad and self._batched
        if batched:
            self._second_pixels = torch.cat(list(inputs["masked_pixel_values"]), dim=0)
        try:
            loss = super()._compute_loss(model, inputs)
        finally:
            self._capture_logps = False
            self._second_pixels = None
        logp, self._captured_logps = self._captured_logps, None
        entropies, self._captured_entropies = self._captured_entropies, None
        mask = inputs["completion_mask"]
        if inputs.get("tool_mask") is not None:
            mask = mask * inputs["tool_mask"]
        mode = "train" if self.model.training else "eval"
        normalizer = self.current_gradient_accumulation_steps if mode == "train" else 1.0
        if entropy_bonus:  # VOGUE's token-entropy bonus: -coef * H (TRL's full-distribution entropies)
            ent = seq_token_mean(entropies, mask)
            self._metric("vogue/entropy", ent.detach())
            loss = loss - self.method.vogue_entropy_coef * ent / normalizer
        if not papo:
            return loss
        if batched:
            logp_mask, self._captured_second = self._captured_second, None
        elif self._papo_masked_grad:
            masked = torch.cat(list(inputs["masked_pixel_values"]), dim=0)
            # the unwrapped module: a second forward through DDP before one backward is not allowed;
            # the gradients still land on the same parameters and are reduced by DDP's backward hooks.
            logp_mask = self._forward_logps(inputs, masked, model=self.accelerator.unwrap_model(model), grad=True)
        else:
            logp_mask = inputs["mask_per_token_logps"]
        m = self.method
        extra, stats = papo_loss(logp, logp_mask, mask, gamma=m.papo_gamma, eta_o=m.papo_eta_o, eta_m=m.papo_eta_m)
        for k, v in stats.items():
            self._metric(f"papo/{k}", v)
        return loss + extra / normalizer
