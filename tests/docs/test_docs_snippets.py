"""The user docs cannot rot: their code is run or checked against the real code.

For ``docs/{data,rewards,models}.md``:

* every ```python block preceded by a ``<!-- test -->`` line is executed, in page order, in one
  namespace per page, in a fresh temporary directory (so a later block may use names an earlier
  one defined, as a reader following the page would); ``# …`` comment lines right after a
  top-level ``print(...)`` are its expected output. Blocks marked ``<!-- test: slow -->`` (the
  models page: torch and transformers take seconds to import) run the same way in a test of their
  own, with ``tiny25`` pointing at the tiny Qwen2.5-VL of the session fixture (~1 s once torch is
  imported and the fixture built);
* every other ```python block must compile, and each ``from perceptrl… import name`` in any block
  must name something the module defines — checked on the source with ``ast``, without importing
  it;
* every ``perceptrl …`` command in a ```bash / ```console block, and every ``$ perceptrl …`` line in
  a ```text block, must parse with the real CLI parser (options renamed or removed fail here).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "docs" / name for name in ("data.md", "rewards.md", "models.md")]
MARKS = {"<!-- test -->": "fast", "<!-- test: slow -->": "slow"}


def code_blocks(path: Path) -> list[tuple[str, str, str | None, int]]:
    """``(language, code, mark, line)`` for each fenced block of ``path``; ``mark`` is "fast",
    "slow" (the line right before the fence is a test mark) or None; ``line``: its first line."""
    blocks = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):  # an opening fence (closing ones are consumed below)
            lang = line[3:].strip()
            mark = MARKS.get(lines[i - 1].strip()) if i > 0 else None
            start = i + 1
            j = start
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            blocks.append((lang, "\n".join(lines[start:j]) + "\n", mark, start + 1))
            i = j + 1
        else:
            i += 1
    return blocks


def _ids(paths):
    return [p.name for p in paths]


# --------------------------------------------------------------------------- the parser itself


def test_block_parser_sees_marks_and_languages(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text(
        "text\n<!-- test -->\n```python\nx = 1\n```\n\n```python\ny = 2\n```\n```bash\nperceptrl data\n```\n"
        "```\nplain\n```\n<!-- test -->\n\n```python\nz = 3\n```\n<!-- test: slow -->\n```python\nw\n```\n"
    )
    assert code_blocks(doc) == [
        ("python", "x = 1\n", "fast", 4),
        ("python", "y = 2\n", None, 8),
        ("bash", "perceptrl data\n", None, 11),
        ("", "plain\n", None, 14),
        ("python", "z = 3\n", None, 19),  # the mark must be on the line right before the fence
        ("python", "w\n", "slow", 23),
    ]


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_doc_exists_and_marks_only_python(doc):
    blocks = code_blocks(doc)
    assert blocks, f"{doc} has no code blocks"
    marked_other = [(lang, line) for lang, _, mark, line in blocks if mark and lang != "python"]
    assert not marked_other, f"a test mark precedes non-python blocks in {doc.name}: {marked_other}"


# --------------------------------------------------------------------------- runnable snippets


def _expected_output(lines: list[str], after: int) -> str | None:
    """The ``# …`` comment lines right after source line ``after`` (1-based), joined, or None."""
    out = []
    for line in lines[after:]:
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        out.append(stripped[1:])
    return " ".join(" ".join(out).split()) if out else None


def run_snippet(code: str, name: str, namespace: dict) -> list[str]:
    """Execute ``code`` statement by statement in ``namespace``; return the mismatches between what
    each top-level ``print(...)`` printed and the comment lines that follow it."""
    tree = ast.parse(code, name)
    lines = code.splitlines()
    mismatches = []
    for stmt in tree.body:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(ast.Module([stmt], type_ignores=[]), name, "exec"), namespace)  # our docs, not input data
        is_print = (
            isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "print"
        )
        expected = _expected_output(lines, stmt.end_lineno) if is_print else None
        if expected is not None:
            got = " ".join(buf.getvalue().split())
            if got != expected:
                mismatches.append(f"{name}+{stmt.lineno - 1}: printed {got!r}, the page says {expected!r}")
    return mismatches


def test_expected_output_is_checked():
    ns: dict = {}
    assert run_snippet("x = [1,\n 2]\nprint(x)\n# [1,\n#  2]\nprint('a')  # note\n", "t", ns) == []
    assert run_snippet("print(3)\n# 4\n", "t", ns) == ["t+0: printed '3', the page says '4'"]


def _run_page(doc: Path, mark: str, monkeypatch) -> None:
    snippets = [(code, line) for lang, code, m, line in code_blocks(doc) if lang == "python" and m == mark]
    assert len(snippets) >= 3, f"{doc.name} should keep its runnable ({mark}) examples"
    # The pages show the built-in reward registry and register a reward of their own: run them
    # against a copy holding only the built-ins (rewards other tests registered are hidden, and the
    # page's own registration is gone afterwards).
    from perceptrl.rewards import registry

    registry.available_rewards()  # loads the built-ins
    builtins = {k: v for k, v in registry._REGISTRY.items() if v.fn.__module__.startswith("perceptrl.rewards.")}
    monkeypatch.setattr(registry, "_REGISTRY", builtins)
    namespace: dict = {"__name__": f"docs_{doc.stem}"}
    mismatches = []
    for code, line in snippets:
        try:
            mismatches += run_snippet(code, f"{doc.name}:{line}", namespace)
        except Exception as e:
            raise AssertionError(f"the snippet at {doc.name} line {line} fails: {type(e).__name__}: {e}") from e
    assert not mismatches, "\n".join(mismatches)


