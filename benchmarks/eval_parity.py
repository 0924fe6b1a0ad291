"""Per-item agreement of our ``lmms_eval`` protocol (and our own ``greedy_rules``) with lmms-eval's
own scoring functions, on the same stored responses (issue 16).

    /tmp/evalparity-venv/bin/python benchmarks/eval_parity.py [--json OUT.json] [FILES…]

Default inputs: ``tests/eval/data/parity_mathvista.jsonl`` and ``parity_mathverse.jsonl`` (hand-made,
see ``tests/eval/data/build_parity_sets.py``), or any JSONL of ``{"item", "response",
"llm_extraction"?, "cls"?}`` lines. lmms-eval's functions run unchanged:

* MathVista: ``tasks.mathvista.utils.mathvista_process_results`` (rule check, LLM extraction,
  normalisation, exact text match), its LLM call answered with the line's ``llm_extraction`` —
  the same string our protocol's extractor is given, so the comparison measures the rules and the
  normalisation. "rule-decided" items are those where lmms-eval made no LLM call;
* MathVerse: ``tasks._task_utils.reasoning_utils.compute_score`` (task
  ``mathverse_testmini_reasoning``; ``USE_LLM_JUDGE`` off: every item is rule-decided).

lmms-eval is not a dependency of perceptrl: install it into a separate venv (see
docs/eval-protocols.md, "Parity with lmms-eval"). Without it the benchmark prints how and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DEFAULT_FILES = [ROOT / "tests/eval/data/parity_mathvista.jsonl", ROOT / "tests/eval/data/parity_mathverse.jsonl"]
INSTALL = ("python3 -m venv --system-site-packages /tmp/evalparity-venv && /tmp/evalparity-venv/bin/pip install "
           "--no-deps lmms-eval==0.7.3 && /tmp/evalparity-venv/bin/pip install Levenshtein loguru openai aiohttp "
           "pytz tenacity evaluate 'math-verify[antlr4_13_2]' (torch, transformers, datasets, accelerate, pandas "
           "and PIL must be importable too: perceptrl's own environment has them)")


def load_lmms_eval():
    """lmms-eval's MathVista and reasoning scoring entry points, or ``None`` with the reason."""
    # lmms-eval builds API clients when its task modules are imported; no request is ever sent here
    # (the MathVista extraction call is replaced below, the reasoning judge is off).
    os.environ.setdefault("OPENAI_API_KEY", "EMPTY")
    os.environ["USE_LLM_JUDGE"] = "False"
    try:
        import lmms_eval.tasks.mathvista.utils as vista
        from lmms_eval.tasks._task_utils import reasoning_utils as reasoning
    except Exception as e:  # noqa: BLE001 - any import failure means: not installed usably
        return None, f"{type(e).__name__}: {e}"
    return (vista, reasoning), None


def lmms_mathvista(vista, line: dict) -> tuple[bool, bool]:
    """``(correct, rule_decided)`` by lmms-eval's own MathVista code."""
    item, meta = line["item"], line["item"]["metadata"]
    calls = []

    def fake_llm(prompt, *a, **k):
        calls.append(prompt)
        return line.get("llm_extraction", "")

    vista.mathvista_evaluator.get_chat_response = fake_llm
    doc = {"pid": item["id"], "question_type": meta["question_type"], "answer_type": meta["answer_type"],
           "query": item["problem"], "choices": meta.get("options"), "answer": item["answer"],
           "precision": meta.get("precision"), "metadata": {}}
    out = vista.mathvista_process_results(doc, [line["response"]])["llm_as_judge_eval"]
    return bool(out["true_false"]), not calls


def lmms_reasoning(reasoning, line: dict) -> tuple[bool, bool]:
    item = line["item"]
    score = reasoning.compute_score("mathvista", line["response"].strip(), str(item["answer"]),
                                    {"question": item["problem"]})
    return bool(score["acc_score"]), True


def ours(line: dict) -> tuple[bool, bool]:
    from perceptrl.eval.harness_lmms import LmmsEvalScorer

    scorer = LmmsEvalScorer(extract=lambda prompt, response, item: line.get("llm_extraction", ""))
    return bool(scorer.score([line["response"]], [line["item"]])[0]["correct"]), False


