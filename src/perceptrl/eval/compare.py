"""Compare two runs item by item: paired correctness and paired perception, McNemar's exact test.

Correctness comes from each run's scores (an item is right when at least half of its samples
are; greedy runs have one sample). Perception correctness, as in Perception-R1's analysis, is
whether a response states the visual facts the problem needs:

* items with visual annotations (the synthetic world) are judged by the rules judge
  (:func:`perceptrl.judge.rules.judge_rules`): a response is perception-correct when it states
  *every* annotation;
* for real benchmarks, pass a labels file per run: JSONL lines
  ``{"bench": "mathvista", "id": "12", "perception_correct": true}`` (e.g. from human review).

Only items present in both runs are paired.

Runs that differ in harness, protocol, judge, prompt template, decoding or pixel bounds
(:mod:`perceptrl.eval.provenance`) are not comparable: :func:`compare_runs` refuses them unless
``force=True``, and then lists every difference in the result (``mismatches``) and the table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perceptrl.errors import PerceptrlError
from perceptrl.eval.provenance import run_settings, setting_differences
from perceptrl.eval.stats import paired_mcnemar
from perceptrl.eval.store import item_key, load_run, load_scores, read_jsonl

Key = tuple[str, str]


def _majority(values: list[bool]) -> bool:
    return sum(values) * 2 >= len(values)


def item_correctness(rows: list[dict]) -> dict[Key, bool]:
    per: dict[Key, list[bool]] = defaultdict(list)
    for r in rows:
        per[(r["bench"], str(r["id"]))].append(bool(r["correct"]))
    return {k: _majority(v) for k, v in per.items()}


def perception_from_annotations(run_dir: str | Path) -> dict[Key, bool]:
    """Perception correctness of items with visual annotations, by the rules judge."""
    from perceptrl.judge.rules import judge_rules

    _, items, responses = load_run(run_dir)
    anns = {item_key(it): it.get("visual_annotations") or [] for it in items}
    per: dict[Key, list[bool]] = defaultdict(list)
    for r in responses:
        a = anns.get(item_key(r))
        if a:
            per[item_key(r)].append(all(judge_rules(list(a), r["response"] or "")))
    return {k: _majority(v) for k, v in per.items()}


def read_perception_labels(path: str | Path) -> dict[Key, bool]:
    p = Path(path)
    if not p.exists():
        raise PerceptrlError("perception labels file not found", where=str(p),
                             fix='pass a JSONL file of {"bench": …, "id": …, "perception_correct": true|false}')
    out: dict[Key, bool] = {}
    for i, rec in enumerate(read_jsonl(p), 1):
        try:
            out[(str(rec["bench"]), str(rec["id"]))] = bool(rec["perception_correct"])
        except (KeyError, TypeError) as e:
            raise PerceptrlError(f"label record without {e}", where=f"{p} line {i}",
                                 fix='each line needs "bench", "id" and "perception_correct"') from e
    return out


def _paired(a: Mapping[Key, bool], b: Mapping[Key, bool]) -> dict[str, Any]:
    overall = paired_mcnemar(a, b)
    by_bench = {}
    for bench in sorted({k[0] for k in a if k in b}):
        by_bench[bench] = paired_mcnemar(
            {k: v for k, v in a.items() if k[0] == bench}, {k: v for k, v in b.items() if k[0] == bench}
        ).as_dict()
    shared = [k for k in a if k in b]
    return {
        "overall": overall.as_dict(),
        "by_bench": by_bench,
        "a_only_items": [f"{k[0]}/{k[1]}" for k in shared if a[k] and not b[k]],
        "b_only_items": [f"{k[0]}/{k[1]}" for k in shared if b[k] and not a[k]],
    }


def compare_runs(
    run_a: str | Path,
    run_b: str | Path,
    *,
    protocol_a: str | None = None,
    protocol_b: str | None = None,
    labels_a: str | Path | None = None,
    labels_b: str | Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Paired comparison of two scored runs (see the module docstring)."""
    sum_a, rows_a = load_scores(run_a, protocol_a)
    sum_b, rows_b = load_scores(run_b, protocol_b)
    diffs = setting_differences(run_settings(load_run(run_a)[0], sum_a), run_settings(load_run(run_b)[0], sum_b))
    if diffs and not force:
        raise PerceptrlError("the two runs were made or scored differently, so their scores are not comparable:\n  "
                             + "\n  ".join(diffs), where=f"{run_a} vs {run_b}",
                             fix="rescore both under one protocol and judge (perceptrl eval rescore), or pass --force "
                                 "to compare anyway")
    out: dict[str, Any] = {
        "a": {"run": str(run_a), "model": sum_a.get("model"), "protocol": sum_a["protocol"]},
        "b": {"run": str(run_b), "model": sum_b.get("model"), "protocol": sum_b["protocol"]},
        "correctness": _paired(item_correctness(rows_a), item_correctness(rows_b)),
    }
    if diffs:
        out["mismatches"] = diffs
        out["warning"] = "NOT COMPARABLE (compared with --force): the runs differ in " + ", ".join(
            d.split(":")[0] for d in diffs)
    pa = read_perception_labels(labels_a) if labels_a else perception_from_annotations(run_a)
    pb = read_perception_labels(labels_b) if labels_b else perception_from_annotations(run_b)
    if any(k in pb for k in pa):
        out["perception"] = _paired(pa, pb)
    return out


def format_comparison(result: dict[str, Any]) -> str:
    """A plain-text table of a :func:`compare_runs` result."""
    lines = [f"A: {result['a']['run']} ({result['a']['model']}, {result['a']['protocol']})",
             f"B: {result['b']['run']} ({result['b']['model']}, {result['b']['protocol']})"]
    if "warning" in result:
        lines.append(f"WARNING: {result['warning']}")
        lines += [f"  - {d}" for d in result.get("mismatches", [])]
    for what in ("correctness", "perception"):
        if what not in result:
            continue
        lines += ["", f"{what}: {'bench':<12} {'n':>5} {'acc A':>7} {'acc B':>7} {'A only':>7} {'B only':>7} {'p':>8}"]
        rows = [*result[what]["by_bench"].items(), ("ALL", result[what]["overall"])]
        for bench, r in rows:
            lines.append(f"{'':<{len(what) + 2}}{bench:<12} {r['n']:>5} {100 * r['acc_a']:>6.1f}% {100 * r['acc_b']:>6.1f}% "
                         f"{r['a_only']:>7} {r['b_only']:>7} {r['p_value']:>8.4f}")
    return "\n".join(lines)
