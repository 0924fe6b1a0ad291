"""Printing judge-fidelity reports: one row per judge, accuracy per category, the set's counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from perceptrl.judge.fidelity.cases import TRUTH, Case
from perceptrl.judge.fidelity.scoring import Report, _cat_order


def _pct(x: float) -> str:
    return "  n/a" if x != x else f"{100 * x:5.1f}"


TABLE_HEADER = (f"{'judge':<34} {'verdicts':>8} {'acc %':>6} {'prec %':>6} {'rec %':>6} {'unparse %':>9} "
                f"{'|dr_v|':>7} {'s/req':>7}")


def table_row(name: str, r: Report) -> str:
    return (f"{name:<34} {r.verdicts:>8} {_pct(r.accuracy):>6} {_pct(r.precision):>6} {_pct(r.recall):>6} "
            f"{r.unparseable_pct:>9.1f} {r.reward_error:>7.3f} {r.seconds_per_request:>7.2f}")


def category_table(reports: dict[str, Report]) -> str:
    """Accuracy per category (rows) and judge (columns)."""
    cats: list[str] = []
    for r in reports.values():
        cats += [c for c in r.per_category if c not in cats]
    cats.sort(key=_cat_order)
    names = list(reports)
    width = max(8, *(len(n) for n in names)) if names else 8
    head = f"{'category (truth)':<20}" + "".join(f" {n:>{width}}" for n in names)
    lines = [head]
    for cat in cats:
        t = TRUTH.get(cat, "?")
        row = f"{cat + f' ({t})':<20}"
        for n in names:
            pc = reports[n].per_category.get(cat)
            row += f" {(_pct(pc['accuracy']) if pc else 'n/a'):>{width}}"
        lines.append(row)
    return "\n".join(lines)


def summary_counts(cases: Sequence[Case]) -> str:
    c = Counter(cat for case in cases for cat in case.categories)
    n = sum(c.values())
    pos = sum(t for case in cases for t in case.truth)
    return (f"{len(cases)} responses, {n} labelled verdicts ({pos} present, {n - pos} absent): "
            + ", ".join(f"{k} {c[k]}" for k in sorted(c, key=_cat_order)))
