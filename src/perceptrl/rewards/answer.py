"""Final-answer extraction from a model response.

The Perception-R1 reference reads the answer with ``<answer>(.*?)</answer>`` *without*
``re.DOTALL``, so a multi-line answer silently falls back to the whole response (METHODS.md,
reference bug 4). Here the answer block is matched across lines, and inside it (or, without a
block, in the whole response) the **last** ``\\boxed{...}`` is read with balanced braces, so
``\\boxed{\\frac{1}{2}}`` yields ``\\frac{1}{2}`` and not ``\\frac{1``.

Order of preference:

1. the last ``<answer>…</answer>`` block (a block left open by truncation counts from its
   ``<answer>`` to the end); inside it the last ``\\boxed{}``/``\\fbox{}`` if any, else the whole block;
2. without a block: the last ``\\boxed{}`` in the response;
3. without either: the text after the last "final answer is" / "answer:" / "the answer is";
4. otherwise ``None``.

Only string scanning happens here: nothing is parsed or evaluated.
"""

from __future__ import annotations

import re

__all__ = ["extract_answer", "extract_answer_block", "last_boxed"]

_BLOCK_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_OPEN_RE = re.compile(r"<answer>", re.IGNORECASE)
_BOX_COMMANDS = ("\\boxed", "\\fbox")
# "final answer is X", "answer: X", "the answer is X" — X runs to the end of its line.
_PHRASE_RE = re.compile(
    r"(?:final\s+answer\s*(?:is|:)|the\s+answer\s+is|answer\s*:)\s*(?P<ans>[^\n]+)",
    re.IGNORECASE,
)


def extract_answer_block(text: str) -> str | None:
    """Content of the last ``<answer>`` block (multi-line), or of a block left open at the end."""
    last = None
    for last in _BLOCK_RE.finditer(text):
        pass
    if last is not None:
        # An opening tag after the last closed block means a newer, truncated block.
        tail_open = None
        for tail_open in _OPEN_RE.finditer(text, last.end()):
            pass
        if tail_open is None:
            return last.group(1)
        return text[tail_open.end():]
    opened = None
    for opened in _OPEN_RE.finditer(text):
        pass
    return text[opened.end():] if opened is not None else None


def _braced(text: str, start: int) -> str | None:
    """The content of the brace group opening at ``text[start] == '{'``, or None if unbalanced."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:  # skip escaped characters such as \{ and \}
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
        i += 1
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last complete ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced.

    An unbalanced (truncated) last box is skipped in favour of the previous complete one.
    ``\\boxed 5`` (no braces) yields ``5``.
    """
    positions = []
    for cmd in _BOX_COMMANDS:
        pos = text.rfind(cmd)
        while pos != -1:
            positions.append((pos, cmd))
            pos = text.rfind(cmd, 0, pos)
    for pos, cmd in sorted(positions, reverse=True):
        j = pos + len(cmd)
        if text[j : j + 1].isalpha():  # e.g. \boxedsomething: not our command
            continue
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            content = _braced(text, j)
            if content is not None:
                return content
        elif j > pos + len(cmd):  # "\boxed 5": the next token
            m = re.match(r"[^\s$]+", text[j:])
            if m:
                return m.group(0)
    return None


def extract_answer(text: str | None) -> str | None:
    """The final answer of a response (see the module docstring for the order), stripped."""
    if not text:
        return None
    block = extract_answer_block(text)
    if block is not None:
        boxed = last_boxed(block)
        ans = boxed if boxed is not None else block
        ans = ans.strip()
        return ans or None
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed.strip() or None
    last = None
    for last in _PHRASE_RE.finditer(text):
        pass
    if last is not None:
        ans = last.group("ans").strip().rstrip(".").strip()
        return ans or None
    return None
