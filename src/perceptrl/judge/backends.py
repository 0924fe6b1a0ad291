"""Judge backends: turn (annotations, response) pairs into per-annotation verdicts.

* :class:`RulesJudge` — deterministic matching (:mod:`perceptrl.judge.rules`).
* :class:`LLMJudge` — any text generator behind the judge prompt: sanitise the response, build the
  messages (:mod:`perceptrl.judge.prompt`), generate, parse (:mod:`perceptrl.judge.parse`).
  Generators: :func:`openai_generator` (a :class:`~perceptrl.judge.client.ChatClient`),
  :class:`TransformersGenerator` (a local causal LM, batched), :func:`callable_generator` (any
  ``fn(messages) -> str``, sync or async — e.g. a custom or test judge).

A generator is ``async fn(batch: list[messages], formats=None) -> list[str | Exception]``: one
answer or one error per request, never raising for a single failed request. ``formats`` (given
only when ``JudgeConfig.constrained`` is not ``off``) holds one
:class:`~perceptrl.judge.constrained.AnswerFormat` per request — the number of verdicts m differs
per request, so the JSON schema / grammar / token skeleton is built per request: the ``openai``
generator sends it as that request's ``response_format`` or ``extra_body.grammar``, the
``transformers`` generator forces it token by token, a judge function receives it as
``answer_format=`` if its signature has that parameter.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from perceptrl.errors import PerceptrlError
from perceptrl.judge.client import ChatClient
from perceptrl.judge.config import JudgeConfig
from perceptrl.judge.constrained import MODES, AnswerFormat, merge_params
from perceptrl.judge.parse import parse_verdicts
from perceptrl.judge.prompt import JudgeTemplate
from perceptrl.judge.rules import judge_rules
from perceptrl.judge.sanitize import sanitize

log = logging.getLogger(__name__)

Messages = list[dict]
Generator = Callable[[Sequence[Messages]], Awaitable[list["str | Exception"]]]


@dataclass
class JudgeOutcome:
    """The judgement of one response. ``verdicts is None`` means the judge failed."""

    verdicts: list[int] | None
    missing: int = 0
    conflicting: int = 0
    neutralised: list[str] = field(default_factory=list)  # kinds of neutralised spans in the response
    error: str | None = None
    answer: str | None = None  # the judge's raw answer (LLM backends)

    @property
    def ok(self) -> bool:
        return self.verdicts is not None

    def to_json(self) -> dict[str, Any]:
        return {"verdicts": self.verdicts, "missing": self.missing, "conflicting": self.conflicting,
                "neutralised": self.neutralised, "error": self.error, "answer": self.answer}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "JudgeOutcome":
        return cls(**d)


class Judge(Protocol):
    #: identifies the judge in the cache key (model name for LLMs)
    model_id: str
    #: identifies prompt + parsing rules in the cache key
    version: str

    async def ajudge(self, pairs: Sequence[tuple[list[str], str]]) -> list[JudgeOutcome]: ...


class RulesJudge:
    """Deterministic verdicts; never fails."""

    model_id = "rules"
    version = "rules-1"

    async def ajudge(self, pairs: Sequence[tuple[list[str], str]]) -> list[JudgeOutcome]:
        return [JudgeOutcome(judge_rules(list(a), r)) for a, r in pairs]


class LLMJudge:
    """An LLM behind the judge prompt.

    ``harden`` sanitises the response and shows it as a JSON string literal (see
    :mod:`perceptrl.judge.prompt`); ``constrained`` (``off``, ``json_schema``, ``json_reasoning``,
    ``grammar``) picks the answer format the prompt asks for and the per-request decoding
    constraint passed to the generator.
    """

    def __init__(self, generate: Generator, *, model_id: str, template: JudgeTemplate | None = None,
                 harden: bool = True, constrained: str = "off"):
        if constrained not in MODES:
            raise PerceptrlError(f"unknown constrained mode {constrained!r}", where="judge.constrained",
                                 fix=f"use one of {', '.join(MODES)}")
        self.generate = generate
        self.model_id = model_id
        self.template = template or JudgeTemplate()
        self.harden = harden
        self.constrained = constrained
        self.version = (self.template.version + ("" if harden else "-raw")
                        + ("" if constrained == "off" else f"-{constrained}"))

    def prepare(self, annotations: Sequence[str], response: str) -> tuple[Messages, list[str]]:
        """The messages for one pair and the kinds of spans neutralised in the response."""
        findings: list[str] = []
        if self.harden:
            annotations = [sanitize(a, instructions=False).text for a in annotations]
            s = sanitize(response)
            response, findings = s.text, s.findings
        kind = AnswerFormat(self.constrained, len(annotations)).kind
        return self.template.messages(list(annotations), response, kind=kind, encode=self.harden), findings

    async def ajudge(self, pairs: Sequence[tuple[list[str], str]]) -> list[JudgeOutcome]:
        prepared = [self.prepare(a, r) for a, r in pairs]
        if self.constrained == "off":
            answers = await self.generate([p[0] for p in prepared])
        else:
            formats = [AnswerFormat(self.constrained, len(a)) for a, _ in pairs]
            answers = await self.generate([p[0] for p in prepared], formats=formats)
        out = []
        for (annotations, _), (_, findings), ans in zip(pairs, prepared, answers):
            if isinstance(ans, BaseException):
                out.append(JudgeOutcome(None, neutralised=findings, error=f"{type(ans).__name__}: {ans}"))
                continue
            v = parse_verdicts(ans, len(annotations))
            if v.m and v.parsed == 0:
                out.append(JudgeOutcome(None, neutralised=findings, error="unparseable judge answer", answer=ans))
                continue
            out.append(JudgeOutcome(v.verdicts, len(v.missing), len(v.conflicting), findings, None, ans))
        return out


# -- generators -----------------------------------------------------------------------------
def openai_generator(client: ChatClient, **params: Any) -> Generator:
    """Requests through ``client``; a request's :class:`AnswerFormat` adds its ``response_format``
    (JSON schema) or ``extra_body.grammar`` to ``params``."""

    async def generate(batch: Sequence[Messages], formats: Sequence[AnswerFormat] | None = None
                       ) -> list[str | Exception]:
        if not formats:
            return await client.complete_many(batch, **params)

        async def one(msgs: Messages, fmt: AnswerFormat) -> str | Exception:
            return (await client.complete_many([msgs], **merge_params(params, fmt.openai_params())))[0]

        return list(await asyncio.gather(*(one(m, f) for m, f in zip(batch, formats))))

    return generate


def _accepts(fn: Callable, name: str) -> bool:
    try:
        ps = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in ps)


def callable_generator(fn: Callable[..., Any]) -> Generator:
    """Wrap ``fn(messages) -> str`` (sync or async); an exception becomes that request's failure.
    If ``fn`` has an ``answer_format`` parameter it receives the request's :class:`AnswerFormat`
    (``None`` when unconstrained)."""
    with_format = _accepts(fn, "answer_format")

    async def one(msgs: Messages, fmt: AnswerFormat | None) -> str | Exception:
        try:
            res = fn(msgs, answer_format=fmt) if with_format else fn(msgs)
            if inspect.isawaitable(res):
                res = await res
            if not isinstance(res, str):
                raise TypeError(f"judge function returned {type(res).__name__}, not str")
            return res
        except Exception as e:  # a user judge must not crash training
            return e

    async def generate(batch: Sequence[Messages], formats: Sequence[AnswerFormat] | None = None
                       ) -> list[str | Exception]:
        fmts = list(formats) if formats else [None] * len(batch)
        return list(await asyncio.gather(*(one(m, f) for m, f in zip(batch, fmts))))

    return generate


def load_callable(spec: str) -> Callable:
    """``"pkg.module:function"`` or ``"path/to/file.py:function"`` → the function."""
    target, _, name = spec.rpartition(":")
    if not target or not name:
        raise PerceptrlError(f"bad judge function spec {spec!r}", where="judge.backend",
                             fix="write 'pkg.module:function' or 'file.py:function'")
    try:
        if target.endswith(".py"):
            path = Path(target)
            mod_spec = importlib.util.spec_from_file_location(path.stem, path)
            if mod_spec is None or not path.is_file():
                raise FileNotFoundError(target)
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            module = importlib.import_module(target)
        fn = getattr(module, name)
    except (ImportError, FileNotFoundError, AttributeError) as e:
        raise PerceptrlError(f"cannot load judge function {spec!r}: {e}", where="judge.backend",
                             fix="check the module/file path and the function name") from e
    if not callable(fn):
        raise PerceptrlError(f"{spec!r} is not callable", where="judge.backend", fix="name a function")
    return fn


class TransformersGenerator:
    """A local causal LM (transformers), greedy, batched with left padding.

    The model is loaded on first use; generation runs in a worker thread so that the event loop
    (and the other rewards) keep running. With constrained formats (``grammar``/``json_schema``)
    a logits processor allows, at each step, only the next token of the request's answer skeleton
    (:meth:`AnswerFormat.skeleton`) — the fixed text — or, at a verdict slot, the tokens ``0`` and
    ``1``; after the skeleton only end-of-sequence. The answer is exactly m verdicts, whatever the
    model would have preferred; ``max_new_tokens`` is raised to the skeleton's length if needed.
    """

    def __init__(self, model: str, *, batch_size: int = JudgeConfig.batch_size,
                 max_new_tokens: int = JudgeConfig.max_tokens, device: str | None = None,
                 generate_kwargs: dict[str, Any] | None = None):
        self.model_name = model
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.generate_kwargs = dict(generate_kwargs or {})
        self._model = None
        self._tok = None

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self._tok = AutoTokenizer.from_pretrained(self.model_name)
            self._model = AutoModelForCausalLM.from_pretrained(self.model_name)
        except OSError as e:
            raise PerceptrlError(f"cannot load judge model {self.model_name!r}: {e}", where="judge.model",
                                 fix="point judge.model at a local causal LM directory") from e
        self._tok.padding_side = "left"
        if self._tok.pad_token is None:
            self._tok.pad_token = self._tok.eos_token
        if self.device:
            self._model.to(self.device)
        self._model.eval()

    def _digit_id(self, d: str) -> int:
        ids = self._tok.encode(d, add_special_tokens=False)
        if len(ids) == 1:
            return ids[0]
        tid = self._tok.convert_tokens_to_ids(d)
        if isinstance(tid, int) and tid != self._tok.unk_token_id:
            return tid
        raise PerceptrlError(f"the judge tokenizer has no single token for {d!r}", where="judge.constrained",
                             fix="use constrained: off with this model, or a tokenizer with single-digit tokens")

    def _plan(self, fmt: AnswerFormat) -> list[tuple[int, ...]]:
        """Allowed token ids per generation step for one request."""
        verdict = (self._digit_id("0"), self._digit_id("1"))
        plan: list[tuple[int, ...]] = []
        for piece in fmt.skeleton():
            if piece is None:
                plan.append(verdict)
            else:
                plan.extend((t,) for t in self._tok.encode(piece, add_special_tokens=False))
        return plan

    def _generate_sync(self, batch: Sequence[Messages], formats: Sequence[AnswerFormat] | None = None) -> list[str]:
        import torch

        self._load()
        tok, model = self._tok, self._model
        texts = [tok.apply_chat_template(list(m), tokenize=False, add_generation_prompt=True) for m in batch]
        plans = [self._plan(f) for f in formats] if formats else None
        eos = model.generation_config.eos_token_id
        eos = eos[0] if isinstance(eos, (list, tuple)) else (eos if eos is not None else tok.eos_token_id)
        out: list[str] = []
        for i in range(0, len(texts), self.batch_size):
            enc = tok(texts[i : i + self.batch_size], return_tensors="pt", padding=True,
                      add_special_tokens=False).to(model.device)
            kwargs = dict(self.generate_kwargs)
            max_new = self.max_new_tokens
            if plans is not None:
                chunk = plans[i : i + self.batch_size]
                kwargs["logits_processor"] = [_SkeletonProcessor(chunk, enc["input_ids"].shape[1], eos)]
                max_new = max(max_new, max(len(p) for p in chunk) + 1)
            with torch.no_grad():
                gen = model.generate(**enc, max_new_tokens=max_new, do_sample=False,
                                     pad_token_id=tok.pad_token_id, **kwargs)
            new = gen[:, enc["input_ids"].shape[1] :]
            out.extend(tok.batch_decode(new, skip_special_tokens=True))
        return out

    async def __call__(self, batch: Sequence[Messages], formats: Sequence[AnswerFormat] | None = None
                       ) -> list[str | Exception]:
        try:
            return list(await asyncio.to_thread(self._generate_sync, batch, formats))
        except PerceptrlError:
            raise
        except Exception as e:  # OOM, bad template…: every request of the batch failed
            log.warning("transformers judge failed on a batch of %d: %s", len(batch), e)
            return [e] * len(batch)


class _SkeletonProcessor:
    """A ``transformers`` logits processor: row r may only emit ``plans[r][step]`` (then EOS)."""

    def __init__(self, plans: list[list[tuple[int, ...]]], prompt_len: int, eos_id: int):
        self.plans = plans
        self.prompt_len = prompt_len
        self.eos_id = eos_id

    def __call__(self, input_ids, scores):
        import torch

        step = input_ids.shape[1] - self.prompt_len
        allowed = torch.zeros_like(scores, dtype=torch.bool)
        for row, plan in enumerate(self.plans):
            ids = plan[step] if step < len(plan) else (self.eos_id,)
            allowed[row, list(ids)] = True
        return scores.masked_fill(~allowed, float("-inf"))
