"""``perceptrl judge``: score (annotations, response) pairs from a JSONL file, for inspection.

Input rows: ``{"id": ..., "annotations": [...], "response": "..."}``; ``visual_annotations`` or a
Perception-R1 ``visual_key_info`` string are accepted instead of ``annotations``, ``completion``
instead of ``response``. Output rows: ``id``, ``score`` (r_v, ``null`` for a failure under the
``skip`` policy), ``verdicts``, ``missing``, ``conflicting``, ``neutralised``, ``error``, ``answer``.

    perceptrl judge --input pairs.jsonl --output verdicts.jsonl \\
        --backend openai --base-url http://127.0.0.1:8000/v1 --model Qwen2.5-32B-Instruct
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from perceptrl.config.options import add_flags, option, values_of
from perceptrl.data.annotations import VISUAL_KEY_INFO_FIX, AnnotationFormatError, row_annotations
from perceptrl.data.json_lines import encoding_fix, json_objects
from perceptrl.errors import PerceptrlError
from perceptrl.judge.config import FAILURE_POLICIES, JudgeConfig
from perceptrl.judge.reward import build_perception_reward

log = logging.getLogger(__name__)
CHUNK = 256


@dataclass
class JudgeCommand:
    """Options of ``perceptrl judge`` besides the :class:`JudgeConfig` ones."""

    input: str | None = option(None, help="JSONL of (annotations, response) pairs (required unless a subcommand "
                               "is given).")
    output: str | None = option(None, help="JSONL of verdicts; null: INPUT.verdicts.jsonl.")


def read_pairs(path: Path) -> list[dict]:
    """Read and check every row before any request is sent."""
    if not path.is_file():
        raise PerceptrlError(f"input file {path} not found", where="--input", fix="give a JSONL file of pairs")
    rows, bad = [], []
    for n, row, problem in json_objects(path):
        if problem:
            bad.append(problem)
            continue
        if "annotations" in row:
            row["visual_annotations"] = row["annotations"]
        resp = row.get("response", row.get("completion"))
        if not isinstance(resp, str):
            bad.append(f"line {n}: missing string field `response`")
            continue
        anns = row.get("visual_annotations")
        if anns is not None and not (isinstance(anns, list) and all(isinstance(a, str) for a in anns)):
            bad.append(f"line {n}: `annotations` must be a list of strings")
            continue
        try:  # the dataset parser, so that untagged or mis-numbered visual_key_info is named here
            anns = row_annotations(row)
        except AnnotationFormatError as e:
            bad.append(f"line {n}: {e}")
            continue
        if not anns:
            bad.append(f"line {n}: no annotations (`annotations`, `visual_annotations` or `visual_key_info`)")
            continue
        row["visual_annotations"] = anns
        row["response"] = resp
        row.setdefault("id", n)
        rows.append(row)
    if bad:
        fix = 'each line: {"id": ..., "annotations": ["AB = 10", ...], "response": "..."}'
        if any("visual_key_info" in b for b in bad):
            fix += f"; visual_key_info: {VISUAL_KEY_INFO_FIX}"
        enc = encoding_fix(bad, path)
        more = f"\n  … and {len(bad) - 20} more" if len(bad) > 20 else ""
        raise PerceptrlError(f"{len(bad)} bad row(s) in {path}:\n  " + "\n  ".join(bad[:20]) + more, where=str(path),
                             fix=f"{enc}; {fix}" if enc else fix)
    return rows


def run(args: argparse.Namespace) -> int:
    for name in ("httpx", "httpx2"):  # one INFO line per request would drown the progress bar
        logging.getLogger(name).setLevel(logging.WARNING)
    from tqdm import tqdm

    if not args.input:
        raise PerceptrlError("no input pairs", where="perceptrl judge",
                             fix="pass --input PAIRS.jsonl (or run `perceptrl judge eval`)")
    inp = Path(args.input)
    out = Path(args.output) if args.output else inp.with_suffix(".verdicts.jsonl")
    rows = read_pairs(inp)
    cfg = judge_config_from_args(args)
    reward = build_perception_reward(cfg)
    if reward.client is not None:
        asyncio.run(reward.check())  # fail fast, with the fix, if the server is unreachable
    tmp = out.with_name(out.name + ".part")
    totals: dict[str, float] = {}
    scores: list[float] = []
    with open(tmp, "w", encoding="utf-8") as fh, tqdm(total=len(rows), desc="judging", unit="pair") as bar:
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i : i + CHUNK]
            got = reward.score([r["response"] for r in chunk], chunk)
            for row, s, o in zip(chunk, got, reward.last_outcomes):
                rec = {"id": row["id"], "score": s}
                rec.update(o.to_json() if o is not None else {"verdicts": None, "error": "no annotations"})
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                if s is not None and (o is None or o.ok):  # a failed request is no measurement
                    scores.append(s)
            fh.flush()
            for k, v in reward.metrics().items():
                totals[k] = totals.get(k, 0.0) + v
            bar.update(len(chunk))
    os.replace(tmp, out)
    mean = sum(scores) / len(scores) if scores else float("nan")
    print(f"judged {len(rows)} pairs -> {out}")
    print(f"mean r_v {mean:.4f} over {len(scores)} scored; " + ", ".join(
        f"{k.split('/', 1)[1]} {v:g}" for k, v in sorted(totals.items()) if k != "judge/seconds"))
    return 0


#: JudgeConfig field -> its flag in ``perceptrl judge`` / ``perceptrl judge eval`` (the names users and
#: docs know); default, type and help come from the field, the value lands in ``args.<field>``.
JUDGE_FLAGS: dict[str, str | None] = {
    "backend": None, "base_url": None, "model": None, "api_key": None, "template_path": "--template",
    "max_concurrency": None, "timeout": None, "max_retries": "--retries", "max_tokens": None,
    "harden": "--no-harden", "constrained": None,
}


def add_judge_options(p: argparse.ArgumentParser) -> None:
    """The options that configure the judge itself (backend, server, prompt, decoding, limits),
    shared by ``perceptrl judge`` and ``perceptrl judge eval``: built from :class:`JudgeConfig`.

    ``--backend`` left out means ``openai`` when ``--base-url`` is given, else the declared default
    (:func:`judge_config_from_args`)."""
    from perceptrl.judge.constrained import MODES

    add_flags(p, JudgeConfig, JUDGE_FLAGS, extra={
        "backend": {"default": None, "help_extra": "Left out: openai when --base-url is given, else rules."},
        "harden": {"action": "store_false"},
        "constrained": {"choices": MODES},
    })


def judge_config_from_args(args: argparse.Namespace, **fixed) -> JudgeConfig:
    """The :class:`JudgeConfig` of the flags made by :func:`add_judge_options` (``fixed`` wins)."""
    kw = values_of(args, [*JUDGE_FLAGS, "failure_policy", "cache_path"])
    if kw.get("backend") is None:
        kw["backend"] = "openai" if kw.get("base_url") else JudgeConfig.backend
    if str(kw.get("cache_path")).lower() == "none":
        kw["cache_path"] = None
    return JudgeConfig(**{**kw, **fixed})


def register(subparsers) -> None:
    p = subparsers.add_parser("judge", help="score (annotations, response) pairs with the perception judge",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(p, JudgeCommand, {"input": None, "output": None})
    add_judge_options(p)
    add_flags(p, JudgeConfig, {"failure_policy": None, "cache_path": "--cache"}, extra={
        "failure_policy": {"choices": FAILURE_POLICIES,
                           "help_extra": "Here a row is its own group, so neutral scores 0; failed rows are left "
                                         "out of the printed mean."},
        "cache_path": {"help_extra": "On the command line: none."}})
    p.set_defaults(func=run)
    from perceptrl.judge import fidelity_cli  # `perceptrl judge eval`: judge fidelity on a labelled set

    fidelity_cli.register(p.add_subparsers(dest="judge_command", metavar="{eval}", required=False))
