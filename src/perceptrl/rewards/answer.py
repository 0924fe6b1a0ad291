"""Final-answer extraction from a model response.

The Perception-R1 reference reads the answer with ``<answer>(.*?)</answer>`` *without*
``re.DOTALL``, so a multi-line answer silently falls back to the whole response (docs/methods.md §1,
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
# One token of the box scan: a run of backslashes followed by a box command (with the spaces and
# the "{" after it) or by a brace; or a bare brace.
# The tail after the run is optional so that a run of backslashes is consumed whole: retrying
# inside a long run would be quadratic.
_SCAN_RE = re.compile(r"(\\+)(?:(boxed|fbox)(?![A-Za-z])( *)(\{)?|([{}]))?|([{}])")
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


def _scan(text: str):
    """The box commands of ``text`` as parallel lists ``(starts, commands, spaced, braced, begins,
    ends)`` (see :class:`Box`), in one pass over its backslashes and braces."""
    n = len(text)
    stack: list[int] = []          # positions of the unclosed "{"
    push, pop = stack.append, stack.pop
    opener: dict[int, int] = {}    # position of a box's "{" -> index of that box
    starts: list[int] = []
    commands: list[str] = []
    spaced: list[bool] = []
    braced: list[bool] = []
    begins: list[int] = []
    ends: list[int] = []
    for m in _SCAN_RE.finditer(text):
        slashes, command, spaces, obrace, after_slashes, brace = m.groups()
        if command is not None:
            start = m.start() + len(slashes) - 1
            if obrace is not None:
                pos = m.end() - 1
                opener[pos] = len(starts)
                push(pos)
                starts.append(start), commands.append(command), spaced.append(bool(spaces)), braced.append(True)
                begins.append(pos + 1), ends.append(-1)
            elif spaces:  # "\boxed 3": the next token
                k = m.end()
                if k < n and not text[k].isspace() and text[k] != "$":
                    starts.append(start), commands.append(command), spaced.append(True), braced.append(False)
                    begins.append(k), ends.append(_TOKEN_RE.match(text, k).end())
            continue
        if after_slashes is not None:
            if len(slashes) % 2:
                continue  # \{ or \}: an escaped brace
            brace = after_slashes
        if brace == "{":
            push(m.end() - 1)
        elif brace == "}" and stack:
            idx = opener.pop(pop(), None)
            if idx is not None:
                ends[idx] = m.end() - 1
    return starts, commands, spaced, braced, begins, ends


def _blank(text: str, begin: int, end: int) -> bool:
    # Linear over all boxes: only the whitespace run at the start of each argument is scanned,
    # and those runs cannot overlap (each argument starts right after a "{" or a space run).
    return _NONSPACE_RE.search(text, begin, end) is None


def boxes(text: str) -> list[Box]:
    """Every box command of ``text``, in order, found in one pass (linear in ``len(text)``).

    Brace groups are matched with a stack; escaped braces (``\\{``, ``\\}``: an odd run of
    backslashes before the brace) are skipped and ``\\\\`` is a line break, as in LaTeX. A group's
    argument ends at the brace that closes it: exactly what a depth counter started at its ``{``
    finds, without re-scanning. A command is recognised after any run of backslashes
    (``\\\\boxed{3}``, a doubly escaped box, counts), as the reference's regex does.
    """
    starts, commands, spaced, braced, begins, ends = _scan(text)
    return [
        Box(starts[i], commands[i], spaced[i], braced[i], begins[i], ends[i],
            ends[i] < 0 or _blank(text, begins[i], ends[i]))
        for i in range(len(starts))
    ]


def box_content(text: str, box: Box) -> str | None:
    """The argument of ``box`` in ``text`` (``None`` for a group that never closes)."""
    return None if box.end < 0 else text[box.begin : box.end]


def last_boxed(text: str) -> str | None:
    """Content of the last complete, non-empty ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced.

    An unbalanced (truncated) or empty last box is skipped in favour of the previous complete one.
    ``\\boxed 5`` (no braces) yields ``5``; nested boxes yield the innermost (it starts last).
    """
    if "\\boxed" not in text and "\\fbox" not in text:
        return None
    _, _, _, _, begins, ends = _scan(text)
    for i in range(len(begins) - 1, -1, -1):
        if ends[i] >= 0 and not _blank(text, begins[i], ends[i]):
            return text[begins[i] : ends[i]]
    return None


def has_strict_box(text: str) -> bool:
    """Whether ``text`` holds a complete, non-empty ``\\boxed{…}`` written exactly so: the
    command ``\\boxed`` directly followed by a balanced brace group (the reference's
    ``\\boxed{.+?}``). ``\\boxed {3}``, ``\\boxed 3``, ``\\fbox{3}`` and ``\\boxed{}`` do not count."""
    if "\\boxed{" not in text:
        return False
    starts, commands, spaced, braced, begins, ends = _scan(text)
    return any(
        commands[i] == "boxed" and braced[i] and not spaced[i] and ends[i] >= 0 and not _blank(text, begins[i], ends[i])
        for i in range(len(starts))
    )


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
