"""Reading a JSONL file of objects while collecting every bad line, for commands that report them all.

Commands that score user files (``perceptrl score``, ``perceptrl judge``) list every bad line
before any work starts, rather than stopping at the first one as the dataset reader does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def json_objects(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line number, object, problem)`` for each non-blank line of ``path``; the object is None
    when the line is not a JSON object, and ``problem`` then says why (``"line 3: not JSON (…)"``)."""
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield n, None, f"line {n}: not JSON ({e.msg})"
                continue
            if not isinstance(obj, dict):
                yield n, None, f"line {n}: not a JSON object"
                continue
            yield n, obj, None
