"""The reward interfaces every reward family and engine adapter agree on.

* A plain reward is ``fn(completion: str, row: Mapping) -> float | None``: pure, no I/O, never
  executes its input; ``None`` means "not applicable to this row" (e.g. IoU without gold boxes).
* A :class:`BatchReward` scores a whole batch asynchronously: used for rewards that call a
  model or a server (the perception judge), so that they run concurrently with the cheap
  rewards and can dedupe/cache across the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Callable, Optional, Protocol, runtime_checkable

RewardFn = Callable[[str, Mapping], Optional[float]]


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
