"""Held-out results by chart group: where the warm start's teacher misread, and where a misreading is lucky.

With ``teacher_bias > 0`` (:mod:`perceptrl.synth.teacher`) the warm start learnt to read warm-colour
charts one unit high. The mechanism the second experiment tests lives in two cells of the
held-out set: *warm / difference* problems, where the misreading cancels and an accuracy reward
cannot see it, and *warm / sum* problems, where it cannot hide. This module splits every final
per-item result by colour group × question and tests each arm's change on the warm charts'
facts against its warm start (McNemar on the same facts, :func:`perceptrl.demo.power.paired_test`).
"""

from __future__ import annotations

from typing import Any

from perceptrl.demo.power import paired_test
from perceptrl.synth.teacher import BIASED_COLORS


def chart_group(example, colors=BIASED_COLORS) -> str:
    """``warm/difference``, ``cool/sum``…: the colour group and the question. "warm" names the colours
    the teacher misreads (``colors``, the demo's ``teacher_colors``; by default the two warm ones)."""
    scene = example.metadata["scene"]
    return ("warm" if scene.get("color") in colors else "cool") + "/" + scene["op"]


def _cells(evaluation: dict[str, Any], groups: dict[str, str]) -> dict[str, dict[str, list]]:
    cells: dict[str, dict[str, list]] = {}
    for pid, correct, hits in zip(evaluation["ids"], evaluation["correct"], evaluation["fact_hits"], strict=True):
        c = cells.setdefault(groups[pid], {"correct": [], "facts": []})
        c["correct"].append(int(correct))
        c["facts"].extend(int(h) for h in hits)
    return cells


def by_group(held_out: dict[int, list], warm: dict[int, dict], finals: dict[tuple[int, str], dict],
             arms: list[str], colors=BIASED_COLORS) -> dict[str, Any]:
    """Pooled over seeds: per group, answer and fact accuracy of the warm start and each arm's final
    evaluation; per arm, McNemar vs the warm start on the facts of warm-colour charts.

    ``held_out``: seed → held-out examples; ``warm``: seed → warm-start evaluation; ``finals``:
    (seed, arm) → final evaluation (the ``EvalResult`` dicts of :mod:`perceptrl.demo.evaluate`);
    ``colors``: the teacher's colours (the "warm" group)."""
    rows: dict[str, dict[str, Any]] = {}
    pairs: dict[str, list[tuple[int, int]]] = {arm: [] for arm in arms}
    for seed, examples in held_out.items():
        groups = {ex.id: chart_group(ex, colors) for ex in examples}
        ws = _cells(warm[seed], groups)
        cells = [("warm_start", ws)] + [(a, _cells(finals[(seed, a)], groups)) for a in arms]
        for who, by_group_cells in cells:
            for g, c in by_group_cells.items():
                r = rows.setdefault(g, {}).setdefault(who, {"correct": [], "facts": []})
                r["correct"] += c["correct"]
                r["facts"] += c["facts"]
                if who != "warm_start" and g.startswith("warm/"):
                    pairs[who] += list(zip(ws[g]["facts"], c["facts"], strict=True))
    table = {g: {who: {"n": len(r["correct"]), "accuracy": sum(r["correct"]) / max(1, len(r["correct"])),
                       "perception": sum(r["facts"]) / max(1, len(r["facts"]))} for who, r in cols.items()}
             for g, cols in sorted(rows.items())}
    tests = {}
    for arm, ps in pairs.items():
        if ps:
            m = paired_test(ps)
            tests[arm] = {"n": m["n"], "diff": m["diff"], "p": m["p"]}
    return {"table": table, "warm_facts_vs_warm_start": tests}


def render(groups: dict[str, Any], arms: list[str]) -> list[str]:
    """Markdown lines: one table, group × (warm start, arms), answer / perception accuracy."""
    who = ["warm_start", *arms]
    lines = ["## By chart group (warm: the colours the teacher misread, `teacher_colors`; difference: a misreading is lucky)", "",
             "Answer accuracy / perception accuracy, pooled over seeds; n: problems per cell.", "",
             "| group | n | " + " | ".join(who) + " |", "|---|---|" + "---|" * len(who)]
    for g, cols in groups["table"].items():
        n = cols["warm_start"]["n"]
        lines.append(f"| {g} | {n} | " + " | ".join(
            f"{cols[w]['accuracy']:.1%} / {cols[w]['perception']:.1%}" if w in cols else "—" for w in who) + " |")
    tests = groups["warm_facts_vs_warm_start"]
    if tests:
        lines += ["", "Facts of warm-colour charts, each arm vs its warm start (McNemar, paired facts): " + "; ".join(
            f"{a} {t['diff']:+.1%} (p {t['p']:.2g}, {t['n']} facts)" for a, t in tests.items()) + "."]
    return lines + [""]
