"""Final-answer extraction from a model response.

The Perception-R1 reference reads the answer with ``<answer>(.*?)</answer>`` *without*
``re.DOTALL``, so a multi-line answer silently falls back to the whole response (METHODS.md,
reference bug 4). Here the answer block is matched across lines, and inside it (or, without a
block, in the whole response) the **last** ``\\boxed{...}`` is read with balanced braces, so
``\\boxed{\\frac{1}{2}}`` yields ``\\frac{1}{2}`` and not ``\\frac{1``.

Order of preference:

1. the last ``<answer>…</answer>`` block (a block left open by truncation counts from its
   ``<answer>`` to the end); inside it the last non-empty ``\\boxed{}``/``\\fbox{}`` if any, else
   the whole block;
2. without a block: the last non-empty ``\\boxed{}`` in the response;
3. without either: the text after the last "final answer is" / "answer:" / "the answer is";
4. otherwise ``None``.

Reading an answer is lenient (``\\fbox{3}``, ``\\boxed {3}`` and ``\\boxed 3`` all give ``3``): the
accuracy reward grades what the response answered. The *format* reward is strict about the box
(:func:`has_strict_box`). An empty box (``\\boxed{}``, ``\\boxed{ }``) states no answer and is
skipped.

Only string scanning happens here: nothing is parsed or evaluated. Every scan is **one linear
pass**: :func:`boxes` walks the text once with a stack of open braces (the previous
implementation re-scanned the rest of the text from every ``\\boxed{``, so 56 KB of unclosed
``\\boxed{`` took 14 s), and the answer tags are found with one tag scan instead of a lazy
``<answer>(.*?)</answer>`` that re-scans to the end from every unclosed ``<answer>``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Box", "boxes", "box_content", "extract_answer", "extract_answer_block", "last_boxed", "has_strict_box"]

_TAG_RE = re.compile(r"<(/?)answer>", re.IGNORECASE)
# One token of the box scan: a run of backslashes followed by a box command or a brace, or a brace.
_SCAN_RE = re.compile(r"(\\+)(?:(boxed|fbox)(?![A-Za-z])|([{}]))?|([{}])")
_SPACES_RE = re.compile(r" *")
_TOKEN_RE = re.compile(r"[^\s$]+")
_NONSPACE_RE = re.compile(r"\S")
# "final answer is X", "answer: X", "the answer is X" — X runs to the end of its line.
_PHRASE_RE = re.compile(
    r"(?:final\s+answer\s*(?:is|:)|the\s+answer\s+is|answer\s*:)\s*(?P<ans>[^\n]+)",
    re.IGNORECASE,
)


class Box(NamedTuple):
    """One ``\\boxed``/``\\fbox`` occurrence found by :func:`boxes` (positions into the text).

    ``start``: index of its backslash; ``command``: ``"boxed"`` or ``"fbox"``; ``spaced``: spaces
    between the command and its argument (``\\boxed {3}``, ``\\boxed 3``); ``braced``: the argument
    is a brace group; ``begin``/``end``: the argument is ``text[begin:end]`` (the group's inside,
    or for ``\\boxed 3`` the next token); ``end`` is ``-1`` for a group that never closes;
    ``blank``: the argument is empty or only whitespace.
    """

    start: int
    command: str
    spaced: bool
    braced: bool
    begin: int
    end: int
    blank: bool

    @property
    def complete(self) -> bool:
        """A closed group (or a token) with something in it."""
        return self.end >= 0 and not self.blank


def boxes(text: str) -> list[Box]:
    """Every box command of ``text``, in order, found in one pass (linear in ``len(text)``).

    Brace groups are matched with a stack; escaped braces (``\\{``, ``\\}``: an odd run of
    backslashes before the brace) are skipped and ``\\\\`` is a line break, as in LaTeX. A group's
    argument ends at the brace that closes it: exactly what a depth counter started at its ``{``
    finds, without re-scanning. A command is recognised after any run of backslashes
    (``\\\\boxed{3}``, a doubly escaped box, counts), as the reference's regex does.
    """
    n = len(text)
    stack: list[int] = []          # positions of the unclosed "{"
    opener: dict[int, int] = {}    # position of a box's "{" -> index of that box in `found`
    found: list[list] = []
    for m in _SCAN_RE.finditer(text):
        slashes, command, after_slashes, brace = m.groups()
        if command is not None:
            j = m.end()
            k = _SPACES_RE.match(text, j).end()
            start = m.start() + len(slashes) - 1
            if k < n and text[k] == "{":
                opener[k] = len(found)
                found.append([start, command, k > j, True, k + 1, -1, True])
            elif k > j and k < n and not text[k].isspace() and text[k] != "$":  # "\boxed 3": the next token
                found.append([start, command, True, False, k, _TOKEN_RE.match(text, k).end(), False])
            continue
        if after_slashes is not None:
            if len(slashes) % 2:
                continue  # \{ or \}: an escaped brace
            brace = after_slashes
        if brace == "{":
            stack.append(m.end() - 1)
        elif brace == "}" and stack:
            idx = opener.pop(stack.pop(), None)
            if idx is not None:
                box = found[idx]
                box[5] = m.end() - 1
                # Linear overall: the whitespace run at the start of each group is scanned once.
                box[6] = _NONSPACE_RE.search(text, box[4], box[5]) is None
    return [Box(*b) for b in found]


def box_content(text: str, box: Box) -> str | None:
    """The argument of ``box`` in ``text`` (``None`` for a group that never closes)."""
    return None if box.end < 0 else text[box.begin : box.end]


def last_boxed(text: str) -> str | None:
    """Content of the last complete, non-empty ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced.

    An unbalanced (truncated) or empty last box is skipped in favour of the previous complete one.
    ``\\boxed 5`` (no braces) yields ``5``; nested boxes yield the innermost (it starts last).
    """
    for box in reversed(boxes(text)):
        if box.complete:
            return text[box.begin : box.end]
    return None


def has_strict_box(text: str) -> bool:
    """Whether ``text`` holds a complete, non-empty ``\\boxed{…}`` written exactly so: the
    command ``\\boxed`` directly followed by a balanced brace group (the reference's
    ``\\boxed{.+?}``). ``\\boxed {3}``, ``\\boxed 3``, ``\\fbox{3}`` and ``\\boxed{}`` do not count."""
    return any(b.command == "boxed" and b.braced and not b.spaced and b.complete for b in boxes(text))


def extract_answer_block(text: str) -> str | None:
    """Content of the last ``<answer>`` block (multi-line), or of a block left open at the end.

    Blocks pair each ``<answer>`` with the first ``</answer>`` after it, left to right (what a
    lazy ``<answer>(.*?)</answer>`` finds); an ``<answer>`` after the last closed block starts a
    newer, truncated block that runs from the last such tag to the end. One pass over the tags.
    """
    block: tuple[int, int] | None = None
    open_at = None     # end of the opening tag of the block being read
    last_open = None   # end of the last opening tag seen
    for m in _TAG_RE.finditer(text):
        if m.group(1):  # </answer>
            if open_at is not None:
                block, open_at, last_open = (open_at, m.start()), None, None
        else:
            if open_at is None:
                open_at = m.end()
            last_open = m.end()
    if last_open is not None:
        return text[last_open:]
    return text[block[0] : block[1]] if block is not None else None


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
