"""Reading a JSONL file of objects while collecting every bad line, for commands that report them all.

Commands that score user files (``perceptrl score``, ``perceptrl judge``) list every bad line
before any work starts, rather than stopping at the first one as the dataset reader does. A line
that is not UTF-8, or whose JSON holds an unpaired surrogate escape (``"\\ud800"``: valid JSON, not
Unicode text, and it would fail later when the result is written), is a bad line like any other; a
file that is not text at all (parquet, gzip, UTF-16) raises :class:`PerceptrlError` at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from perceptrl.data.encoding import NOT_UTF8, REENCODE_FIX, text_lines

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def has_surrogate(obj: Any) -> bool:
    """Whether any string (key or value) in ``obj`` holds an unpaired surrogate (from a ``\\ud800`` escape)."""
    if isinstance(obj, str):
        return _SURROGATE.search(obj) is not None
    if isinstance(obj, dict):
        return any(has_surrogate(k) or has_surrogate(v) for k, v in obj.items())
    if isinstance(obj, list):
        return any(has_surrogate(v) for v in obj)
    return False


def may_hold_surrogate(text: str) -> bool:
    """A cheap pre-check for :func:`has_surrogate`: the JSON text has a ``\\udXXX`` escape."""
    return _SURROGATE_ESCAPE.search(text) is not None


def json_objects(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line number, object, problem)`` for each non-blank line of ``path``; the object is None
    when the line is not a JSON object, and ``problem`` then says why (``"line 3: not JSON (…)"``,
    ``"line 4: not UTF-8 text (byte 0xe9 at column 12 …)"``)."""
    for n, line, problem in text_lines(path):
        if line is None:
            yield n, None, problem
            continue
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
        if may_hold_surrogate(line) and has_surrogate(obj):
            yield n, None, f"line {n}: {NOT_UTF8} (an unpaired surrogate escape such as \\ud800, which is not a character)"
            continue
        yield n, obj, None


def encoding_fix(problems: list[str], path: str | Path) -> str | None:
    """The re-encoding fix when any of ``problems`` is about the encoding, else ``None``."""
    return REENCODE_FIX.format(path=path) if any(NOT_UTF8 in p for p in problems) else None
