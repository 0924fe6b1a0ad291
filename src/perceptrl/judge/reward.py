"""The perception reward ``r_v`` (Perception-R1 stage 2) as a :class:`~perceptrl.rewards.base.BatchReward`.

    r_v(y_i) = (1/m) · Σ_j o_ij          (``empty_score``, default 0, when m = 0)

Per batch: identical (annotations, response) pairs are judged once (GRPO groups repeat short
answers), the persistent cache is consulted (it stores every answer the judge gave, unparseable ones
included — the judge is deterministic at temperature 0 — but never a failed request, which is
retried next time), the rest go to the judge concurrently. Nothing the judge does raises out of
:meth:`PerceptionReward.ascore`, and nothing it does yields ``None`` (``None`` is only "no
annotations" with ``empty_score=None``: not applicable by design, decided by the row).

What each judge outcome scores — the property: **no outcome scores above the same response with
perfect verdicts, and an unusable answer or a failure scores strictly below it**:

* **an answer arrived** — a judgement, whatever it holds: each of the m annotations scores its
  verdict, and an index with no verdict (missing: truncated, refused, empty, unparseable) or with
  disagreeing verdicts (conflicting) scores 0; ``r_v = Σ/m``. The reference also gives 0 here.
  Counted: ``judge/unparseable`` (answers with no usable verdict), ``judge/partial``,
  ``judge/missing_verdicts``, ``judge/conflicting_verdicts``;
* **the server rejected the request** (HTTP 4xx; not retried) — a judgement of 0 for every
  annotation (``judge/rejected``): the response is the only thing that varies between the requests
  of a run, so a rejection (e.g. a context overflow) is the response's doing;
* **no answer arrived** — transport error or timeout after the retries, a reply that is not a chat
  completion, a crashing backend, or the reward step's deadline (``ascore(deadline=)``, set by the
  :class:`~perceptrl.rewards.runner.RewardRunner` to its batch budget: the judge's requests still
  outstanding then are cancelled) — is not the sample's fault: ``failure_policy`` applies
  (:func:`perceptrl.rewards.hybrid.fill_failed`): ``neutral`` (default) gives the sample the
  *pessimistic mean* of its GRPO group (same prompt; failed samples count 0), never above the
  group's mean and strictly below 1; ``zero`` gives 0. Counted: ``judge/failures`` and
  ``judge/failed/<kind>`` (requests; kinds ``transport``, ``timeout``, ``bad_reply``,
  ``over_budget``, ``backend_error``), ``judge/failed_samples`` and ``judge/over_budget`` (samples).

Per-annotation verdicts of the last batch are kept in :attr:`PerceptionReward.last_outcomes`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from perceptrl.data.annotations import VISUAL_KEY_INFO_FIX, AnnotationFormatError, row_annotations
from perceptrl.errors import PerceptrlError
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
from perceptrl.judge.config import JudgeConfig, check_failure_policy
from perceptrl.judge.parse import parse_verdicts
from perceptrl.judge.prompt import load_template
from perceptrl.rewards.base import completion_text
from perceptrl.rewards.hybrid import fill_failed
from perceptrl.rewards.length import group_key
from perceptrl.rewards.limits import over_cap

log = logging.getLogger(__name__)

OVER_BUDGET = "over_budget"
#: counters reported every step, even when 0
_ALWAYS = ("samples", "requests", "failures", "failed_samples", "over_budget", "unparseable", "partial", "rejected",
           "missing_verdicts", "conflicting_verdicts")
BACKEND_ERROR = "backend_error"
_KIND = re.compile(r"^(?:\w+: )?(transport|timeout|bad_reply|http_4xx|over_budget|backend_error): ")


def annotations_of(row: Mapping) -> list[str]:
    """:func:`perceptrl.data.annotations.row_annotations` (the one parser of ``visual_annotations``
    / ``visual_key_info``), its format error raised as a :class:`PerceptrlError` naming the row
    (``perceptrl data validate`` reports it before training)."""
    try:
        return row_annotations(row)
    except AnnotationFormatError as e:
        raise PerceptrlError(f"malformed annotations: {e}", where=f"row {row.get('id', '?')!r}",
                             fix=f"{VISUAL_KEY_INFO_FIX} (check with perceptrl data validate)") from None


def failure_kind(error: str | None) -> str:
    """The kind of a failed outcome from its error text (``"JudgeRequestError: timeout: …"``)."""
    m = _KIND.match(error or "")
    if m:
        return m.group(1)
    if (error or "").startswith(("TimeoutError", "APITimeoutError")):
        return "timeout"
    return BACKEND_ERROR


def as_judgement(o: JudgeOutcome, m: int) -> JudgeOutcome:
    """An outcome with an answer is a judgement: an outcome the backend marked failed although the
    judge answered (no usable verdict; also cache entries written before this rule) is re-read with
    every unusable index at 0; a rejected request (HTTP 4xx) is all 0. Real failures pass through."""
    if o.ok:
        return o
    if o.answer is not None:
        v = parse_verdicts(o.answer, m)
        return JudgeOutcome(v.verdicts, len(v.missing), len(v.conflicting), list(o.neutralised), None, o.answer)
    if failure_kind(o.error) == "http_4xx":
        return JudgeOutcome([0] * m, m, 0, list(o.neutralised), o.error, None)
    return o


class PerceptionReward:
    """``r_v`` over a batch, through a :class:`~perceptrl.judge.backends.Judge`."""

    name = "perception"

    def __init__(self, judge: Judge, *, failure_policy: str = JudgeConfig.failure_policy, cache: SqliteCache | None = None,
                 empty_score: float | None = 0.0, client: ChatClient | None = None, split_requests: bool = False):
        """``split_requests``: send each unique pair as its own ``judge.ajudge`` call, so that the
        answers that arrived before a deadline are kept (servers and callables); a backend that
        batches itself (``transformers``) gets the batch in one call, all or nothing."""
        check_failure_policy(failure_policy)
        self.judge = judge
        self.split_requests = split_requests
        self.last_over_budget = 0
        self.failure_policy = failure_policy
        self.cache = cache
        self.empty_score = empty_score
        self.client = client
        self.last_outcomes: list[JudgeOutcome | None] = []
        self._m: Counter = Counter()

    def _key(self, annotations: list[str], response: str) -> str:
        return make_key(self.judge.model_id, self.judge.version, annotations, response)

    async def ascore(self, completions: Sequence[Any], rows: Sequence[Mapping], *,
                     groups: Sequence[Hashable] | None = None, deadline: float | None = None) -> list[float | None]:
        """r_v per completion. ``groups[i]``: the GRPO group of sample i (default: the row's prompt,
        :func:`perceptrl.rewards.length.group_key`), for the ``neutral`` failure policy;
        ``deadline`` (``time.monotonic()``): requests not answered by then are cancelled and count as
        failed (``over_budget``)."""
        t0 = time.perf_counter()
        n = len(completions)
        groups = [group_key(r) for r in rows] if groups is None else list(groups)
        if len(groups) != n:
            raise ValueError(f"{len(groups)} groups for {n} completions")
        scores: list[float | None] = [None] * n
        by_key, pairs = self._requests(completions, rows, scores)
        results = self._cached(by_key)
        todo = [k for k in by_key if k not in results]
        if todo:
            self._m["requests"] += len(todo)
            fresh = await self._judge([pairs[k] for k in todo], deadline)
            fresh = [as_judgement(o, len(pairs[k][0])) for k, o in zip(todo, fresh)]
            results.update(zip(todo, fresh))
            self._store(dict(zip(todo, fresh)))
        outcomes, failed, over = self._spread(by_key, pairs, results, scores)
        self._count(todo, pairs, results)
        if any(failed):
            scores = fill_failed(scores, failed, groups, self.failure_policy)
            log.warning("perception judge: %d/%d samples failed (%d over budget), scored by policy %s",
                        sum(failed), n, over, self.failure_policy)
        self._m["failed_samples"] += sum(failed)
        self._m["over_budget"] += over
        self._m["seconds"] += time.perf_counter() - t0
        self.last_over_budget = over
        self.last_outcomes = outcomes
        return scores

    def _requests(self, completions, rows, scores: list) -> tuple[dict[str, list[int]], dict[str, tuple]]:
        """The distinct requests of a batch (``key -> samples``, ``key -> (annotations, text)``);
        samples without annotations or over the response cap are scored here, with no request."""
        by_key: dict[str, list[int]] = {}
        pairs: dict[str, tuple[list[str], str]] = {}
        for i, (c, row) in enumerate(zip(completions, rows)):
            anns = annotations_of(row)
            if not anns:
                scores[i] = self.empty_score
                self._m["no_annotations"] += 1
                continue
            text = completion_text(c)
            if over_cap(text):  # longer than any trainer's completion: the term's floor, no request
                scores[i] = 0.0
                self._m["over_cap"] += 1
                continue
            key = self._key(anns, text)
            by_key.setdefault(key, []).append(i)
            pairs[key] = (anns, text)
        self._m["samples"] += len(completions)
        self._m["deduplicated"] += sum(len(v) - 1 for v in by_key.values())
        return by_key, pairs

    def _cached(self, by_key: Mapping[str, Any]) -> dict[str, JudgeOutcome]:
        results: dict[str, JudgeOutcome] = {}
        if self.cache is not None and by_key:
            try:
                for k, v in self.cache.get_many(by_key).items():
                    results[k] = JudgeOutcome.from_json(v)
            except Exception as e:  # a broken cache must not stop training
                log.warning("judge cache read failed: %s", e)
            self._m["cache_hits"] += len(results)
        return results

    def _store(self, fresh: Mapping[str, JudgeOutcome]) -> None:
        if self.cache is None:
            return
        try:  # answers only: a failed or rejected request is asked again next time
            self.cache.put_many({k: o.to_json() for k, o in fresh.items()
                                 if o.ok and (o.answer is not None or o.error is None)})
        except Exception as e:
            log.warning("judge cache write failed: %s", e)

    def _spread(self, by_key, pairs, results, scores: list) -> tuple[list, list[bool], int]:
        """Each request's outcome to its samples: ``(outcomes, failed, samples over budget)``."""
        outcomes: list[JudgeOutcome | None] = [None] * len(scores)
        failed = [False] * len(scores)
        over = 0
        for key, idxs in by_key.items():
            m = len(pairs[key][0])
            o = as_judgement(results[key], m)
            for i in idxs:
                outcomes[i] = o
                if o.ok:  # denominator m (bug 1); whatever a backend returns, 0 <= r_v <= 1
                    scores[i] = sum(min(1, max(0, int(v))) for v in o.verdicts[:m]) / m
                else:
                    failed[i] = True
                    over += failure_kind(o.error) == OVER_BUDGET
        return outcomes, failed, over

    def _count(self, todo: list[str], pairs, results) -> None:
        """Counters per request sent, not per duplicate."""
        for key in todo:
            o = results[key]
            m = len(pairs[key][0])
            if not o.ok:
                self._m["failures"] += 1
                self._m[f"failed/{failure_kind(o.error)}"] += 1
                continue
            if o.error is not None:
                self._m["rejected"] += 1
            elif o.missing + o.conflicting >= m:
                self._m["unparseable"] += 1
            elif o.missing + o.conflicting:
                self._m["partial"] += 1
            self._m["missing_verdicts"] += o.missing
            self._m["conflicting_verdicts"] += o.conflicting
            self._m["neutralised"] += int(bool(o.neutralised))

    async def _judge(self, pairs: list[tuple[list[str], str]], deadline: float | None) -> list[JudgeOutcome]:
        """One outcome per pair; whatever a backend does (raise, hang past ``deadline``, return the
        wrong number of outcomes) becomes failed outcomes, never an exception."""
        calls = [[p] for p in pairs] if self.split_requests else [pairs]
        tasks = [asyncio.ensure_future(self.judge.ajudge(c)) for c in calls]
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            done, pending = await asyncio.wait(tasks, timeout=timeout)
        except asyncio.CancelledError:
            for t in tasks:
                t.cancel()
            raise
        if pending:
            for t in pending:
                t.cancel()  # closes their connections (ChatClient) / stops waiting (thread backends)
            await asyncio.wait(pending, timeout=1.0)
            log.warning("perception judge: %d/%d requests still outstanding at the batch deadline; cancelled",
                        sum(len(c) for c, t in zip(calls, tasks) if t in pending), len(pairs))
        out: list[JudgeOutcome] = []
        for c, t in zip(calls, tasks):
            if t in pending or t.cancelled():
                err = f"{OVER_BUDGET}: no judge answer by the reward step's deadline"
                out.extend(JudgeOutcome(None, error=err) for _ in c)
                continue
            exc = t.exception()
            res = t.result() if exc is None else None
            if exc is None and (not isinstance(res, list) or len(res) != len(c)):
                exc = RuntimeError(f"the judge returned {len(res) if isinstance(res, list) else res!r} outcomes "
                                   f"for {len(c)} requests")
            if exc is not None:  # whatever happens in a backend, the batch still gets scores
                log.warning("judge backend failed on %d requests: %s", len(c), exc)
                err = f"{BACKEND_ERROR}: {type(exc).__name__}: {exc}"
                out.extend(JudgeOutcome(None, error=err) for _ in c)
                continue
            out.extend(res)
        return out

    def score(self, completions: Sequence[Any], rows: Sequence[Mapping], *,
              groups: Sequence[Hashable] | None = None, deadline: float | None = None) -> list[float | None]:
        """Synchronous ``ascore`` (not from inside a running event loop)."""

        async def run() -> list[float | None]:
            try:
                return await self.ascore(completions, rows, groups=groups, deadline=deadline)
            finally:
                if self.client is not None:  # its connections belong to this loop
                    await self.client.aclose()

        return asyncio.run(run())

    def metrics(self) -> dict[str, float]:
        """Counters since the last call, as ``judge/<name>``; resets them."""
        out = {f"judge/{k}": float(self._m.get(k, 0)) for k in _ALWAYS}
        out.update({f"judge/{k}": float(v) for k, v in self._m.items()})
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
    split = True
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
        split = False  # it batches generation itself
        model_id = f"transformers:{cfg.model}"
    else:
        gen = callable_generator(load_callable(cfg.backend))
        model_id = cfg.backend
    judge = LLMJudge(gen, model_id=f"{model_id}@{gen_id}", template=template, harden=cfg.harden,
                     constrained=cfg.constrained)
    cache = SqliteCache(cfg.cache_path, table="verdicts") if cfg.cache_path else None
    return PerceptionReward(judge, failure_policy=cfg.failure_policy, cache=cache, empty_score=cfg.empty_score,
                            client=client, split_requests=split)
