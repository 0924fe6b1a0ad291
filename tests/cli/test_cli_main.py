"""The ``perceptrl`` entry point: one table of commands, imported lazily."""

import argparse
import importlib
import subprocess
import sys

import pytest

from perceptrl.cli import COMMANDS, build_parser, main


def test_help_lists_every_command_without_importing_heavy_libraries():
    code = (
        "import sys, contextlib, io\n"
        "from perceptrl.cli import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    try: main(['--help'])\n"
        "    except SystemExit: pass\n"
        "print(sorted(m for m in ('torch', 'transformers', 'openai', 'trl') if m in sys.modules))\n"
        "print(buf.getvalue())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "[]"
    for name in COMMANDS:
        assert f"    {name} " in out


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_module_registers_the_command_of_its_table_entry(name):
    module, _ = COMMANDS[name]
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    importlib.import_module(module).register(sub)
    assert name in sub.choices, f"{module}.register() did not add the {name!r} subcommand"
    assert "func" in sub.choices[name]._defaults or sub.choices[name]._subparsers is not None


def test_only_the_requested_command_is_fully_registered():
    parser = build_parser(["-v", "score", "--help"])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert any(a.dest == "input" for a in sub.choices["score"]._actions)
    assert not any(a.dest == "input" for a in sub.choices["data"]._actions)


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 1
    assert "COMMAND" in capsys.readouterr().out


def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    rc = main(["data", "validate", str(tmp_path / "missing.jsonl")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and "missing.jsonl" in err


def test_output_piped_into_head_stops_quietly(tmp_path):
    rows = "".join('{"id": "%d", "problem": "Q", "answer": ""}\n' % i for i in range(3000))
    (tmp_path / "bad.jsonl").write_text(rows)
    proc = subprocess.run(
        f"{sys.executable} -m perceptrl.cli data validate --json {tmp_path / 'bad.jsonl'} | head -c 100",
        shell=True, capture_output=True, text=True,
    )
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
