"""A reusable async chat client for OpenAI-compatible servers (vLLM, SGLang, llama.cpp, OpenAI).

Built on the official ``openai`` ``AsyncOpenAI`` client, with what a reward or an evaluation loop
needs on top:

* bounded concurrency (an ``asyncio.Semaphore``: a judge server has a finite batch size);
* a *total* deadline per attempt (``asyncio.wait_for(…, timeout)`` around the whole request, so a
  server that drips one byte at a time cannot stretch an attempt: httpx's own timeout is per read)
  and retries with exponential backoff and jitter on transient errors (connection refused/reset,
  timeouts, 429, 5xx, a reply that is not a chat completion); client errors (4xx) are not retried.
  The retries are tenacity's (its hooks keep the counters), not the SDK's: the SDK retries inside
  one ``create`` call, so the per-attempt deadline would bound all attempts together, and it does
  not retry a 200 whose body is not a chat completion;
* every failure of a request is caught and classified (:attr:`JudgeRequestError.kind`:
  ``transport``, ``timeout``, ``bad_reply``, ``http_4xx``) and counted (``usage["failures/<kind>"]``):
  one bad reply never fails the other requests of a batch;
* identical concurrent requests are sent once (in-flight de-duplication);
* an optional persistent sqlite cache of answers (keyed by model, messages and parameters);
* usage counters (requests, retries, failures, tokens, cache hits).

After the last retry :class:`JudgeRequestError` (a :class:`~perceptrl.errors.PerceptrlError`) is
raised; callers decide the policy (the perception reward applies ``failure_policy``). Cancelling a
request (the reward runner's batch deadline) closes its connection and raises ``CancelledError``
in every caller waiting on it.

The client may be used from several event loops in turn (e.g. one ``asyncio.run`` per training
step): the HTTP client and the semaphore are re-created per loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from perceptrl.errors import PerceptrlError
from perceptrl.judge.cache import SqliteCache, make_key
from perceptrl.judge.config import JudgeConfig
from perceptrl.judge.limits import shared_limit_from_env

log = logging.getLogger(__name__)

#: failure kinds (``JudgeRequestError.kind``)
TRANSPORT, TIMEOUT, BAD_REPLY, HTTP_4XX = "transport", "timeout", "bad_reply", "http_4xx"


class JudgeRequestError(PerceptrlError):
    """A chat request failed after all retries (or with a non-retryable error).

    ``kind``: ``transport`` (connection refused/reset, 429, 5xx), ``timeout`` (an attempt passed its
    deadline), ``bad_reply`` (the server answered with something that is not a chat completion:
    a body that is not JSON, no choices, a choice without a message) or ``http_4xx`` (the server
    rejected the request; not retried). The message starts with ``"<kind>: "`` so that the kind
    survives being stored as text (``JudgeOutcome.error``)."""

    def __init__(self, what: str, *, kind: str = TRANSPORT, where: str | None = None, fix: str | None = None):
        self.kind = kind
        super().__init__(f"{kind}: {what}", where=where, fix=fix)


def classify(exc: BaseException) -> str:
    """The failure kind of one attempt's exception (see :class:`JudgeRequestError`)."""
    if isinstance(exc, JudgeRequestError):
        return exc.kind
    if isinstance(exc, (openai.APITimeoutError, asyncio.TimeoutError, TimeoutError)):
        return TIMEOUT
    if isinstance(exc, (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)):
        return TRANSPORT
    if isinstance(exc, openai.APIStatusError):
        return HTTP_4XX if 400 <= exc.status_code < 500 else TRANSPORT
    # openai.APIResponseValidationError, a JSON decode error, an attribute missing from a reply
    # built without validation, …: the server answered, but not with a chat completion
    return BAD_REPLY


