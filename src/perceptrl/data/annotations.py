"""Visual annotations as stored by Perception-R1: one string ``<info1>…</info1>\\n<info2>…</info2>…``.

Annotations are free text written by an LLM: they may hold LaTeX, newlines and bare ``<`` / ``>``
(``AB < CD``), so a tag-agnostic regex (``<info\\d+>(.*?)</info\\d+>``) or an HTML parser would cut
them in the wrong place. The parser here walks the string in order: it expects ``<info1>``, takes
everything up to the first ``</info1>`` (same index), then only whitespace until ``<info2>``, and so
on. Anything else (text between items, a skipped or repeated index, an unclosed item, an empty item)
is a malformed string, reported with its position so validation can name it. Nothing is escaped:
the content between the tags is kept verbatim, as the reference stores it (only the surrounding
whitespace of each item is stripped).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_OPEN = re.compile(r"<info(\d+)>")


class AnnotationFormatError(ValueError):
    """A ``visual_key_info`` string that does not follow ``<info1>…</info1>\\n<info2>…</info2>``."""


def parse_visual_key_info(text: str | None) -> list[str]:
    """Split a ``visual_key_info`` string into its annotations, in order.

    ``None`` or an all-whitespace string means "no annotations" (``[]``).
    Raises :class:`AnnotationFormatError` naming the first problem.
    """
    if text is None or not text.strip():
        return []
    if not isinstance(text, str):
        raise AnnotationFormatError(f"expected a string, got {type(text).__name__}")
    items: list[str] = []
    pos = 0
    k = 1
    n = len(text)
    while True:
        # skip whitespace between items
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            break
        m = _OPEN.match(text, pos)
        if m is None:
            snippet = text[pos : pos + 30].replace("\n", "\\n")
            why = ""
            if k == 1 and _OPEN.search(text) is None:
                # plain lines, or <info>…</info> without numbers: never read as "no annotations"
                why = "; the string has no numbered <info1>, <info2>, … tags" + (
                    " (<info> needs its number)" if "<info" in text.lower() else " (plain text is not read as annotations)"
                )
            raise AnnotationFormatError(f"expected <info{k}> at character {pos}, found {snippet!r}{why}")
        if int(m.group(1)) != k:
            raise AnnotationFormatError(f"expected <info{k}> at character {pos}, found <info{m.group(1)}> (items must be numbered 1, 2, 3… in order)")
        close_tag = f"</info{k}>"
        end = text.find(close_tag, m.end())
        if end < 0:
            raise AnnotationFormatError(f"<info{k}> at character {pos} is never closed by {close_tag}")
        content = text[m.end() : end].strip()
        if not content:
            raise AnnotationFormatError(f"<info{k}> is empty")
        items.append(content)
        pos = end + len(close_tag)
        k += 1
    return items


#: The fix for a malformed ``visual_key_info`` string, shown by validation and the CLIs.
VISUAL_KEY_INFO_FIX = "write it as <info1>…</info1>\\n<info2>…</info2>… (numbered from 1, each closed by its own tag)"


def row_annotations(row: Mapping) -> list[str]:
    """A row's annotations: ``visual_annotations`` (a list of strings) when non-empty, else the
    parsed ``visual_key_info`` string. Raises :class:`AnnotationFormatError` for a list that is not
    strings and for a ``visual_key_info`` that does not parse, so that untagged text is reported,
    never read as "no annotations" (which makes the perception term not applicable)."""
    anns = row.get("visual_annotations")
    if anns is not None and not isinstance(anns, (list, tuple)):
        raise AnnotationFormatError(f"visual_annotations must be a list of strings, not a {type(anns).__name__}")
    if anns:
        for i, a in enumerate(anns, 1):
            if not isinstance(a, str):
                raise AnnotationFormatError(f"visual_annotations item {i} is a {type(a).__name__}, not a string")
        return list(anns)
    vki = row.get("visual_key_info")
    if vki is None:
        return []
    if not isinstance(vki, str):
        raise AnnotationFormatError(f"visual_key_info must be a string, not a {type(vki).__name__}")
    try:
        return parse_visual_key_info(vki)
    except AnnotationFormatError as e:
        raise AnnotationFormatError(f"visual_key_info: {e}") from None


def format_visual_key_info(annotations: Sequence[str]) -> str:
    """The inverse of :func:`parse_visual_key_info` (items joined by one newline, as the reference does)."""
    for i, a in enumerate(annotations, 1):
        problem = annotation_problem(a, i)
        if problem:
            raise AnnotationFormatError(problem)
    return "\n".join(f"<info{i}>{a}</info{i}>" for i, a in enumerate(annotations, 1))


def annotation_problem(annotation: object, index: int) -> str | None:
    """Why one annotation (1-based ``index``) cannot be stored in ``visual_key_info``, or ``None``."""
    if not isinstance(annotation, str):
        return f"annotation {index} is a {type(annotation).__name__}, not a string"
    if not annotation.strip():
        return f"annotation {index} is empty"
    if f"</info{index}>" in annotation:
        return f"annotation {index} contains its own closing tag </info{index}>"
    return None
