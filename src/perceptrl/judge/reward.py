"""The perception reward ``r_v`` (Perception-R1 stage 2) as a :class:`~perceptrl.rewards.base.BatchReward`.

    r_v(y_i) = (1/m) · Σ_j o_ij          (``empty_score``, default 0, when m = 0)

Per batch: identical (annotations, response) pairs are judged once (GRPO groups repeat short
answers), the persistent cache is consulted (it stores every answer the judge gave, unparseable ones
included — the judge is deterministic at temperature 0 — but never a transport failure, which is
retried next time), the rest go to the judge concurrently; a failed
judgement (after the backend's retries) follows ``failure_policy`` — ``skip`` (``None``: the term is
left out for that sample) or ``zero`` — and is counted. Nothing the judge does raises out of
:meth:`PerceptionReward.ascore`. Per-annotation verdicts of the last batch are kept in
:attr:`PerceptionReward.last_outcomes` for analysis.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from perceptrl.judge.backends import (
    Judge,
    JudgeOutcome,
    LLMJudge,
    RulesJudge,
    TransformersGenerator,
    callable_generator,
    load_callable,
    openai_generator,
)
from perceptrl.judge.cache import SqliteCache, make_key
from perceptrl.judge.client import ChatClient
from perceptrl.judge.config import JudgeConfig
from perceptrl.judge.prompt import load_template

log = logging.getLogger(__name__)

_INFO_TAG = re.compile(r"<info(\d+)>(.*?)</info\1>", re.DOTALL)


def row_annotations(row: Mapping) -> list[str]:
    """A row's visual annotations: ``visual_annotations`` (list), else the Perception-R1
    ``visual_key_info`` string (``<info1>…</info1>\\n<info2>…</info2>``)."""
    anns = row.get("visual_annotations")
    if anns:
        return [str(a) for a in anns]
    vki = row.get("visual_key_info")
    if isinstance(vki, str) and vki.strip():
        return [m.group(2).strip() for m in _INFO_TAG.finditer(vki)]
    return []


def completion_text(completion: Any) -> str:
    """A completion as text (TRL conversational completions are lists of messages)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], Mapping):
        content = completion[-1].get("content", "")
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        return str(content)
    return str(completion)


class PerceptionReward:
    """``r_v`` over a batch, through a :class:`~perceptrl.judge.backends.Judge`."""

    name = "perception"

    def __init__(self, judge: Judge, *, failure_policy: str = "skip", cache: SqliteCache | None = None,
                 empty_score: float | None = 0.0, client: ChatClient | None = None):
        if failure_policy not in ("skip", "zero"):
            raise ValueError("failure_policy must be 'skip' or 'zero'")
        self.judge = judge
        self.failure_policy = failure_policy
        self.cache = cache
        self.empty_score = empty_score
        self.client = client
        self.last_outcomes: list[JudgeOutcome | None] = []
        self._m: Counter = Counter()

    def _key(self, annotations: list[str], response: str) -> str:
        return make_key(self.judge.model_id, self.judge.version, annotations, response)

    async def ascore(self, completions: Sequence[Any], rows: Sequence[Mapping]) -> list[float | None]:
        t0 = time.perf_counter()
        n = len(completions)
        scores: list[float | None] = [None] * n
        outcomes: list[JudgeOutcome | None] = [None] * n
        groups: dict[str, list[int]] = {}
        pairs: dict[str, tuple[list[str], str]] = {}
        for i, (c, row) in enumerate(zip(completions, rows)):
            anns = row_annotations(row)
            if not anns:
                scores[i] = self.empty_score
                self._m["no_annotations"] += 1
                continue
            text = completion_text(c)
            key = self._key(anns, text)
            groups.setdefault(key, []).append(i)
            pairs[key] = (anns, text)
        self._m["samples"] += n
        self._m["deduplicated"] += sum(len(v) - 1 for v in groups.values())

        results: dict[str, JudgeOutcome] = {}
        if self.cache is not None and groups:
            try:
                for k, v in self.cache.get_many(groups).items():
                    results[k] = JudgeOutcome.from_json(v)
            except Exception as e:  # a broken cache must not stop training
                log.warning("judge cache read failed: %s", e)
            self._m["cache_hits"] += len(results)
        todo = [k for k in groups if k not in results]
        if todo:
            self._m["requests"] += len(todo)
            try:
                fresh = await self.judge.ajudge([pairs[k] for k in todo])
            except Exception as e:  # whatever happens in a backend, the batch still gets scores
                log.warning("judge backend failed on %d requests: %s", len(todo), e)
                fresh = [JudgeOutcome(None, error=f"{type(e).__name__}: {e}") for _ in todo]
            results.update(zip(todo, fresh))
            if self.cache is not None:
                try:
                    self.cache.put_many({k: o.to_json() for k, o in zip(todo, fresh) if o.answer is not None or o.ok})
                except Exception as e:
                    log.warning("judge cache write failed: %s", e)

        for key, idxs in groups.items():
            o = results[key]
            for i in idxs:
                outcomes[i] = o
                if o.ok:
                    scores[i] = sum(o.verdicts) / len(o.verdicts)  # denominator m (bug 1)
                else:
                    scores[i] = 0.0 if self.failure_policy == "zero" else None
        for key in todo:  # count per request sent, not per duplicate
            o = results[key]
            if not o.ok:
                self._m["failures"] += 1
                if o.error == "unparseable judge answer":
                    self._m["unparseable"] += 1
            self._m["missing_verdicts"] += o.missing
            self._m["conflicting_verdicts"] += o.conflicting
            self._m["neutralised"] += int(bool(o.neutralised))
        failed = sum(1 for o in outcomes if o is not None and not o.ok)
        if failed:
            log.warning("perception judge: %d/%d samples failed (policy %s)", failed, n, self.failure_policy)
        self._m["failed_samples"] += failed
        self._m["seconds"] += time.perf_counter() - t0
        self.last_outcomes = outcomes
        return scores

    def score(self, completions: Sequence[Any], rows: Sequence[Mapping]) -> list[float | None]:
        """Synchronous ``ascore`` (not from inside a running event loop)."""

        async def run() -> list[float | None]:
            try:
                return await self.ascore(completions, rows)
            finally:
                if self.client is not None:  # its connections belong to this loop
                    await self.client.aclose()

        return asyncio.run(run())

    def metrics(self) -> dict[str, float]:
        """Counters since the last call, as ``judge/<name>``; resets them."""
        out = {f"judge/{k}": float(v) for k, v in self._m.items()}
        if self.client is not None:
            for k in ("retries", "prompt_tokens", "completion_tokens"):
                out[f"judge/{k}"] = float(self.client.usage[k])
            self.client.usage.clear()
        self._m.clear()
        return out

    async def check(self) -> None:
        """Raise :class:`~perceptrl.errors.PerceptrlError` if the judge server is unreachable
        (call once before training; ``rules`` and local backends always pass)."""
        if self.client is not None:
            await self.client.complete([{"role": "user", "content": "Reply with 1."}], max_tokens=1,
                                       temperature=0)


