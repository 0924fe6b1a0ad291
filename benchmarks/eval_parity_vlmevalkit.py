"""Per-item agreement of our ``vlmevalkit`` protocol (and our own ``greedy_rules``) with VLMEvalKit's
own scoring functions, on the same stored responses (issue 16).

    python benchmarks/eval_parity_vlmevalkit.py --vlmevalkit DIR [--fuzz N] [--json OUT.json] [FILES…]

``DIR`` is a VLMEvalKit source checkout (``git clone https://github.com/open-compass/VLMEvalKit``;
also ``$VLMEVALKIT_SRC``). VLMEvalKit is not usefully installable from PyPI, and importing its
package pulls its whole model zoo, so its scoring files are **loaded by path**, unchanged:
``vlmeval/utils/matching_util.py`` (``can_infer``), ``vlmeval/dataset/utils/mathvista.py``,
``mathv.py``, ``mathverse.py``, ``multiple_choice.py`` (``extract_answer_from_item``, the WeMath
path), ``wemath.py`` (``load_and_process_data``, the no-judge path) and ``logicvista.py``. The few
``vlmeval.smp`` helpers they import (a logger, ``load``, ``cn_string``, ``build_option_str``) are
given minimal stand-ins here (they do not take part in any verdict); ``timeout_decorator`` too, if
it is not installed. Their LLM calls go to a stand-in model whose ``generate`` answers with the
line's stored ``llm_extraction`` (and, for MathVerse's judge, a fixed judge reply), and ours gets
the same strings: the comparison measures the rules and the control flow, not two LLMs.

Inputs (default): ``tests/eval/data/parity_{mathvista,mathverse,mathvision,wemath}.jsonl``.
Without ``DIR`` the benchmark prints how to get it and exits 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import random
import re
import sys
import types
import warnings
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
DATA = ROOT / "tests/eval/data"
DEFAULT_FILES = [DATA / f"parity_{b}.jsonl" for b in ("mathvista", "mathverse", "mathvision", "wemath")]
FILES_USED = ["vlmeval/utils/matching_util.py", "vlmeval/dataset/utils/mathvista.py", "vlmeval/dataset/utils/mathv.py",
              "vlmeval/dataset/utils/mathverse.py", "vlmeval/dataset/utils/multiple_choice.py",
              "vlmeval/dataset/utils/wemath.py", "vlmeval/dataset/utils/logicvista.py"]
GET = ("git clone --depth 1 https://github.com/open-compass/VLMEvalKit /tmp/vlmevalkit-src, then "
       "--vlmevalkit /tmp/vlmevalkit-src (needs pandas, numpy, latex2sympy2_extended: perceptrl's environment has them)")


def _module(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


def _load(src: Path, rel: str, name: str):
    spec = importlib.util.spec_from_file_location(name, src / rel)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def load_vlmevalkit(src: Path):
    """VLMEvalKit's scoring modules from a checkout, with stand-ins for the helpers they import."""
    missing = [f for f in FILES_USED if not (src / f).exists()]
    if missing:
        return None, f"not a VLMEvalKit checkout: {src} lacks {', '.join(missing)}"
    import pandas as pd

    get_logger = logging.getLogger
    _module("vlmeval", __path__=[])
    smp = _module("vlmeval.smp", __path__=[], get_logger=get_logger, load=lambda x, *a, **k: x,
                  cn_string=lambda s: bool(re.search("[\u4e00-\u9fff]", str(s))), d2df=None, dump=None,
                  get_pred_file_format=lambda: "xlsx", istype=None, timestr=None)
    _module("vlmeval.smp.log", get_logger=get_logger)
    _module("vlmeval.smp.file", load=smp.load)
    _module("vlmeval.smp.vlm", build_option_str=lambda d: "".join(f"{c}. {v}\n" for c, v in d.items() if not pd.isna(v)))
    if importlib.util.find_spec("timeout_decorator") is None:
        _module("timeout_decorator", timeout=lambda *a, **k: (lambda f: f))
    matching = _load(src, FILES_USED[0], "vlmeval.utils.matching_util")
    _module("vlmeval.utils", can_infer=matching.can_infer, can_infer_lego=matching.can_infer_lego,
            track_progress_rich=None)
    mods = {n: _load(src, f, f"vlmeval_parity_{n}") for n, f in
            zip(("mathvista", "mathv", "mathverse", "mc", "wemath", "logicvista"), FILES_USED[1:])}
    return mods, None


