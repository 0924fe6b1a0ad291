"""The reward interfaces every reward family and engine adapter agree on.

* A plain reward is ``fn(completion: str, row: Mapping) -> float | None``: pure, no I/O, never
  executes its input; ``None`` means "not applicable to this row" (e.g. IoU without gold boxes).
* A :class:`BatchReward` scores a whole batch asynchronously: used for rewards that call a
  model or a server (the perception judge), so that they run concurrently with the cheap
  rewards and can dedupe/cache across the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional, Protocol, runtime_checkable

RewardFn = Callable[[str, Mapping], Optional[float]]


def completion_text(completion: Any) -> str:
    """The one text every reward scores for a completion: a string as is; a TRL conversational
    completion (a message, or a list of messages whose content is a string or a list of
    ``{"type": "text", "text": ...}`` parts) as the text of *every* message, in order: a message's
    parts joined as they are, messages joined by a newline (so ``AB = 10`` and ``BC = 3`` do not
    run together into ``AB = 10BC = 3``).

    Every message, not only the last: the policy writes all of them, so an earlier message must
    not be a place where text escapes the perception judge's length cap and sanitiser (a long or
    injected first message, a clean last one) while the accuracy and format rewards read it.
    Non-text parts (images) are skipped; ``None`` is ``""``.
    """
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    texts = []
    for msg in completion:
        content = msg.get("content", "") if isinstance(msg, Mapping) else msg
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.append("".join(p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text"))
    return "\n".join(texts)


@runtime_checkable
class BatchReward(Protocol):
    """An async reward over a batch.

    ``ascore`` returns one value per completion (``None`` = not applicable to the row by design;
    a failed measurement must be filled by the reward's failure policy, never ``None``, or the
    hybrid would renormalise it). It may take keywords ``deadline`` (``time.monotonic()`` by which
    to return; the runner passes its batch deadline) and ``groups`` (each sample's GRPO group). ``metrics`` returns counters accumulated since the last call (e.g.
    ``judge/failures``) and resets them; the trainer logs them.
    """

    name: str

    async def ascore(self, completions: Sequence[str], rows: Sequence[Mapping]) -> list[float | None]: ...

    def metrics(self) -> dict[str, float]: ...
