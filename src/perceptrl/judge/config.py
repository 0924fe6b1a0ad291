"""Configuration of the perception judge (the ``judge:`` section of a training config)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from perceptrl.errors import PerceptrlError

BACKENDS = ("rules", "openai", "transformers")
FAILURE_POLICIES = ("neutral", "zero")


def check_failure_policy(policy: object, where: str = "judge.failure_policy") -> str:
    """``policy`` if valid; a :class:`PerceptrlError` naming the fix otherwise (``skip`` included)."""
    if policy == "skip":
        raise PerceptrlError(
            "failure_policy 'skip' was removed: it left the perception term out of a failed sample and "
            "renormalised the other weights, so breaking the judge paid a correct answer the maximum reward",
            where=where, fix="use 'neutral' (default: the pessimistic group mean, see JudgeConfig) or 'zero'")
    if policy not in FAILURE_POLICIES:
        raise PerceptrlError(f"unknown failure_policy {policy!r}", where=where, fix="use 'neutral' or 'zero'")
    return str(policy)


@dataclass
class JudgeConfig:
    """How the perception reward ``r_v`` is judged (Perception-R1, arXiv 2506.07218, §stage 2).

    Defaults follow the reference recipe where it has one (temperature 0, the whole response shown
    to a text-only judge) and are otherwise chosen for robustness; each is documented here.
    """

    #: ``rules`` (deterministic, for ``LHS = RHS`` facts: the synthetic world), ``openai`` (any
    #: OpenAI-compatible server; the reference serves Qwen2.5-32B-Instruct with vLLM),
    #: ``transformers`` (a local causal LM), or ``"pkg.module:function"`` / ``"file.py:function"``
    #: naming a callable ``fn(messages) -> str`` (sync or async) used as the judge model.
    backend: str = "rules"
    #: Server root for ``openai``, e.g. ``http://127.0.0.1:8000/v1``.
    base_url: str | None = None
    #: Model name (``openai``) or local path / hub id (``transformers``). Reference: Qwen2.5-32B-Instruct.
    model: str | None = None
    #: API key for ``openai``; ``None`` reads ``$OPENAI_API_KEY`` (local servers accept anything).
    api_key: str | None = None
    #: Requests in flight at once (``openai``). 32 keeps a vLLM judge's batch full without
    #: overloading it (perceptrl default; the reference sends requests from a thread pool).
    max_concurrency: int = 32
    #: Seconds per request attempt, in all (connect, wait, read and parse the reply): a server that
    #: drips bytes cannot stretch an attempt past it.
    timeout: float = 60.0
    #: Retries after the first attempt, on transient errors (connection, timeout, 429, 5xx).
    max_retries: int = 3
    #: First retry delay in seconds, doubled per retry with jitter.
    backoff: float = 0.5
    #: What r_v is for a sample whose judge request *failed* — transport error or timeout after the
    #: retries, a reply that is not a chat completion, the reward runner's batch deadline — i.e. no
    #: judge answer arrived, which is not the sample's fault. (An answer that arrived but holds no
    #: usable verdict — unparseable, conflicting, a refusal, empty — is a judgement: missing and
    #: conflicting verdicts count 0. A request the server rejects (4xx) is too: the response is the
    #: only thing that varies between requests.) The reference crashes instead (bug 3).
    #:
    #: * ``neutral`` (default): the *pessimistic group mean* — the mean r_v of the sample's GRPO group
    #:   (same prompt) with every failed sample counted as 0. It is never above the group's mean
    #:   after filling (so failing gives the sample no advantage from this term) and strictly below
    #:   1 (a perfect judgement) whenever a sample failed; a group where every sample failed gets 0
    #:   everywhere (no advantage at all). A sample alone in its group gets 0.
    #: * ``zero``: 0.
    #:
    #: Never ``None``: a judge failure must not make the hybrid renormalise the other terms (which
    #: paid a correct answer with a broken judge exactly what perfect perception pays). ``skip``
    #: (which did that) is rejected with this explanation.
    failure_policy: str = "neutral"
    #: sqlite file caching verdicts across steps, runs and processes; ``None`` disables it.
    cache_path: str | None = "~/.cache/perceptrl/judge.sqlite"
    #: A YAML (``system``/``query``) or text file replacing the default judge prompt.
    template_path: str | None = None
    #: Neutralise verdict tags, role markers, fences and judge-directed sentences in the response
    #: before judging (bug 5). Turn off only to reproduce the reference.
    harden: bool = True
    #: Constrained decoding of the judge's answer (:mod:`perceptrl.judge.constrained`): ``off``
    #: (free text, ``<infoK>`` lines), ``json_schema`` (a per-request JSON schema of exactly m
    #: verdicts, ``response_format``), ``json_reasoning`` (the same led by a bounded ``reasoning``
    #: string; not on ``transformers``) or ``grammar`` (a llama.cpp GBNF grammar of m tag lines).
    constrained: str = "off"
    #: Sampling temperature of the judge: 0, as in the reference.
    temperature: float = 0.0
    #: Token budget of the judge's answer: 512 as in the reference; ~8 tokens per verdict line, and a
    #: reasoning judge needs room for its ``<think>`` block before the verdicts.
    max_tokens: int = 512
    #: r_v for a problem without annotations: 0.0 as in docs/methods.md §1; ``None`` makes the term
    #: not applicable to such rows.
    empty_score: float | None = 0.0
    #: Generation batch size of the ``transformers`` backend.
    batch_size: int = 8
    #: Extra keyword arguments for the request (``openai``) or ``generate`` (``transformers``).
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.backend not in BACKENDS and ":" not in self.backend:
            raise PerceptrlError(f"unknown judge backend {self.backend!r}", where="judge.backend",
                                 fix=f"use one of {', '.join(BACKENDS)} or 'module:function'")
        check_failure_policy(self.failure_policy)
        from perceptrl.judge.constrained import MODES

        if self.constrained not in MODES or (self.backend == "transformers" and self.constrained == "json_reasoning"):
            raise PerceptrlError(f"judge.constrained {self.constrained!r} is not available for backend {self.backend!r}",
                                 where="judge.constrained",
                                 fix=f"use one of {', '.join(MODES)} (json_reasoning needs an openai-compatible server)")
        if self.backend == "openai" and (not self.base_url or not self.model):
            raise PerceptrlError("the openai judge backend needs base_url and model", where="judge.base_url / judge.model",
                                 fix="e.g. judge.base_url=http://127.0.0.1:8000/v1 judge.model=Qwen2.5-32B-Instruct")
        if self.backend == "transformers" and not self.model:
            raise PerceptrlError("the transformers judge backend needs model", where="judge.model",
                                 fix="set judge.model to a local path or hub id of a causal LM")
        if self.max_concurrency < 1 or self.max_retries < 0 or self.timeout <= 0:
            raise PerceptrlError("judge.max_concurrency >= 1, max_retries >= 0 and timeout > 0 are required",
                                 where="judge", fix="fix the values")

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "JudgeConfig":
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise PerceptrlError(f"unknown judge option(s): {', '.join(unknown)}", where="judge",
                                 fix=f"valid options: {', '.join(sorted(known))}")
        return cls(**d)