class ChatClient:
    """``await ChatClient(base_url, model).complete(messages, temperature=0) -> str``.

    Args:
        base_url: the server's OpenAI-compatible root, e.g. ``http://127.0.0.1:8000/v1``.
        model: the model name the server expects.
        api_key: defaults to ``$OPENAI_API_KEY`` or ``"EMPTY"`` (local servers ignore it).
        max_concurrency: requests in flight at once. The defaults of this and of ``timeout``,
            ``max_retries`` and ``backoff`` are :class:`~perceptrl.judge.config.JudgeConfig`'s (declared
            there once, with their reasons).
        timeout: seconds per attempt.
        max_retries: retries after the first attempt, on transient errors only.
        backoff: first retry delay in seconds; doubles each retry (with ±50 % jitter), capped at
            ``backoff_max``.
        cache_path: sqlite file for a persistent answer cache (``None``: no cache).
        default_params: sent with every request unless overridden (e.g. ``temperature=0``).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_concurrency: int = JudgeConfig.max_concurrency,
        timeout: float = JudgeConfig.timeout,
        max_retries: int = JudgeConfig.max_retries,
        backoff: float = JudgeConfig.backoff,
        backoff_max: float = 8.0,
        cache_path: str | Path | None = None,
        default_params: dict[str, Any] | None = None,
    ):
        if max_concurrency < 1:
            raise PerceptrlError("max_concurrency must be >= 1", where="judge.max_concurrency", fix="set it to 1 or more")
        self.base_url = base_url
        self.model = model
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.cache = SqliteCache(cache_path, table="chat") if cache_path else None
        self.default_params = dict(default_params or {})
        self.usage: Counter = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: openai.AsyncOpenAI | None = None
        self._sem: asyncio.Semaphore | None = None
        self._inflight: dict[str, asyncio.Future] = {}
        # a node-wide bound shared with the other processes (judge/limits.py), when configured
        self.shared_limit = shared_limit_from_env(base_url)

    # -- per-loop state -------------------------------------------------------------------
    def _state(self) -> tuple[openai.AsyncOpenAI, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._client is None:
            self._loop = loop
            # A plain ``DefaultAsyncHttpxClient``, not the SDK's default wrapper: the wrapper's
            # ``__del__`` schedules ``aclose()`` on whatever loop is running when it is collected,
            # so a client left over from a finished ``asyncio.run`` would fail ("Event loop is
            # closed") inside the next one. Ours is closed by :meth:`aclose`, or dropped with its loop.
            # httpx's timeout applies per read; the total per attempt is bounded in _request
            self._client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key,
                                              timeout=self.timeout, max_retries=0,
                                              http_client=openai.DefaultAsyncHttpxClient(timeout=self.timeout))
            self._sem = asyncio.Semaphore(self.max_concurrency)
            self._inflight = {}
        return self._client, self._sem  # type: ignore[return-value]

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.close()
        self._client = None

    # -- requests ---------------------------------------------------------------------------
    async def complete(self, messages: Sequence[dict], **params: Any) -> str:
        """The assistant's text for one chat request (cached, de-duplicated, retried)."""
        params = {**self.default_params, **params}
        key = make_key(self.model, list(messages), params)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.usage["cache_hits"] += 1
                return hit
        self._state()
        fut = self._inflight.get(key)
        if fut is not None:
            self.usage["dedup_hits"] += 1
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            text = await self._request(messages, params)
        except asyncio.CancelledError:
            if not fut.done():
                fut.cancel()  # waiters on the same request are cancelled with it
            raise
        except BaseException as e:
            if not fut.done():
                fut.set_exception(e)
                fut.exception()  # mark retrieved: waiters re-raise it
            raise
        finally:
            self._inflight.pop(key, None)
        fut.set_result(text)
        if self.cache is not None:
            self.cache.put(key, text)
        return text

    async def complete_many(self, batch: Sequence[Sequence[dict]], **params: Any) -> list[str | JudgeRequestError]:
        """``complete`` over a batch, concurrently; failures are returned, not raised (any exception
        of one request, classified, is that request's result; cancellation propagates)."""

        async def one(msgs):
            try:
                return await self.complete(msgs, **params)
            except JudgeRequestError as e:
                return e
            except Exception as e:  # noqa: BLE001 - e.g. a cache error: that request failed, not the batch
                kind = classify(e)
                self.usage["failures"] += 1
                self.usage[f"failures/{kind}"] += 1
                return JudgeRequestError(f"{type(e).__name__}: {e}", kind=kind,
                                         where=f"{self.base_url} (model {self.model!r})")

        return list(await asyncio.gather(*(one(m) for m in batch)))

    async def _request(self, messages: Sequence[dict], params: dict[str, Any]) -> str:
        """The reply's text, retried by tenacity on transient failures (see the module docstring)."""
        client, sem = self._state()
        retrying = AsyncRetrying(stop=stop_after_attempt(self.max_retries + 1), wait=self._backoff_delay,
                                 retry=retry_if_exception(_retryable), before_sleep=self._count_retry, reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._timed_attempt(client, sem, messages, params)
        except JudgeRequestError:
            raise  # a 4xx: final, already counted
        except Exception as last:  # noqa: BLE001 - the last attempt's failure, classified
            kind = classify(last)
            self.usage["failures"] += 1
            self.usage[f"failures/{kind}"] += 1
            raise JudgeRequestError(
                f"judge request failed after {self.max_retries + 1} attempts: {type(last).__name__}: {last}",
                kind=kind, where=f"{self.base_url} (model {self.model!r})",
                fix="start the judge server / check judge.base_url, or raise judge.timeout and judge.max_retries",
            ) from last
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _backoff_delay(self, state: RetryCallState) -> float:
        """``backoff · 2^(retry - 1)``, capped at ``backoff_max``, times a jitter of ±50 %."""
        return min(self.backoff_max, self.backoff * 2 ** (state.attempt_number - 1)) * (0.5 + random.random())

    def _count_retry(self, state: RetryCallState) -> None:
        self.usage["retries"] += 1
        log.debug("retrying judge request in %.2fs after %s", state.next_action.sleep, state.outcome.exception())

    async def _timed_attempt(self, client, sem, messages: Sequence[dict], params: dict[str, Any]) -> str:
        """One attempt under the semaphore and the total deadline; a failure is counted and raised
        (a 4xx as the final :class:`JudgeRequestError`)."""
        async with sem, (self.shared_limit.slot() if self.shared_limit else contextlib.nullcontext()):
            t0 = time.perf_counter()
            self.usage["requests"] += 1
            try:
                # the whole attempt, reply read and parsed included, within `timeout`
                return await asyncio.wait_for(self._attempt(client, messages, params), timeout=self.timeout)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - every failure of an attempt is classified
                kind = classify(e)
                self.usage[f"attempt_failures/{kind}"] += 1
                if kind == HTTP_4XX:
                    self.usage["failures"] += 1
                    self.usage[f"failures/{kind}"] += 1
                    status = getattr(e, "status_code", "?")
                    raise JudgeRequestError(
                        f"the judge server rejected the request: {status} {getattr(e, 'message', e)}",
                        kind=HTTP_4XX, where=f"{self.base_url} (model {self.model!r})",
                        fix="check judge.model and the request parameters; see the server's log",
                    ) from e
                raise
            finally:
                self.usage["seconds"] += time.perf_counter() - t0

    async def _attempt(self, client: openai.AsyncOpenAI, messages: Sequence[dict], params: dict[str, Any]) -> str:
        resp = await client.chat.completions.create(model=self.model, messages=list(messages), **params)
        usage = getattr(resp, "usage", None)
        if usage is not None:
            self.usage["prompt_tokens"] += getattr(usage, "prompt_tokens", 0) or 0
            self.usage["completion_tokens"] += getattr(usage, "completion_tokens", 0) or 0
        choices = getattr(resp, "choices", None)
        if not choices:
            raise _BadReply("the reply has no choices")
        message = getattr(choices[0], "message", None)
        if message is None:
            raise _BadReply("the reply's choice has no message")
        content = getattr(message, "content", None)
        if content is None:
            refusal = getattr(message, "refusal", None)
            if isinstance(refusal, str) and refusal:
                return refusal  # the judge refused: an answer (with no verdicts), not a transport failure
            raise _BadReply("the reply's message has no content")
        if not isinstance(content, str):
            raise _BadReply(f"the reply's content is a {type(content).__name__}, not text")
        return content


class _BadReply(Exception):
    """The server answered with something that is not a usable chat completion."""


def _retryable(exc: BaseException) -> bool:
    """Transient failures are retried: not a 4xx (already final), not a cancellation."""
    return isinstance(exc, Exception) and not isinstance(exc, JudgeRequestError)