class FakeLLM:
    """Stands in for VLMEvalKit's judge model: every ``generate`` answers ``reply``."""

    def __init__(self, reply: str):
        self.reply, self.calls = reply, 0

    def generate(self, prompt, **kwargs):
        self.calls += 1
        return self.reply


def verse_extraction(line: dict) -> str:
    from perceptrl.eval.harness_lmms_reasoning import reasoning_extract

    return line.get("llm_extraction") or reasoning_extract(line["response"].strip()) or line["response"].strip()


def judge_reply(line: dict) -> str:
    """MathVerse's judge, which this benchmark cannot measure, says "0" to every call (both harnesses
    get it): the verdicts are then the rule step's (extraction equal to the gold) and the control flow."""
    return line.get("judge_reply", "0")


def theirs(m, line: dict) -> tuple[bool, bool]:
    """``(correct, rule_decided)`` by VLMEvalKit's own code."""
    item, meta, resp = line["item"], line["item"]["metadata"], line["response"]
    bench, llm = meta["bench"], FakeLLM(line.get("llm_extraction", ""))
    opts = meta.get("options") or item.get("choices") or []
    if bench in ("mathvista", "mathvision"):
        row = {"question": item["problem"], "prediction": resp, "answer": item["answer"], "choices": str(list(opts))}
        if bench == "mathvista":
            letter = "ABCDEFGH"[opts.index(item["answer"])] if item["answer"] in opts else None
            row.update(question_type=meta["question_type"], answer_type=meta["answer_type"], answer_option=letter)
            out = m["mathvista"].MathVista_auxeval(llm, row)
            return bool(m["mathvista"].post_check({**row, "res": out["res"]})), out["log"] == "Prefetch succeed"
        out = m["mathv"].MATH_V_auxeval(llm, row)
        return bool(m["mathv"].post_check({**row, "res": out["res"]})), out["log"] == "Prefetch succeed"
    if bench == "mathverse":
        row = {"prediction": resp, "answer": item["answer"], "question_for_eval": item["problem"]}
        row["extract"] = m["mathverse"].MathVerse_auxeval_extract(FakeLLM(verse_extraction(line)), row)["extract"]
        out = m["mathverse"].MathVerse_auxeval_score(FakeLLM(judge_reply(line)), row)
        return bool(out["score"]), out["log_score"] == "Prefetch succeed"
    if bench == "wemath":
        row = {"question": item["problem"], "prediction": resp, "answer": item["answer"], "GT": item["answer"],
               **{"ABCDEFGH"[i]: o for i, o in enumerate(opts)}}
        random.seed(0)  # their last resort is a random option
        out = m["mc"].extract_answer_from_item(llm, row, "WeMath")
        if "randomly" in out["log"]:  # every LLM reply failed to match an option: a random option
            line["_note"] = "random option"
        return out["opt"] == item["answer"], llm.calls == 0
    raise ValueError(f"no VLMEvalKit scorer for {bench}")


def theirs_wemath_exact(m, line: dict) -> bool:
    """WeMath without a judge: VLMEvalKit's ``load_and_process_data`` on the predictions."""
    import pandas as pd

    df = pd.DataFrame([{"prediction": line["response"], "answer": line["item"]["answer"]}])
    return bool(m["wemath"].load_and_process_data(df)["joker"].iloc[0])


def ours(line: dict, *, with_llm: bool = True) -> bool:
    from perceptrl.eval.harness_vlmevalkit import VlmEvalKitScorer

    scorer = (VlmEvalKitScorer(extract=lambda p, t, it: (verse_extraction(line) if it["bench"] == "mathverse"
                                                         else line.get("llm_extraction", "")),
                               judge=lambda p, t, it: judge_reply(line)) if with_llm else VlmEvalKitScorer())
    return bool(scorer.score([line["response"]], [line["item"]])[0]["correct"])


