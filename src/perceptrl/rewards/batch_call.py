"""Calling a batch reward (the perception judge) within a step's deadline.

A batch reward whose ``ascore`` takes ``deadline=`` gets the step's deadline and cuts what is
still outstanding then itself (scoring those samples by its failure policy and reporting them in
``last_over_budget``); one that does not, or that overruns it anyway, is cancelled one second past
the deadline and scores 0 for the whole batch (what ``neutral`` gives a group where every sample
failed). Either way the step's samples over budget are counted.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

logger = logging.getLogger(__name__)

#: seconds past the deadline a batch reward that ignores it is given before it is cancelled
GRACE_S = 1.0


async def call_batch(term: Any, completions: Sequence[str], rows: Sequence[Mapping], groups: Sequence[Hashable],
                     deadline: float) -> tuple[list, int]:
    """``(values, samples over budget)`` of the batch reward of ``term`` (a resolved hybrid term)."""
    params = accepted_keywords(term.batch.ascore)
    kw: dict[str, Any] = {}
    if "deadline" in params:
        kw["deadline"] = deadline
    if "groups" in params:
        kw["groups"] = groups
    task = asyncio.ensure_future(term.batch.ascore(completions, rows, **kw))
    try:
        values = await asyncio.wait_for(asyncio.shield(task), timeout=max(0.0, deadline + GRACE_S - time.monotonic()))
    except asyncio.TimeoutError:
        task.cancel()
        await asyncio.wait([task], timeout=0.5)
        logger.warning("batch reward %s did not return within its deadline (+%g s): 0 for the batch",
                       term.name, GRACE_S)
        return [0.0] * len(completions), len(completions)
    return list(values), int(getattr(term.batch, "last_over_budget", 0) or 0)


def accepted_keywords(fn) -> set[str]:
    """The keyword parameters ``fn`` accepts among those the runner passes (all for ``**kwargs``)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return set()
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return {"deadline", "groups"}
    return set(sig.parameters)
