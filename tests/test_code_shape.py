"""The size rules of CONTRIBUTING.md, checked on ``src/``: no module over 400 lines, no function
over 60 lines unless its docstring has a line starting ``Long because:`` that says why.

``ALLOWED`` lists what other work in flight still has to split (the lead clears it at merge); an
entry that is no longer needed fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
REASON = "Long because:"

#: path under src/ -> names over the limits ("<module>" for the module's length), owned by others
ALLOWED: dict[str, set[str]] = {}


def _over_limits(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    over = {"<module>"} if len(text.splitlines()) > MAX_MODULE_LINES else set()
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if node.end_lineno - node.lineno + 1 <= MAX_FUNCTION_LINES:
            continue
        doc = ast.get_docstring(node) or ""
        if not any(line.strip().startswith(REASON) for line in doc.splitlines()):
            over.add(node.name)
    return over


def _modules() -> list[tuple[str, Path]]:
    return [(p.relative_to(SRC).as_posix(), p) for p in sorted(SRC.rglob("*.py"))]


def test_no_module_or_function_over_the_limits():
    bad = []
    for rel, path in _modules():
        extra = _over_limits(path) - ALLOWED.get(rel, set())
        bad += [f"{rel}: {name}" for name in sorted(extra)]
    assert not bad, (f"over {MAX_MODULE_LINES} lines per module / {MAX_FUNCTION_LINES} per function, "
                     f"with no '{REASON}' line in the docstring (split it, or say why):\n  " + "\n  ".join(bad))


def test_the_allowlist_holds_only_what_is_still_over():
    stale = []
    for rel, names in ALLOWED.items():
        path = SRC / rel
        still = _over_limits(path) if path.exists() else set()
        stale += [f"{rel}: {name}" for name in sorted(names - still)]
    assert not stale, "no longer over the limits, remove from ALLOWED:\n  " + "\n  ".join(stale)


@pytest.mark.parametrize("source, expected", [
    ("def f():\n" + "    x = 1\n" * 60, {"f"}),
    ('def f():\n    """Long because: a table."""\n' + "    x = 1\n" * 60, set()),
    ("def f():\n" + "    x = 1\n" * 58, set()),
    ("x = 1\n" * 401, {"<module>"}),
])
def test_the_checker_itself(tmp_path, source, expected):
    p = tmp_path / "m.py"
    p.write_text(source)
    assert _over_limits(p) == expected