def own_protocol(line: dict) -> bool:
    from perceptrl.eval.scoring import score_response

    return bool(score_response(line["response"], line["item"])["correct"])


def measure(lines, m) -> dict:
    stats: dict = defaultdict(lambda: {"n": 0, "agree": 0, "rule_n": 0, "rule_agree": 0, "own_agree": 0,
                                       "theirs_correct": 0, "ours_correct": 0, "disagreements": Counter(),
                                       "own_disagreements": Counter(), "examples": []})
    for line in lines:
        base = line["item"]["metadata"]["bench"]
        fuzz = "/fuzz" if line.get("cls") == "fuzz" else ""
        runs = [(base + fuzz, lambda: theirs(m, line), lambda: ours(line))]
        if base == "wemath":  # the no-judge path too
            runs.append((f"wemath-exact{fuzz}", lambda: (theirs_wemath_exact(m, line), True),
                         lambda: ours(line, with_llm=False)))
        for bench, their_fn, our_fn in runs:
            line.pop("_note", None)
            (t, rule), mine, own = their_fn(), our_fn(), own_protocol(line)
            s = stats[bench]
            s["n"] += 1
            s["agree"] += mine == t
            s["rule_n"] += rule
            s["rule_agree"] += rule and mine == t
            s["own_agree"] += own == t
            s["theirs_correct"] += t
            s["ours_correct"] += mine
            if mine != t:
                note = f" ({line['_note']})" if line.get("_note") else ""
                s["disagreements"][f"{line.get('cls', '?')}{note}: vlmevalkit {t} / ours {mine}"] += 1
                s["examples"].append({"id": line["item"]["id"], "gold": line["item"]["answer"],
                                      "response": line["response"][-100:], "vlmevalkit": t, "ours": mine})
            if own != t and not fuzz:
                s["own_disagreements"][f"gold {line['item']['answer']!r} / {line['response'][-50:]!r}: "
                                       f"vlmevalkit {t}, own {own}"] += 1
    return {b: {**s, "disagreements": dict(s["disagreements"]), "own_disagreements": dict(s["own_disagreements"])}
            for b, s in stats.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", default=DEFAULT_FILES)
    ap.add_argument("--vlmevalkit", default=os.environ.get("VLMEVALKIT_SRC"), metavar="DIR",
                    help="VLMEvalKit source checkout (default $VLMEVALKIT_SRC)")
    ap.add_argument("--fuzz", type=int, default=0, metavar="N", help="also N random token-soup responses")
    ap.add_argument("--own", action="store_true", help="list every difference of our own greedy_rules too")
    ap.add_argument("--json", help="write the measured numbers here")
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)  # VLMEvalKit logs every failed option match
    warnings.simplefilter("ignore", SyntaxWarning)  # its eval() of fuzzed answers ("2(3)")
    if not args.vlmevalkit:
        print(f"SKIP: no VLMEvalKit source given (--vlmevalkit DIR or $VLMEVALKIT_SRC).\nGet it: {GET}")
        return 0
    m, why = load_vlmevalkit(Path(args.vlmevalkit))
    if m is None:
        print(f"SKIP: {why}.\nGet it: {GET}")
        return 0
    from eval_parity import format_table, fuzz_lines, read_lines

    lines = list(read_lines(args.files)) + (fuzz_lines(args.files, args.fuzz) if args.fuzz else [])
    stats = measure(lines, m)
    print(format_table(stats, peer="VLMEvalKit", protocol="vlmevalkit", correct_key="theirs_correct", examples=8,
                       own=args.own))
    for b, st in stats.items():
        own, mine = st["own_agree"] / max(st["n"], 1), st["agree"] / max(st["n"], 1)
        print(f"eval_parity_vlmevalkit_{b}: baseline (greedy_rules) {own:.1%}, ours (vlmevalkit) {mine:.1%} "
              f"agreement with VLMEvalKit, ratio {mine / own if own else float('inf'):.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({b: {k: v for k, v in s.items() if k != "examples"}
                                               for b, s in stats.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
