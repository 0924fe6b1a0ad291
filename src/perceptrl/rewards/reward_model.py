"""A scalar reward model as a hybrid term: ``reward_model`` (HARMO arXiv 2510.05283; HERO arXiv 2510.07242).

Any ``AutoModelForSequenceClassification`` (hub id or local path) scores each (prompt, response)
pair; the term sits in the hybrid next to the rule rewards::

    terms:
      - {name: accuracy, weight: 1.0}
      - {name: reward_model, weight: 1.0, params: {model: Skywork/Skywork-Reward-V2-Qwen3-0.6B,
                                                   device: "cuda:1", stratify: accuracy}}

It is a **group** reward (``fn(completions, rows, components)``, run by the
:class:`~perceptrl.rewards.runner.RewardRunner` after the other terms), because HERO's stratified
normalisation needs the verifier's verdicts and the other rollouts of the same prompt. Per batch:

1. **score.** The model is loaded on first use (not at config time, so ``perceptrl train``'s
   config check and the reward worker fork stay cheap), on its own ``device``, in eval mode, under
   ``torch.no_grad``. Identical (prompt, response) pairs are scored once; pairs are sorted by length
   and scored ``batch_size`` at a time. The logit is ``logits[0]`` for a one-label head, and
   ``logits[1] − logits[0]`` (the log-odds of "good") for a two-label head.
   **Truncation keeps the response**: prompt and response are tokenised separately; the response
   keeps up to the model's length budget (its *last* tokens when longer, where the final answer
   is), the prompt gets what is left (its last tokens: the question ends it). A response longer
   than :func:`perceptrl.rewards.limits.max_response_chars` is not tokenised at all and gets the
   term's floor (below), so a 200 KB response costs nothing.
2. **transform** (``transform``): ``sigmoid`` (default) maps the logit into (0, 1); ``raw`` keeps it.
3. **confidence gate** (``confidence``, c ∈ [0, 0.5)): the score counts only when
   ``|sigmoid(logit) − 0.5| ≥ c``; otherwise the sample gets the term's **floor**, never ``None``.
   ``None`` would let the hybrid renormalise the other terms for that sample (an unsure RM would
   then *raise* a response's total) and would vary between the rollouts of one prompt. The floor
   is ≤ every score the term can give that sample: 0 for ``sigmoid`` (scores are > 0); for ``raw``
   the lowest present score of the sample's group (0 when nothing in the group is present: a
   constant, so no advantage). So a missing signal never pays more than a present one.
4. **stratified normalisation** (``stratify``: the name of the verifier term, e.g. ``accuracy``;
   HERO §3): within each GRPO group (the prompt) and verifier outcome, the present scores are
   min-max normalised — ``(s − min)/(max − min + ε)`` — and mapped to ``[−α, α]`` for rollouts the
   verifier marked wrong and ``[1 − β, 1 + β]`` for those it marked right (HERO's formula). A gated
   or over-cap sample gets the bottom of its range. With ``α + β < 1`` (checked) the ranges are
   disjoint: the RM orders responses *within* a verdict and can never flip one. A row the verifier
   cannot judge (its component is ``None``: no gold answer) is normalised within its group into
   ``[0, 1]`` (ours). ``ε = 1e-6``; α = β = 0.1 are our defaults (HERO leaves them as parameters in
   (0, 1]; the ranges only separate when α + β < 1).

Without ``stratify`` a term weight large against the accuracy weight can let the RM outrank a
correct answer with a wrong one; with it, it cannot (the ranges are disjoint whatever the weight ≥ 0).

Not built: HERO's variance-aware weighting of prompts (it reweights the loss per prompt, which a
reward term cannot do) and HARMO's embedding-based surrogate RM.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from perceptrl.errors import PerceptrlError
from perceptrl.rewards.base import completion_text
from perceptrl.rewards.length import group_key
from perceptrl.rewards.limits import max_response_chars, over_cap
from perceptrl.rewards.registry import register_reward

logger = logging.getLogger(__name__)

__all__ = ["RewardModelScorer", "make_reward_model", "stratified_normalize", "confidence_mask", "TRANSFORMS"]

TRANSFORMS = ("sigmoid", "raw")
EPS = 1e-6
_PROMPT_KEYS = ("problem", "prompt", "question")


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def confidence_mask(logits: Sequence[float | None], confidence: float) -> list[bool]:
    """Which logits pass the gate ``|sigmoid(logit) − 0.5| ≥ confidence`` (``None`` never does)."""
    return [x is not None and abs(_sigmoid(x) - 0.5) >= confidence for x in logits]


def stratified_normalize(scores: Sequence[float | None], verdicts: Sequence[float | None],
                         groups: Sequence[Hashable], *, alpha: float = 0.1, beta: float = 0.1,
                         threshold: float = 1.0) -> list[float]:
    """HERO's stratified normalisation (see the module docstring).

    ``scores[i]``: the RM score of sample i (``None``: gated or over the cap: the bottom of its
    range); ``verdicts[i]``: the verifier's component (``>= threshold`` is right; ``None``: not
    judged, normalised into [0, 1]); ``groups[i]``: its GRPO group.
    """
    ranges = {True: (1.0 - beta, 1.0 + beta), False: (-alpha, alpha), None: (0.0, 1.0)}
    strata: dict[tuple, list[int]] = {}
    for i, (v, g) in enumerate(zip(verdicts, groups)):
        outcome = None if v is None else v >= threshold
        strata.setdefault((g, outcome), []).append(i)
    out = [0.0] * len(scores)
    for (_, outcome), idx in strata.items():
        lo, hi = ranges[outcome]
        present = [scores[i] for i in idx if scores[i] is not None]
        s_min, s_max = (min(present), max(present)) if present else (0.0, 0.0)
        for i in idx:
            s = scores[i]
            out[i] = lo if s is None else lo + (hi - lo) * (s - s_min) / (s_max - s_min + EPS)
    return out


def row_prompt(row: Mapping) -> str:
    """The text prompt the reward model sees for a dataset row (image placeholders dropped)."""
    for k in _PROMPT_KEYS:
        v = row.get(k)
        if isinstance(v, str) and v:
            return v.replace("<image>", "").strip()
        if isinstance(v, list):  # a conversational prompt
            return completion_text(v).replace("<image>", "").strip()
    return ""


class RewardModelScorer:
    """Loads a sequence-classification reward model lazily and returns one logit per pair."""

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = 8, max_length: int | None = None,
                 dtype: str = "auto", trust_remote_code: bool = False, chat_template: bool | None = None):
        from perceptrl.models.loading import _load_config  # the one hub-id / path check, with its fixes

        self.model_name = str(model)
        self.config = _load_config(self.model_name, trust_remote_code)  # cheap: fails early and offline-friendly
        num_labels = int(getattr(self.config, "num_labels", 1) or 1)
        if num_labels not in (1, 2):
            raise PerceptrlError(f"reward model {self.model_name!r} has {num_labels} labels", where="reward_model.model",
                                 fix="use a reward model with a 1-label (score) or 2-label (bad/good) head")
        self.num_labels = num_labels
        self.device = device or "cpu"
        if batch_size < 1:
            raise PerceptrlError("reward_model batch_size must be >= 1", where="reward_model.batch_size", fix="set it to 1 or more")
        self.batch_size = int(batch_size)
        self.max_length = max_length
        self.dtype = dtype
        self.trust_remote_code = trust_remote_code
        self.chat_template = chat_template
        self._model = None
        self._tok = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            dtype = self.dtype if self.dtype == "auto" else getattr(torch, str(self.dtype), None)
            if dtype is None:
                raise PerceptrlError(f"unknown dtype {self.dtype!r}", where="reward_model.dtype",
                                     fix="use auto, float32, bfloat16 or float16")
            try:
                tok = AutoTokenizer.from_pretrained(self.model_name, trust_remote_code=self.trust_remote_code)
                model = AutoModelForSequenceClassification.from_pretrained(
                    self.model_name, dtype=dtype, trust_remote_code=self.trust_remote_code)
            except OSError as e:
                raise PerceptrlError(f"cannot load reward model {self.model_name!r}: {str(e).splitlines()[0]}",
                                     where="reward_model.model",
                                     fix="point model at a saved AutoModelForSequenceClassification directory (with "
                                         "its tokenizer), or download the hub id first (`hf download ID`)") from e
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
            if model.config.pad_token_id is None:
                model.config.pad_token_id = tok.pad_token_id
            tok.padding_side = "right"
            try:
                model.to(self.device)
            except (RuntimeError, AssertionError) as e:
                raise PerceptrlError(f"cannot put the reward model on device {self.device!r}: {e}",
                                     where="reward_model.device", fix="use cpu, or a device this machine has") from e
            model.eval()
            limit = self.max_length or min(int(getattr(tok, "model_max_length", 0) or 0) or 10**9,
                                           int(getattr(model.config, "max_position_embeddings", 0) or 0) or 10**9)
            self.max_length = int(min(limit, 32768))
            if self.chat_template is None:
                self.chat_template = bool(getattr(tok, "chat_template", None))
            self._tok, self._model = tok, model

    @property
    def model(self):
        """The loaded sequence-classification model (loaded on first use); callers may train it in place."""
        self._load()
        return self._model

    # -- encoding ---------------------------------------------------------------------------------
    def _render(self, prompt: str, response: str) -> str:
        if self.chat_template:
            msgs = ([{"role": "user", "content": prompt}] if prompt else []) + [{"role": "assistant", "content": response}]
            return self._tok.apply_chat_template(msgs, tokenize=False)
        return f"{prompt}\n\n{response}" if prompt else response

    def encode(self, prompt: str, response: str) -> list[int]:
        """Token ids of the pair within ``max_length``, the response kept (module docstring)."""
        self._load()
        tok = self._tok
        cap = max_response_chars()
        prompt = prompt[-cap:]  # a prompt is data, not adversarial, but never tokenise more than the cap
        # the template's own tokens, with a one-character prompt and response in place
        overhead = len(tok(self._render("x", "x"), add_special_tokens=not self.chat_template)["input_ids"])
        budget = max(1, self.max_length - overhead)
        r_ids = tok(response, add_special_tokens=False)["input_ids"]
        if len(r_ids) > budget:
            response, r_ids = tok.decode(r_ids[-budget:]), r_ids[-budget:]
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"] if prompt else []
        room = budget - len(r_ids)
        prompt = tok.decode(p_ids[-room:]) if p_ids and room > 0 else ""
        ids = tok(self._render(prompt, response), add_special_tokens=not self.chat_template)["input_ids"]
        return ids[-self.max_length:]  # decode/re-encode can shift a token or two

    def logits(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """One logit per (prompt, response) pair, batched (see the module docstring)."""
        import torch

        self._load()
        encoded = [self.encode(p, r) for p, r in pairs]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        out = [0.0] * len(encoded)
        pad = self._tok.pad_token_id
        for s in range(0, len(order), self.batch_size):
            idx = order[s : s + self.batch_size]
            ids, mask = pad_batch([encoded[i] for i in idx], pad)
            with torch.no_grad():
                logits = self._model(input_ids=ids.to(self._model.device),
                                     attention_mask=mask.to(self._model.device)).logits.float().cpu()
            for row, i in enumerate(idx):
                v = logits[row]
                out[i] = float(v[0]) if self.num_labels == 1 else float(v[1] - v[0])
        return out


def pad_batch(seqs: Sequence[Sequence[int]], pad: int):
    """Right-pad token lists into ``(input_ids, attention_mask)`` long tensors (the scorer's padding side)."""
    import torch

    width = max(len(q) for q in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, q in enumerate(seqs):
        ids[row, : len(q)] = torch.tensor(list(q), dtype=torch.long)
        mask[row, : len(q)] = 1
    return ids, mask


def _check_params(model, transform, confidence, stratify, alpha, beta) -> None:
    if not model:
        raise PerceptrlError("the reward_model term needs params.model", where="rewards term reward_model",
                             fix="add params: {model: <hub id or local path of an AutoModelForSequenceClassification>}")
    if transform not in TRANSFORMS:
        raise PerceptrlError(f"unknown reward_model transform {transform!r}", where="reward_model.transform",
                             fix=f"use one of {', '.join(TRANSFORMS)}")
    if not 0.0 <= float(confidence) < 0.5:
        raise PerceptrlError(f"reward_model confidence {confidence!r} is outside [0, 0.5)", where="reward_model.confidence",
                             fix="|sigmoid(logit) - 0.5| is below 0.5: use e.g. 0.1 (0 turns the gate off)")
    if stratify is not None and not (0 < alpha <= 1 and 0 < beta <= 1 and alpha + beta < 1):
        raise PerceptrlError(f"reward_model alpha={alpha}, beta={beta}: the verifier's ranges [-alpha, alpha] and "
                             f"[1-beta, 1+beta] overlap, so the reward model could flip a verdict",
                             where="reward_model.alpha / beta", fix="use 0 < alpha, beta and alpha + beta < 1 (e.g. 0.1, 0.1)")


def _unique_pairs(completions: Sequence[Any], rows: Sequence[Mapping], counters: dict):
    """``(unique (prompt, response) pairs, each rollout's pair index or None when over the cap)``."""
    keys: dict[tuple[str, str], int] = {}
    uniq: list[tuple[str, str]] = []
    slot: list[int | None] = []
    for c, row in zip(completions, rows):
        t = completion_text(c)
        if over_cap(t):
            slot.append(None)
            counters["over_cap"] += 1
            continue
        pair = (row_prompt(row), t)
        if pair not in keys:
            keys[pair] = len(uniq)
            uniq.append(pair)
        slot.append(keys[pair])
    return uniq, slot


def _group_floor(scores: list, groups: list) -> list[float]:
    """Raw logits: a gated (None) rollout gets its group's lowest score (0 in a group of gated ones)."""
    floor: dict[Hashable, float] = {}
    for s, g in zip(scores, groups):
        if s is not None:
            floor[g] = min(s, floor.get(g, s))
    return [floor.get(g, 0.0) if s is None else s for s, g in zip(scores, groups)]


def make_reward_model(model: str | None = None, *, device: str | None = None, batch_size: int = 8,
                      max_length: int | None = None, dtype: str = "auto", trust_remote_code: bool = False,
                      chat_template: bool | None = None, transform: str = "sigmoid", confidence: float = 0.0,
                      stratify: str | None = None, alpha: float = 0.1, beta: float = 0.1,
                      verifier_threshold: float = 1.0):
    """The ``reward_model`` group reward (parameters: the module docstring)."""
    _check_params(model, transform, confidence, stratify, alpha, beta)
    scorer = RewardModelScorer(model, device=device, batch_size=batch_size, max_length=max_length, dtype=dtype,
                               trust_remote_code=trust_remote_code, chat_template=chat_template)
    counters = {"scored": 0, "gated": 0, "over_cap": 0}

    def reward_model(completions: Sequence[Any], rows: Sequence[Mapping],
                     components: Mapping[str, Sequence[float | None]] | None = None) -> list[float]:
        uniq, slot = _unique_pairs(completions, rows, counters)
        values = scorer.logits(uniq) if uniq else []
        logits = [None if j is None else values[j] for j in slot]
        keep = confidence_mask(logits, confidence) if confidence > 0 else [x is not None for x in logits]
        counters["scored"] += len(uniq)
        counters["gated"] += sum(1 for x, k in zip(logits, keep) if x is not None and not k)
        scores = [(_sigmoid(x) if transform == "sigmoid" else x) if k else None for x, k in zip(logits, keep)]
        groups = [group_key(r) for r in rows]
        if stratify is not None:
            comps = components or {}
            if stratify not in comps:
                raise PerceptrlError(f"reward_model stratifies on {stratify!r}, which is not a term of this hybrid",
                                     where="reward_model.stratify",
                                     fix=f"add the verifier term (e.g. accuracy) or set stratify to one of {sorted(comps)}")
            return stratified_normalize(scores, comps[stratify], groups, alpha=alpha, beta=beta,
                                        threshold=verifier_threshold)
        if transform == "sigmoid":
            return [0.0 if s is None else s for s in scores]
        return _group_floor(scores, groups)

    reward_model.scorer = scorer  # type: ignore[attr-defined]
    reward_model.counters = counters  # type: ignore[attr-defined]
    return reward_model


def _unconfigured(completions, rows, components=None):
    raise PerceptrlError("the reward_model term needs params.model", where="rewards term reward_model",
                         fix="add params: {model: <hub id or local path of an AutoModelForSequenceClassification>}")


register_reward("reward_model", kind="group", factory=make_reward_model)(_unconfigured)
