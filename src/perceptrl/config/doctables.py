"""Option tables in ``docs/*.md``: rendered from the dataclasses, and read back to be checked.

``option_table(JudgeConfig)`` prints a ``| key | default | meaning |`` table (the defaults and help
texts of the fields) to paste into a doc; ``doc_defaults`` reads the defaults a doc's table shows,
so that a test can compare them with the declarations (``tests/cli/test_cli_option_declarations.py``).
"""

from __future__ import annotations

import re
from typing import Any

from perceptrl.config.options import default_of, options_of, render_default

#: a default cell's words that stand for a value
_WORDS = {"none": None, "null": None, "off": False, "on": True, "required": None}
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:e-?\d+)?$")


def option_table(cls: type, keys: list[str] | None = None) -> str:
    """A markdown table of ``cls``'s options (all, or ``keys``): key, default, help."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for f in options_of(cls):
        if keys is None or f.name in keys:
            meaning = " ".join(str(f.metadata["help"]).split()).replace("|", "\\|")
            rows.append(f"| `{f.name}` | `{render_default(default_of(cls, f.name))}` | {meaning} |")
    return "\n".join(rows) + "\n"


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def tables_after(text: str, heading: str) -> list[list[list[str]]]:
    """The tables (rows of cells, header and rule dropped) under ``heading`` up to the next heading
    of the same or a higher level."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == heading), None)
    if start is None:
        raise KeyError(f"no heading {heading!r}")
    level = len(heading) - len(heading.lstrip("#"))
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for ln in lines[start + 1:]:
        if ln.startswith("#") and len(ln) - len(ln.lstrip("#")) <= level:
            break
        if ln.startswith("|"):
            if current is None:
                current = []
                tables.append(current)
            cells = _cells(ln)
            if not all(set(c) <= set("-: ") for c in cells):
                current.append(cells)
        else:
            current = None
    return [t[1:] for t in tables]  # drop each header row


def table_with_header(text: str, header: str) -> list[list[str]]:
    """The rows (cells) of the table whose header line is ``header``."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == header), None)
    if start is None:
        raise KeyError(f"no table headed {header!r}")
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append(_cells(ln))
    return rows


def cell_value(cell: str) -> tuple[bool, Any]:
    """``(True, value)`` for a default cell that states a literal (a backticked YAML value, a number,
    none/off/on), ``(False, None)`` for prose (a default described in words)."""
    from perceptrl.config.recipe import yaml_load

    m = re.match(r"^`([^`]*)`", cell)
    if m:
        token = m.group(1)
        return True, None if token in ("None", "null", "none") else yaml_load(token) if token != "" else ""
    word = cell.split(" (")[0].strip()
    if word.lower() in _WORDS:
        return True, _WORDS[word.lower()]
    if _NUMBER.match(word):
        return True, yaml_load(word)
    return False, None


def keys_of(cell: str) -> list[str]:
    """The keys a first cell names: ``\\`min_pixels\\`, \\`max_pixels\\``` -> both; ``--flag ARG`` -> ``--flag``."""
    return [k.split()[0] for k in re.findall(r"`([^`]+)`", cell)]


def same_value(declared: Any, shown: Any) -> bool:
    if isinstance(declared, tuple):
        declared = list(declared)
    if isinstance(declared, float) or isinstance(shown, float):
        return isinstance(shown, (int, float)) and not isinstance(shown, bool) and float(declared) == float(shown)
    return declared == shown


def main(argv: list[str] | None = None) -> int:
    """``python -m perceptrl.config.doctables perceptrl.judge.config:JudgeConfig`` prints its table."""
    import importlib
    import sys

    for spec in (sys.argv[1:] if argv is None else argv):
        module, _, name = spec.partition(":")
        print(option_table(getattr(importlib.import_module(module), name)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
