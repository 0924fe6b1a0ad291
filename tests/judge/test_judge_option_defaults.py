"""One default per option: every CLI flag and constructor that exposes a judge / stage-1 / reward
runner option reads its default from the one declaration (the config dataclass field), so that
editing the dataclass changes them all.

Two checks: the real parsers' defaults equal the declarations (what a user sees), and a scan of
the sources finds no literal default for these options outside their declarations (what would
drift the next time the declaration changes).
"""

from __future__ import annotations

import argparse
import ast
import inspect
from pathlib import Path

import pytest

import perceptrl
from perceptrl.annotate.pipeline import AnnotateConfig, LLMExtractor
from perceptrl.cli import build_parser
from perceptrl.judge.backends import TransformersGenerator
from perceptrl.judge.client import ChatClient
from perceptrl.judge.config import JudgeConfig
from perceptrl.rewards.runner import RewardRunner
from perceptrl.train.config import RewardsConfig

J, A = JudgeConfig(), AnnotateConfig()

#: command → {argparse dest: the declared default}
CLI_DEFAULTS = {
    "judge": {"max_concurrency": J.max_concurrency, "timeout": J.timeout, "max_retries": J.max_retries,
              "max_tokens": J.max_tokens, "constrained": J.constrained, "failure_policy": J.failure_policy,
              "cache_path": J.cache_path, "harden": J.harden},
    "eval": {"judge_concurrency": J.max_concurrency, "judge_timeout": J.timeout},
    "annotate": {"max_concurrency": J.max_concurrency, "max_retries": J.max_retries, "request_timeout": A.request_timeout,
                 "num_cot": A.num_cot, "cot_max_tokens": A.cot_max_tokens, "max_facts": A.max_facts,
                 "extract_max_tokens": A.extract_max_tokens},
    "score": {"workers": RewardsConfig.workers, "item_timeout": RewardsConfig.item_timeout,
              "judge_failure_policy": J.failure_policy},
}


def _parsers(p: argparse.ArgumentParser):
    yield p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


@pytest.mark.parametrize("command", list(CLI_DEFAULTS))
def test_cli_defaults_are_the_declared_defaults(command):
    root = build_parser([command])
    (sub,) = [a for a in root._actions if isinstance(a, argparse._SubParsersAction)]
    seen = set()
    for p in _parsers(sub.choices[command]):
        for action in p._actions:
            if action.dest in CLI_DEFAULTS[command]:
                assert action.default == CLI_DEFAULTS[command][action.dest], (command, p.prog, action.dest)
                seen.add(action.dest)
    assert seen == set(CLI_DEFAULTS[command])


def _default(fn, name):
    return inspect.signature(fn).parameters[name].default


def test_constructors_default_to_the_declarations():
    for name in ("max_concurrency", "timeout", "max_retries", "backoff"):
        assert _default(ChatClient, name) == getattr(J, name), name
    assert _default(TransformersGenerator, "max_new_tokens") == J.max_tokens
    assert _default(TransformersGenerator, "batch_size") == J.batch_size
    assert _default(LLMExtractor, "max_tokens") == A.extract_max_tokens
    assert _default(RewardRunner, "workers") == RewardsConfig.workers  # None: default_workers()
    assert _default(RewardRunner, "item_timeout") == RewardsConfig.item_timeout


#: option names whose default is declared once (the dataclass), in the packages that expose them
SCANNED = {"max_concurrency", "max_retries", "backoff", "timeout", "workers", "item_timeout", "failure_policy",
           "judge_concurrency", "judge_timeout", "retries"}
PACKAGES = ("judge", "eval", "annotate", "rewards")
#: the declarations themselves, and parameters of the same name with another meaning
ALLOWED = {
    ("judge/config.py", "JudgeConfig"),  # the declarations
    ("annotate/pipeline.py", "AnnotateConfig"),
    ("judge/config.py", "check_failure_policy"),  # `where`, not the option
    ("rewards/accuracy.py", "answers_match"),  # math-verify's own per-call timeout (5 s), another option
    ("rewards/accuracy.py", "score_accuracy_key"),
}


def _literal_defaults(path: Path):
    """``(owner, name, value)`` for every literal default of a function parameter, a dataclass
    field or an ``add_argument`` flag in ``path``."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            pos = a.posonlyargs + a.args
            pairs = list(zip(pos[len(pos) - len(a.defaults):], a.defaults))
            pairs += [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
            for arg, d in pairs:
                if isinstance(d, ast.Constant):
                    yield node.name, arg.arg, d.value
        elif isinstance(node, ast.ClassDef):
            for st in node.body:
                if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name) and isinstance(st.value, ast.Constant):
                    yield node.name, st.target.id, st.value.value
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" and node.args
              and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith("--")):
            flag = node.args[0].value[2:].replace("-", "_")
            for k in node.keywords:
                if k.arg == "default" and isinstance(k.value, ast.Constant):
                    yield f"--{flag}", flag, k.value.value


def test_no_literal_default_outside_the_declarations():
    root = Path(perceptrl.__file__).parent
    drift = []
    for pkg in PACKAGES:
        for f in sorted((root / pkg).rglob("*.py")):
            rel = str(f.relative_to(root))
            for owner, name, value in _literal_defaults(f):
                if name in SCANNED and value is not None and (rel, owner) not in ALLOWED:
                    drift.append(f"{rel}: {owner} {name}={value!r}")
    assert not drift, "read these defaults from their dataclass field: " + "; ".join(drift)