def own_protocol(line: dict) -> bool:
    from perceptrl.eval.scoring import score_response

    return bool(score_response(line["response"], line["item"])["correct"])


def read_lines(files):
    for path in files:
        if isinstance(path, dict):
            yield path
            continue
        for raw in Path(path).read_text(encoding="utf-8").splitlines():
            if raw.strip():
                yield json.loads(raw)


def measure(files, mods) -> dict:
    vista, reasoning = mods
    stats: dict = defaultdict(lambda: {"n": 0, "agree": 0, "rule_n": 0, "rule_agree": 0, "own_agree": 0,
                                       "lmms_correct": 0, "ours_correct": 0, "own_correct": 0,
                                       "disagreements": Counter(), "own_disagreements": Counter(), "examples": []})
    for line in read_lines(files):
        bench = line["item"]["metadata"]["bench"] + ("/fuzz" if line.get("cls") == "fuzz" else "")
        theirs, rule = (lmms_mathvista(vista, line) if bench.startswith("mathvista")
                        else lmms_reasoning(reasoning, line))
        mine, _ = ours(line)
        own = own_protocol(line)
        s = stats[bench]
        s["n"] += 1
        s["agree"] += mine == theirs
        s["rule_n"] += rule
        s["rule_agree"] += rule and mine == theirs
        s["own_agree"] += own == theirs
        s["lmms_correct"] += theirs
        s["ours_correct"] += mine
        s["own_correct"] += own
        if mine != theirs:
            s["disagreements"][f"{line.get('cls', '?')}: lmms {theirs} / ours {mine}"] += 1
            s["examples"].append({"id": line["item"]["id"], "gold": line["item"]["answer"],
                                  "response": line["response"][-120:], "lmms": theirs, "ours": mine})
        if own != theirs:
            key = f"gold {line['item']['answer']!r} / response {line['response'][-60:]!r}: lmms {theirs}, own {own}"
            s["own_disagreements"][key] += 1
    return {b: {**s, "disagreements": dict(s["disagreements"]), "own_disagreements": dict(s["own_disagreements"])}
            for b, s in stats.items()}


_PIECES = ["A", "B", "C", "D", "b", "(B)", "C.", "D:", "E)", "A-", "B=", "1. A", "2. B", "the answer is", "The answer is",
           "answer", "I choose", "Option", "THE CORRECT ANSWER IS", "2", "2.5", "18", "1,000", "-3", "0.5", "1/2", "\\pi",
           "9\\pi", "x", "=", "+", "(2, 3)", "[0, 4]", "quarter", "Everest", "yes", "No", ".", ",", "!", "?", ":", "'",
           "\n", " ", "<answer>", "</answer>", "<think>", "</think>", "\\boxed{", "}", "{", "$", "cm", "°", "^\\circ"]


def fuzz_lines(files, n: int, seed: int = 0) -> list[dict]:
    """Random responses built from the tokens the parsers key on, against the fixture's items
    (stress test of the letter parser, the extraction order and the normalisation)."""
    import random

    rng = random.Random(seed)
    items = {}
    for path in files:
        for raw in Path(path).read_text(encoding="utf-8").splitlines():
            if raw.strip():
                line = json.loads(raw)
                items[(line["item"]["bench"], line["item"]["id"])] = line["item"]
    pool = list(items.values())
    out = []
    for _ in range(n):
        item = rng.choice(pool)
        pieces = _PIECES + [str(item["answer"])] * 8 + list(item["metadata"].get("options") or []) * 2
        resp = "".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(1, 12)))
        extraction = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))).strip()
        out.append({"item": item, "response": resp, "llm_extraction": extraction, "cls": "fuzz"})
    return out


PROMPT_CASES = [
    {"question": "What fraction of the shape is blue?", "question_type": "multi_choice", "answer_type": "text",
     "choices": ["3/11", "8/11", "6/11", "3/5"], "unit": "", "precision": None},
    {"question": "How much money does Luca need?", "question_type": "free_form", "answer_type": "float",
     "choices": None, "unit": "$", "precision": 2},
    {"question": "What is the length?", "question_type": "free_form", "answer_type": "float", "choices": None,
     "unit": "", "precision": 1},
    {"question": "How many bars?", "question_type": "free_form", "answer_type": "integer", "choices": None, "unit": "",
     "precision": None},
    {"question": "Which years?", "question_type": "free_form", "answer_type": "list", "choices": None, "unit": "",
     "precision": None},
]


