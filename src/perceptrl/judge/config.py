"""Configuration of the perception judge (the ``judge:`` section of a training config)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from perceptrl.errors import PerceptrlError

BACKENDS = ("rules", "openai", "transformers")


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
    #: Seconds per request attempt.
    timeout: float = 60.0
    #: Retries after the first attempt, on transient errors (connection, timeout, 429, 5xx).
    max_retries: int = 3
    #: First retry delay in seconds, doubled per retry with jitter.
    backoff: float = 0.5
    #: After retries: ``skip`` excludes the perception term of that sample (``None`` reward; the
    #: other terms still count) or ``zero`` scores it 0. The reference crashes instead (bug 3).
    failure_policy: str = "skip"
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
    #: Token budget of the judge's answer: ~8 tokens per verdict line, so 256 covers 30 items.
    max_tokens: int = 256
    #: r_v for a problem without annotations: 0.0 as in METHODS.md §1; ``None`` makes the term
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
        if self.failure_policy not in ("skip", "zero"):
            raise PerceptrlError(f"unknown failure_policy {self.failure_policy!r}", where="judge.failure_policy",
                                 fix="use 'skip' or 'zero'")
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
