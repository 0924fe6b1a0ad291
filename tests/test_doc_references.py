"""Docstrings and comments in src/ point where they say: every ``docs/X.md`` names a file of
docs/, and a ``§N`` after it (``docs/methods.md §1``) a heading of that file numbered N; the
design specs' old names (METHODS.md, EVAL.md, ARCHITECTURE.md, CONTRACTS.md) are not used."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REF = re.compile(r"docs/([a-z0-9_-]+\.md)(?:\s*§\s*(\d+))?")
OLD = re.compile(r"(?<![\w/])(?:METHODS|EVAL|ARCHITECTURE|CONTRACTS)\.md")


def _headings(path: Path) -> list[str]:
    return [line.lstrip("#").strip() for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]


def _sources() -> list[Path]:
    return sorted((ROOT / "src").rglob("*.py"))


def test_every_docs_reference_resolves_to_a_file_and_section():
    bad = []
    for path in _sources():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in REF.finditer(line):
                doc = ROOT / "docs" / m.group(1)
                where = f"{path.relative_to(ROOT)}:{n}"
                if not doc.is_file():
                    bad.append(f"{where}: docs/{m.group(1)} does not exist")
                elif m.group(2) and not any(h.startswith(f"{m.group(2)}.") for h in _headings(doc)):
                    bad.append(f"{where}: docs/{m.group(1)} has no section {m.group(2)}")
    assert not bad, "\n".join(bad)


def test_no_reference_to_the_old_spec_names():
    bad = [f"{p.relative_to(ROOT)}:{n}: {line.strip()[:100]}" for p in _sources()
           for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if OLD.search(line)]
    assert not bad, "point these at docs/methods.md, docs/eval-protocols.md or docs/architecture.md:\n" + "\n".join(bad)


def test_the_checker_finds_a_broken_section(tmp_path):
    assert REF.search("see docs/methods.md §7").groups() == ("methods.md", "7")
    assert not any(h.startswith("7.") for h in _headings(ROOT / "docs" / "methods.md"))