FAST_DOCS = DOCS[:2]  # data.md, rewards.md


@pytest.mark.parametrize("doc", FAST_DOCS, ids=_ids(FAST_DOCS))
def test_runnable_snippets(doc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _run_page(doc, "fast", monkeypatch)


def test_runnable_snippets_models(tmp_path, monkeypatch, tiny_qwen25vl_dir):
    """models.md, with ``tiny25`` = the tiny Qwen2.5-VL ``perceptrl model build-tiny`` writes
    (the session fixture builds the same model: seed 0, default sizes, built-in corpus)."""
    (tmp_path / "tiny25").symlink_to(tiny_qwen25vl_dir, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    _run_page(DOCS[2], "slow", monkeypatch)


# --------------------------------------------------------------------------- static checks


def _module_file(module: str) -> Path | None:
    base = ROOT / "src" / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _defined_names(path: Path) -> set[str]:
    """Top-level names of a module, plus the strings listed in ``__all__`` and the keys of a
    lazy-import table (``_LAZY = {"name": "module"}``, resolved by a module ``__getattr__``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
            target_names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            if target_names & {"__all__", "_LAZY"} and node.value is not None:
                names.update(c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str))
    # submodules are importable names of a package too
    if path.name == "__init__.py":
        names.update(p.stem for p in path.parent.glob("*.py"))
        names.update(p.name for p in path.parent.iterdir() if (p / "__init__.py").is_file())
    return names


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_python_blocks_compile_and_imports_exist(doc):
    problems = []
    for lang, code, _, line in code_blocks(doc):
        if lang != "python":
            continue
        try:
            tree = compile(code, f"{doc.name}:{line}", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError as e:
            problems.append(f"line {line}: does not compile: {e}")
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "perceptrl":
                path = _module_file(node.module)
                if path is None:
                    problems.append(f"line {line}: no module {node.module}")
                    continue
                missing = [a.name for a in node.names if a.name not in _defined_names(path)]
                if missing:
                    problems.append(f"line {line}: {node.module} has no {missing}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "perceptrl" and _module_file(a.name) is None:
                        problems.append(f"line {line}: no module {a.name}")
    assert not problems, f"{doc.name}:\n" + "\n".join(problems)


def _commands(code: str, lang: str) -> list[str]:
    """``perceptrl …`` command lines of a shell block (continuations joined, prompts stripped)."""
    out = []
    joined = code.replace("\\\n", " ")
    for raw in joined.splitlines():
        line = raw.strip()
        if lang == "text":
            if not line.startswith("$ "):
                continue
            line = line[2:]
        elif line.startswith("$ "):
            line = line[2:]
        if not re.match(r"^(?:\w+=\S*\s+)*perceptrl(?:\s|$)", line):
            continue
        words = shlex.split(line, comments=True)
        while words and "=" in words[0] and not words[0].startswith("-"):  # VAR=value prefixes
            words = words[1:]
        if words and words[0] == "perceptrl":
            cut = next((k for k, w in enumerate(words) if w in ("|", ">", ">>", "&&", ";", "2>&1")), len(words))
            out.append(shlex.join(words[1:cut]))
    return out


def test_command_extraction():
    code = "# comment\nHF_HUB_OFFLINE=1 perceptrl data inspect X --split t\nperceptrl data validate a \\\n    --json > r.json\nls\n"
    assert _commands(code, "bash") == ["data inspect X --split t", "data validate a --json"]
    assert _commands("$ perceptrl model build-tiny --out d\nsaved tiny\n", "text") == ["model build-tiny --out d"]


def _strict(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The parser and all its subparsers with prefix abbreviations off, so that a doc showing
    ``--max-prompt-len`` fails once the option is renamed rather than matching by prefix."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _strict(sub)
    return parser


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_cli_commands_parse(doc):
    from perceptrl.cli import build_parser

    commands = [
        (cmd, line)
        for lang, code, _, line in code_blocks(doc)
        if lang in ("bash", "console", "text", "sh")
        for cmd in _commands(code, lang)
    ]
    assert commands, f"{doc.name} shows no perceptrl command"
    bad = []
    for cmd, line in commands:
        argv = shlex.split(cmd)
        try:
            args = _strict(build_parser(argv)).parse_args(argv)
        except SystemExit:
            bad.append(f"block at line {line}: `perceptrl {cmd}` does not parse")
            continue
        if not callable(getattr(args, "func", None)):
            bad.append(f"block at line {line}: `perceptrl {cmd}` names no runnable command")
    assert not bad, f"{doc.name}:\n" + "\n".join(bad)
