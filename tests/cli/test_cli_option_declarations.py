"""One declaration per option (issue 13 §1).

* every flag of every ``perceptrl`` command is built from a dataclass field (:func:`add_flag`), and its
  default is that field's (or, marked, decided at run time and said so in its help);
* no option name is declared with its own default in two dataclasses, except the listed pairs whose
  meanings differ;
* the option tables of docs/*.md show the declared defaults and name existing options.
"""

from __future__ import annotations

import argparse
import itertools
import re
from pathlib import Path

import pytest

from perceptrl.cli import COMMANDS, build_parser
from perceptrl.config.doctables import cell_value, keys_of, same_value, table_with_header, tables_after
from perceptrl.config.options import SOURCE_ATTR, default_of, options_of
from perceptrl.judge.config import JudgeConfig
from perceptrl.models.sizes import TinyVLMSize
from perceptrl.train.config import DataConfig, MethodConfig, ModelConfig, RewardsConfig

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _parsers(p: argparse.ArgumentParser):
    yield p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def _command(name: str) -> argparse.ArgumentParser:
    root = build_parser([name])
    (sub,) = [a for a in root._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices[name]


def _flags():
    for name in COMMANDS:
        for p in _parsers(_command(name)):
            for action in p._actions:
                if action.option_strings and not isinstance(action, argparse._HelpAction):
                    yield p.prog, action


def test_every_flag_reads_its_default_from_its_declaration():
    undeclared, drifted = [], []
    for prog, action in _flags():
        source = getattr(action, SOURCE_ATTR, None)
        if source is None:
            undeclared.append(f"{prog} {action.option_strings[0]}")
            continue
        cls, name, derived = source
        if not derived and action.default != default_of(cls, name):
            drifted.append(f"{prog} {action.option_strings[0]}: {action.default!r} != {cls.__name__}.{name}")
    assert not undeclared, "declare these flags as dataclass fields and add them with add_flag: " + ", ".join(undeclared)
    assert not drifted, "; ".join(drifted)


def test_every_flag_shows_its_default_and_help():
    for prog, action in _flags():
        cls, name, _ = getattr(action, SOURCE_ATTR)
        assert action.help and (action.required or "default" in action.help or "Left out" in action.help), \
            (prog, action.option_strings)


#: names declared with a default in more than one dataclass, and why they are different options
OTHER_MEANING = {
    "backend": ({"EvalCommand", "JudgeConfig"}, "generation backend (hf/vllm) vs judge backend"),
    "batch_size": ({"EvalCommand", "JudgeConfig", "ScoreCommand"},
                   "prompts per generate call / transformers-judge batch / responses per written batch"),
    "choice_share": ({"DemoConfig", "SynthCommand"}, "the demo world's choice (0.5) vs the generator's default"),
    "difficulty": ({"DemoConfig", "SynthCommand"}, "the demo world's choice vs the generator's default"),
    "kinds": ({"DemoConfig", "SynthCommand"}, "the demo world (charts) vs the generator's default (all kinds)"),
    "shortcut": ({"DemoConfig", "SynthCommand"}, "the demo world's choice vs the generator's default"),
    "json": ({"EvalCommand", "DataCommand"}, "a JSON output path vs print-as-JSON"),
    "min_pixels": ({"TinyVLMSize", "DataConfig"}, "the tiny model's processor bound vs the training override"),
    "max_pixels": ({"TinyVLMSize", "DataConfig"}, "the tiny model's processor bound vs the training override"),
    "seed": ({"EvalCommand", "BuildTinyCommand", "FidelityCommand", "SynthCommand"},
             "sampling / weight init / synthetic judge set / generator seeds"),
    "temperature": ({"DemoConfig", "JudgeConfig"}, "rollout sampling vs the judge's decoding"),
    "template": ({"DemoConfig", "EvalCommand", "DataConfig"}, "the demo's prompt (plain) vs eval's / training's"),
    "workers": ({"RewardsConfig", "DemoConfig"}, "reward worker processes vs demo job processes"),
}


def _declaring_classes() -> set[type]:
    classes = {getattr(a, SOURCE_ATTR)[0] for _, a in _flags()}
    classes |= {ModelConfig, DataConfig, RewardsConfig, JudgeConfig, MethodConfig}
    return {c for c in classes if c.__module__.startswith("perceptrl.")}


def test_no_option_is_declared_twice():
    by_name: dict[str, list[type]] = {}
    for cls in _declaring_classes():
        for f in options_of(cls):
            by_name.setdefault(f.name, []).append(cls)
    twice = []
    for name, classes in sorted(by_name.items()):
        with_default = {c.__name__ for c in classes if default_of(c, name) is not None}
        if len(with_default) < 2:
            continue  # inputs and paths without a default: nothing to drift
        allowed = OTHER_MEANING.get(name, (set(), ""))[0]
        if not with_default <= allowed:
            twice.append(f"{name}: {', '.join(sorted(with_default))}")
    assert not twice, "one declaration per option (read it from the other dataclass, or list why they differ): " + "; ".join(twice)


def test_declarations_test_catches_a_second_default():
    """The check above fails on a real duplicate: a dataclass redeclaring JudgeConfig.max_retries."""
    import dataclasses

    from perceptrl.config.options import option

    @dataclasses.dataclass
    class Twin:
        max_retries: int = option(5, help="retries")

    names = {f.name for f in options_of(JudgeConfig)} & {f.name for f in options_of(Twin)}
    assert names == {"max_retries"} and "max_retries" not in OTHER_MEANING


def _check_rows(rows, lookup, where):
    bad = []
    for row in rows:
        for key_cell, default_cell in zip(row[0::3], row[1::3]) if len(row) > 3 else [(row[0], row[1])]:
            keys = keys_of(key_cell)
            values = re.findall(r"`[^`]*`", default_cell)
            cells = values if len(keys) > 1 and len(values) == len(keys) else [default_cell] * len(keys)
            for key, default_cell in zip(keys, cells):
                found = lookup(key)
                if found is None:
                    bad.append(f"{where}: `{key}` is not an option")
                    continue
                declared, derived = found
                literal, shown = cell_value(default_cell)
                if literal and not derived and declared is not None and not same_value(declared, shown):
                    bad.append(f"{where}: `{key}` shows {default_cell!r}, declared {declared!r}")
    return bad


SECTION_TABLES = [("### `model`", ModelConfig), ("### `data`", DataConfig), ("### `rewards`", RewardsConfig),
                  ("### `judge`", JudgeConfig), ("### `method`", MethodConfig)]


@pytest.mark.parametrize("heading, cls", SECTION_TABLES, ids=[c.__name__ for _, c in SECTION_TABLES])
def test_training_doc_tables_show_the_declared_defaults(heading, cls):
    text = (DOCS / "training.md").read_text()
    (rows,) = tables_after(text, heading)
    fields = {f.name for f in options_of(cls)}
    bad = _check_rows(rows, lambda k: (default_of(cls, k), False) if k in fields else None, f"training.md {heading}")
    assert not bad, "\n".join(bad)


def _flag_lookup(argv: list[str]):
    p = _command(argv[0])
    for word in argv[1:]:
        (sub,) = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        p = sub.choices[word]
    actions = {s: a for a in p._actions for s in a.option_strings}

    def lookup(flag):
        a = actions.get(flag)
        if a is None:
            return None
        cls, name, derived = getattr(a, SOURCE_ATTR)
        return default_of(cls, name) if not derived else None, derived
    return lookup


CLI_TABLES = [("data.md", "| option | default | |", ["data", "validate"]),
              ("rewards.md", "| option | default | |", ["score"])]


@pytest.mark.parametrize("doc, header, argv", CLI_TABLES, ids=[d for d, _, _ in CLI_TABLES])
def test_cli_doc_tables_show_the_declared_defaults(doc, header, argv):
    rows = table_with_header((DOCS / doc).read_text(), header)
    bad = _check_rows(rows, _flag_lookup(argv), doc)
    assert not bad, "\n".join(bad)


def test_tiny_model_size_table():
    rows = table_with_header((DOCS / "models.md").read_text(), "| field | default | | field | default |")
    fields = {f.name for f in options_of(TinyVLMSize)}
    bad = _check_rows(rows, lambda k: (default_of(TinyVLMSize, k), False) if k in fields else None, "models.md")
    assert not bad, "\n".join(bad)


def test_the_doc_check_sees_a_wrong_default():
    rows = [["`lora_r`", "`8`", "rank"], ["`lora_rank`", "`0`", "no such key"]]
    bad = _check_rows(rows, lambda k: (default_of(ModelConfig, k), False) if k == "lora_r" else None, "x")
    assert len(bad) == 2 and "shows" in bad[0] and "not an option" in bad[1]


def test_allowlist_names_only_real_pairs():
    names = {}
    for cls in _declaring_classes():
        for f in options_of(cls):
            names.setdefault(f.name, set()).add(cls.__name__)
    for name, (classes, _) in OTHER_MEANING.items():
        assert classes <= names.get(name, set()), (name, classes - names.get(name, set()))
    assert not [n for n, cs in itertools.groupby(sorted(OTHER_MEANING)) if len(list(cs)) > 1]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_of_every_command_lists_every_option(name):
    for p in _parsers(_command(name)):
        text = " ".join(p.format_help().split())
        for action in p._actions:
            if action.option_strings and not isinstance(action, argparse._HelpAction):
                assert action.option_strings[0] in text, (p.prog, action.option_strings[0])
                first_words = " ".join(action.help.split(" (default")[0].split()[:4]).replace("%%", "%")
                assert first_words in text, (p.prog, action.option_strings[0])