def build_perception_reward(cfg: JudgeConfig | Mapping | None = None, *, generator=None) -> PerceptionReward:
    """The ``"perception"`` BatchReward for a judge configuration.

    ``generator`` (optional) replaces the backend's text generator with ``fn(messages) -> str``
    (sync or async) or an async batch generator; handy for custom judges and tests.
    """
    if cfg is None:
        cfg = JudgeConfig()
    elif isinstance(cfg, Mapping):
        cfg = JudgeConfig.from_dict(dict(cfg))
    client = None
    if cfg.backend == "rules" and generator is None:
        return PerceptionReward(RulesJudge(), failure_policy=cfg.failure_policy, cache=None,
                                empty_score=cfg.empty_score)
    template = load_template(cfg.template_path)
    # generation settings change answers (a smaller max_tokens truncates them): part of the cache key
    gen_id = make_key(cfg.temperature, cfg.max_tokens, cfg.extra)[:12]
    if generator is not None:
        gen = callable_generator(generator)
        model_id = cfg.model or getattr(generator, "__qualname__", "custom")
    elif cfg.backend == "openai":
        client = ChatClient(cfg.base_url, cfg.model, api_key=cfg.api_key, max_concurrency=cfg.max_concurrency,
                            timeout=cfg.timeout, max_retries=cfg.max_retries, backoff=cfg.backoff)
        gen = openai_generator(client, temperature=cfg.temperature, max_tokens=cfg.max_tokens, **cfg.extra)
        model_id = f"openai:{cfg.model}"
    elif cfg.backend == "transformers":
        gen = TransformersGenerator(cfg.model, batch_size=cfg.batch_size, max_new_tokens=cfg.max_tokens,
                                    generate_kwargs=cfg.extra)
        model_id = f"transformers:{cfg.model}"
    else:
        gen = callable_generator(load_callable(cfg.backend))
        model_id = cfg.backend
    judge = LLMJudge(gen, model_id=f"{model_id}@{gen_id}", template=template, harden=cfg.harden,
                     constrained=cfg.constrained)
    cache = SqliteCache(cfg.cache_path, table="verdicts") if cfg.cache_path else None
    return PerceptionReward(judge, failure_policy=cfg.failure_policy, cache=cache, empty_score=cfg.empty_score,
                            client=client)