def prompt_parity(vista) -> tuple[int, int]:
    """Our ``lmms_eval`` template vs lmms-eval's own MathVista prompt (mathvista_testmini_cot kwargs)."""
    from perceptrl.eval.harness_lmms import harness_problem

    kwargs = {"shot_type": "step-by-step", "shot": 0, "use_caption": False, "use_ocr": False}
    same = 0
    for c in PROMPT_CASES:
        theirs = vista.mathvista_doc_to_text({**c, "caption": "", "ocr": ""}, kwargs)
        meta = {"question": c["question"], "question_type": c["question_type"], "answer_type": c["answer_type"],
                "options": c["choices"], "unit": c["unit"] or None, "precision": c["precision"]}
        same += harness_problem("mathvista", "", meta) == theirs
    return same, len(PROMPT_CASES)


def pct(a: int, n: int) -> str:
    return f"{100 * a / n:.1f}%" if n else "-"


def format_table(stats: dict, *, peer: str = "lmms-eval", protocol: str = "lmms_eval",
                 correct_key: str = "lmms_correct", examples: int = 10, own: bool = True) -> str:
    """The agreement table per benchmark, then every disagreement class of ``protocol`` vs ``peer`` (and,
    with ``own``, of our own greedy_rules protocol). Shared with benchmarks/eval_parity_vlmevalkit.py."""
    lines = [f"| bench | n | {protocol} protocol vs {peer}: overall | rule-decided (n) | {peer} acc | ours acc "
             f"| own greedy_rules vs {peer} |", "|---|---:|---:|---:|---:|---:|---:|"]
    for b, s in stats.items():
        lines.append(f"| {b} | {s['n']} | {pct(s['agree'], s['n'])} | {pct(s['rule_agree'], s['rule_n'])} "
                     f"({s['rule_n']}) | {pct(s[correct_key], s['n'])} | {pct(s['ours_correct'], s['n'])} "
                     f"| {pct(s['own_agree'], s['n'])} |")
    for b, s in stats.items():
        lines.append(f"\n{b}: {protocol}-protocol disagreements: {sum(s['disagreements'].values())}")
        lines += [f"  {n:>3}  {k}" for k, n in sorted(s["disagreements"].items(), key=lambda kv: -kv[1])]
        lines += [f"       e.g. {ex}" for ex in s["examples"][:examples]]
        if own:
            lines.append(f"{b}: own-protocol (greedy_rules) differences from {peer}: "
                         f"{sum(s['own_disagreements'].values())}")
            lines += [f"  {n:>3}  {k}" for k, n in sorted(s["own_disagreements"].items(), key=lambda kv: -kv[1])]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", default=DEFAULT_FILES)
    ap.add_argument("--json", help="write the measured numbers here")
    ap.add_argument("--fuzz", type=int, default=0, metavar="N",
                    help="also score N random token-soup responses against the same items (stress test)")
    args = ap.parse_args(argv)
    mods, why = load_lmms_eval()
    if mods is None:
        print(f"SKIP: lmms-eval is not importable ({why}).\nInstall it apart from perceptrl's environment:\n  {INSTALL}")
        return 0
    stats = measure([*args.files, *fuzz_lines(args.files, args.fuzz)] if args.fuzz else args.files, mods)
    print(format_table(stats))
    for b, st in stats.items():  # the summary lines: baseline (our own protocol) and ours (lmms_eval protocol)
        own, ours = st["own_agree"] / max(st["n"], 1), st["agree"] / max(st["n"], 1)
        print(f"eval_parity_{b}: baseline (greedy_rules) {own:.1%}, ours (lmms_eval) {ours:.1%} agreement with "
              f"lmms-eval, ratio {ours / own if own else float('inf'):.2f}")
    same, n = prompt_parity(mods[0])
    print(f"\nMathVista prompts identical to lmms-eval's (step-by-step): {same}/{n}")
    if args.json:
        Path(args.json).write_text(json.dumps({b: {k: v for k, v in s.items() if k != "examples"}
                                               for b, s in stats.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
