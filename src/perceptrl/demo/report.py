"""The report folder of ``perceptrl demo`` / ``perceptrl experiment``: ``report.md``, ``results.json``, plots.

Everything in the report is computed from the run's own results (nothing is typed in). The first
arm of the run is the *baseline* (``grpo``: accuracy + format); every other arm is compared with it:

* final held-out answer accuracy, perception accuracy and strict-format rate per arm: mean over
  seeds with a bootstrap 95% interval over seeds (``scipy.stats.bootstrap``), sd and min–max;
* McNemar's exact test on paired final held-out items pooled over seeds, vs the baseline: answers
  (one pair per problem) and perception (one pair per annotated fact);
* the minimum detectable effect of the run made (:mod:`perceptrl.demo.power`, from the observed
  discordance), so that a null result says how large an effect it rules out;
* steps-to-match: the first evaluated step at which an arm's seed-mean held-out accuracy reaches
  the baseline's final seed-mean accuracy, as a share of the baseline's steps;
* whether RL itself worked: the baseline's final answers vs its warm start's on the same items
  (McNemar p < 0.05 and above it on most seeds), and every arm's change against the warm start;
* a verdict sentence chosen by the numbers, whichever way they go.

``results.json`` keeps every per-item final result (problem ids, correctness, per-fact verdicts) of
every (seed, arm), so paired tests can be rerun from it.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from perceptrl.demo.arms import ARMS
from perceptrl.demo.curves import curve as _curve
from perceptrl.demo.curves import mean_curve as _mean_curve
from perceptrl.demo.curves import plot_curves
from perceptrl.demo.power import paired_test
from perceptrl.demo.settings_text import settings_lines

METRICS = ("accuracy", "perception", "format")
METRIC_NAMES = {"accuracy": "answer accuracy", "perception": "perception accuracy", "format": "strict format"}
SPEEDUP_AIM = 0.67  # issue 14's aim: the perception arm reaches GRPO's final accuracy in <= 0.67x its steps


def arm_names(run) -> list[str]:
    """The run's arms in config order (the first is the baseline)."""
    return [a for a in run.cfg.arms if any(k[1] == a for k in run.arms)]


def label(arm: str) -> str:
    return ARMS[arm].label if arm in ARMS else arm


def _stat(values: list[float], seed: int = 0) -> dict[str, Any]:
    """Mean, sd, min–max and a percentile bootstrap 95% interval of the mean over seeds."""
    import numpy as np
    from scipy.stats import bootstrap

    if not values:
        nan = float("nan")
        return {"mean": nan, "sd": nan, "min": nan, "max": nan, "ci": [nan, nan], "values": []}
    m = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    if len(values) > 1 and max(values) > min(values):
        res = bootstrap((np.asarray(values, dtype=float),), np.mean, confidence_level=0.95, n_resamples=2000,
                        method="percentile", random_state=np.random.default_rng(seed))
        ci = [float(res.confidence_interval.low), float(res.confidence_interval.high)]
    else:
        ci = [m, m]
    return {"mean": m, "sd": sd, "min": min(values), "max": max(values), "ci": ci, "values": list(values)}


def steps_to_match(curve: list[tuple[int, float]], target: float) -> int | None:
    """First evaluated step at which ``curve`` reaches ``target`` (None: never)."""
    for step, acc in curve:
        if acc >= target - 1e-12:
            return step
    return None


def _pairs(first: list[dict[str, Any]], second: list[dict[str, Any]], names: tuple[str, str]
           ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Paired outcomes of two evaluations per seed (``first[i]``, ``second[i]``: seed i's), pooled over
    seeds: one pair per problem and one per annotated fact. Both must have scored the same problems."""
    answers, facts = [], []
    for e1, e2 in zip(first, second, strict=True):
        if e1.get("ids") and e2.get("ids") and e1["ids"] != e2["ids"]:
            raise ValueError(f"{names[0]} and {names[1]} were evaluated on different problems")
        answers += list(zip(e1["correct"], e2["correct"], strict=True))
        for h1, h2 in zip(e1.get("fact_hits") or [], e2.get("fact_hits") or [], strict=True):
            facts += list(zip(h1, h2, strict=True))
    return answers, facts


def _groups(run, seeds: list[int], arms: list[str]) -> dict[str, Any]:
    from perceptrl.demo.groups import by_group
    from perceptrl.demo.problems import problems

    held_out = {s: problems(run.cfg, s)[1] for s in seeds}
    finals = {(s, a): run.arms[(s, a)]["evals"][-1] for s in seeds for a in arms}
    from perceptrl.synth.teacher import BIASED_COLORS

    colors = tuple(getattr(run.cfg, "teacher_colors", BIASED_COLORS))
    return by_group(held_out, {s: run.warm[s]["eval"] for s in seeds}, finals, arms, colors)


def summarize(run) -> dict[str, Any]:
    seeds = sorted(run.warm)
    arms = arm_names(run)
    base = arms[0]
    steps = run.cfg.grpo_steps
    per_seed: list[dict[str, Any]] = []
    for s in seeds:
        row: dict[str, Any] = {"seed": s, "warm_start": {k: run.warm[s]["eval"][k] for k in METRICS}}
        for arm in arms:
            final = run.arms[(s, arm)]["evals"][-1]
            row[arm] = {k: final[k] for k in ("step", *METRICS)}
        per_seed.append(row)
    agg = {f"{arm}.{key}": _stat([r[arm][key] for r in per_seed])
           for arm in ("warm_start", *arms) for key in METRICS}
    base_curve = _mean_curve([_curve(run, base, s, "accuracy") for s in seeds])
    target = base_curve[-1][1] if base_curve else float("nan")

    def final(arm: str) -> list[dict[str, Any]]:
        return [run.arms[(s, arm)]["evals"][-1] for s in seeds]

    warm_evals = [run.warm[s]["eval"] for s in seeds]
    comparisons: dict[str, Any] = {}
    for arm in arms[1:]:
        answers, facts = _pairs(final(base), final(arm), (base, arm))
        mean_curve = _mean_curve([_curve(run, arm, s, "accuracy") for s in seeds])
        stm = steps_to_match([(st, m) for st, m, _, _ in mean_curve], target)
        comparisons[arm] = {
            "answers": paired_test(answers),
            "facts": paired_test(facts) if facts else None,
            "steps_to_match": stm,
            "steps_ratio": (stm / steps) if stm is not None else None,
            "steps_to_match_per_seed": [
                steps_to_match(_curve(run, arm, s, "accuracy"), per_seed[i][base]["accuracy"])
                for i, s in enumerate(seeds)],
        }
    vs_warm: dict[str, Any] = {}
    for arm in arms:
        answers, facts = _pairs(warm_evals, final(arm), ("the warm start", arm))
        vs_warm[arm] = {"answers": paired_test(answers), "facts": paired_test(facts) if facts else None}
    above = [r["seed"] for r in per_seed if r[base]["accuracy"] > r["warm_start"]["accuracy"]]
    gain = vs_warm[base]["answers"]
    return {
        "seeds": seeds,
        "arms": arms,
        "baseline": base,
        "per_seed": per_seed,
        "aggregate": agg,
        "comparisons": comparisons,
        "vs_warm_start": vs_warm,
        # RL "works" when the baseline's final held-out answers beat its warm start's on the same items
        # (McNemar p < 0.05, pooled over seeds) and on most seeds: a gain inside the noise is not a regime
        "rl_works": {"works": bool(gain["diff"] > 0 and gain["p"] < 0.05 and len(above) > len(seeds) / 2),
                     "seeds_above_warm_start": above, "n_seeds": len(seeds), "gain": gain["diff"], "p": gain["p"]},
        "groups": _groups(run, seeds, arms) if getattr(run.cfg, "teacher_bias", 0) > 0 else None,
        "grpo_steps": steps,
        "eval_every": run.cfg.eval_every,
        "seconds": run.seconds,
        "invocations": list(getattr(run, "invocations", ()) or [run.seconds]),
    }


def _pct(x: float | None) -> str:
    return "—" if x is None or x != x else f"{x:.1%}"


def _p(p: float) -> str:
    return f"{p:.3g}" if p >= 0.001 else f"{p:.1e}"


def _rl_sentence(summary: dict[str, Any]) -> str:
    base = summary["baseline"]
    agg = summary["aggregate"]
    rl = summary["rl_works"]
    k, n = len(rl["seeds_above_warm_start"]), rl["n_seeds"]
    w, a = agg["warm_start.accuracy"]["mean"], agg[f"{base}.accuracy"]["mean"]
    p = rl.get("p", float("nan"))
    if rl.get("works"):
        return (f"RL itself worked: the {base} arm ended above its SFT warm start on {k} of {n} seeds "
                f"({a:.1%} vs {w:.1%} held-out answer accuracy, McNemar p = {_p(p)}).")
    return (f"RL itself did not clearly work: the {base} arm ended at {a:.1%} held-out answer accuracy against "
            f"{w:.1%} for its SFT warm start (McNemar p = {_p(p)}; above it on {k} of {n} seeds), so a gain of "
            "another arm over it may only mean that arm lost less.")


def _perception_sentence(summary: dict[str, Any], arm: str) -> str:
    """Did reading improve over the warm start, or only decay less? (Facts, paired with the warm start.)"""
    vw = summary.get("vs_warm_start", {})
    base = summary["baseline"]
    fa, fb = (vw.get(arm) or {}).get("facts"), (vw.get(base) or {}).get("facts")
    if not fa or not fb:
        return ""

    def move(f: dict[str, Any]) -> str:
        d = round(f["diff"], 3)  # the report's resolution: 0.1 point
        if d == 0:
            return f"stayed at {f['arm']:.1%} (p = {_p(f['p'])})"
        return f"{'rose' if d > 0 else 'fell'} from {f['base']:.1%} to {f['arm']:.1%} (p = {_p(f['p'])})"

    text = f" Against the warm start, facts stated correctly {move(fb)} under {base} and {move(fa)} under {arm}"
    if fa["diff"] < 0 and fa["p"] < 0.05 and fa["arm"] > fb["arm"]:
        text += f": {arm} slowed the decay of reading rather than improving it"
    elif fa["diff"] > 0 and fa["p"] < 0.05:
        text += f": {arm} improved reading"
    return text + "."


def _arm_clause(arm: str, c: dict[str, Any]) -> str:
    ans = c["answers"]
    parts = [f"answer accuracy {ans['arm']:.1%} vs {ans['base']:.1%} (p = {_p(ans['p'])})"]
    if c["facts"]:
        f = c["facts"]
        parts.append(f"facts stated correctly {f['arm']:.1%} vs {f['base']:.1%} (p = {_p(f['p'])})")
    return f"{arm}: " + ", ".join(parts)


def verdict(summary: dict[str, Any]) -> str:
    """Honest sentences chosen by the numbers: the headline comparison, RL vs warm start, the others."""
    base = summary["baseline"]
    comps = summary["comparisons"]
    if not comps:
        return _rl_sentence(summary)
    head_arm = "perception_r1" if "perception_r1" in comps else next(iter(comps))
    c = comps[head_arm]
    ans, facts = c["answers"], c["facts"]
    sig_ans = ans["p"] < 0.05
    sig_facts = facts is not None and facts["p"] < 0.05
    who = "The perception reward" if head_arm == "perception_r1" else f"The {head_arm} arm"
    if ans["diff"] > 0 and sig_ans and (facts is None or (facts["diff"] > 0 and sig_facts)):
        head = f"{who} won against {base}"
    elif ans["diff"] > 0 or (facts is not None and facts["diff"] > 0 and sig_facts):
        head = f"{who} was ahead of {base} on part of the measures only"
    elif ans["diff"] == 0 and (facts is None or facts["diff"] == 0):
        head = f"{who} made no difference against {base}"
    else:
        head = f"{who} did not win against {base}"
    detail = (f"held-out answer accuracy {ans['arm']:.1%} vs {ans['base']:.1%} (McNemar p = {_p(ans['p'])}"
              f"{', significant at 0.05' if sig_ans else ', not significant at 0.05'}; minimum detectable effect "
              f"{_pct(ans['mde'])})")
    if facts is not None:
        detail += (f", facts stated correctly {facts['arm']:.1%} vs {facts['base']:.1%} (p = {_p(facts['p'])}"
                   f"{', significant' if sig_facts else ', not significant'}; MDE {_pct(facts['mde'])})")
    ratio = c["steps_ratio"]
    if not summary["rl_works"].get("works", True):
        speed = (f"steps-to-match is not meaningful here, as {base}'s final accuracy is within noise of the warm "
                 "start it started from")
    elif ratio is None:
        speed = f"it never reached {base}'s final answer accuracy on the seed-mean curve"
    elif ratio == 0:
        speed = f"it was at or above {base}'s final answer accuracy from the warm start on (no speed-up to measure)"
    else:
        speed = (f"it reached {base}'s final answer accuracy at {ratio:.2f}x of the steps"
                 f" ({'within' if ratio <= SPEEDUP_AIM else 'not within'} the {SPEEDUP_AIM}x aim)")
    text = f"{head}: {detail}; {speed}. {_rl_sentence(summary)}"
    text += _perception_sentence(summary, head_arm)
    others = [a for a in comps if a != head_arm]
    if others:
        text += " Other arms vs " + base + ": " + "; ".join(_arm_clause(a, comps[a]) for a in others) + "."
    return text


def _ci(stat: dict[str, Any]) -> str:
    return f"{stat['mean']:.1%} [{stat['ci'][0]:.1%}, {stat['ci'][1]:.1%}]"


def render_markdown(run, summary: dict[str, Any], plots: list[str], *, title: str | None = None) -> str:
    cfg = run.cfg
    agg = summary["aggregate"]
    arms, base = summary["arms"], summary["baseline"]
    lines = [
        title or "# perceptrl demo: does the perception reward help a tiny VLM?",
        "",
        f"**Verdict.** {verdict(summary)}",
        "",
        f"{len(arms)} GRPO arm(s) on a tiny Qwen2.5-VL built locally, after the same SFT warm start, same seed, "
        f"same problems, same {cfg.grpo_steps} steps; only the arm's reward and method differ. Held-out: "
        f"{cfg.n_eval} synthetic problems per seed ({', '.join(cfg.kinds)}, difficulty {cfg.difficulty}) never "
        f"seen in training, greedy decoding. Seeds: {len(summary['seeds'])}. Wall time: {summary['seconds']:.0f} s"
        + (f" (this invocation; {sum(summary['invocations']):.0f} s over the {len(summary['invocations'])} "
           "invocations that ran this folder's jobs)." if len(summary["invocations"]) > 1 else "."),
        "",
        f"## Held-out results after {cfg.grpo_steps} GRPO steps",
        "",
        "Mean over seeds [bootstrap 95% interval over seeds]; p: McNemar's exact test on the paired final items "
        f"pooled over seeds, vs {base} (answers: one pair per problem; perception: one pair per annotated fact); "
        f"steps: the share of {base}'s {cfg.grpo_steps} steps an arm needs to reach {base}'s final seed-mean "
        "answer accuracy (0 = already there at the warm start).",
        "",
        "| arm | answer accuracy | perception accuracy | strict format | p answers | p perception | steps to "
        f"{base}'s final acc | Δ answers / Δ facts vs warm start (p) |",
        "|---|---|---|---|---|---|---|---|",
        f"| SFT warm start (step 0) | {_ci(agg['warm_start.accuracy'])} | {_ci(agg['warm_start.perception'])} | "
        f"{_ci(agg['warm_start.format'])} | | | | |",
    ]
    lines += _arm_rows(summary)
    rl = summary["rl_works"]
    lines += ["", _rl_sentence(summary) + f" Seeds above the warm start: {rl['seeds_above_warm_start'] or 'none'}.",
              ""]
    lines += _paired_lines(summary)
    if summary.get("groups"):
        from perceptrl.demo.groups import render

        lines += render(summary["groups"], arms)
    lines += ["## Per seed (final held-out answer accuracy / perception accuracy)", "",
              "| seed | warm start | " + " | ".join(arms) + " |", "|---|---|" + "---|" * len(arms)]
    for r in summary["per_seed"]:
        cells = [f"{r[a]['accuracy']:.1%} / {r[a]['perception']:.1%}" for a in arms]
        lines.append(f"| {r['seed']} | {r['warm_start']['accuracy']:.1%} / {r['warm_start']['perception']:.1%} | "
                     + " | ".join(cells) + " |")
    lines += _rm_lines(run, summary)
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    lines += settings_lines(cfg)
    last = arms[-1]
    samples = run.arms[(summary["seeds"][0], last)]["evals"][-1].get("samples") or []
    if samples:
        lines += ["", f"## Sample held-out responses ({last}, seed {summary['seeds'][0]}, final step)", ""]
        for s in samples:
            lines += ["```", s, "```"]
    return "\n".join(lines) + "\n"


def _rm_lines(run, summary: dict[str, Any]) -> list[str]:
    """Per seed, the outcome RM an arm trained (perceptrl.demo.outcome_rm): how much it could know."""
    rows = [(s, a, r["reward_model"]) for s in summary["seeds"] for a in summary["arms"]
            if (r := run.arms.get((s, a), {})).get("reward_model")]
    if not rows:
        return []
    auc = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    lines = ["", "## Outcome reward models (trained per seed on the warm start's verified samples)", "",
             "| seed | arm | responses | right | AUC fit | AUC held-out problems |", "|---|---|---|---|---|---|"]
    lines += [f"| {s} | {a} | {r['responses']} | {r['right_share']:.1%} | {auc(r['auc_fit'])} | {auc(r['auc_held_out'])} |"
              for s, a, r in rows]
    return lines


def _arm_rows(summary: dict[str, Any]) -> list[str]:
    """One row of the results table per arm: intervals, p vs the baseline, steps, change vs the warm start."""
    agg, lines = summary["aggregate"], []
    for arm in summary["arms"]:
        c = summary["comparisons"].get(arm)
        p_ans = _p(c["answers"]["p"]) if c else "(baseline)"
        p_f = _p(c["facts"]["p"]) if c and c["facts"] else ("(baseline)" if not c else "—")
        ratio = ("—" if not c else "not reached" if c["steps_ratio"] is None else f"{c['steps_ratio']:.2f}x")
        vw = summary["vs_warm_start"][arm]
        dw = f"{vw['answers']['diff']:+.1%} ({_p(vw['answers']['p'])})"
        if vw["facts"]:
            dw += f" / {vw['facts']['diff']:+.1%} ({_p(vw['facts']['p'])})"
        lines.append(f"| {label(arm)} (`{arm}`) | {_ci(agg[arm + '.accuracy'])} | {_ci(agg[arm + '.perception'])} | "
                     f"{_ci(agg[arm + '.format'])} | {p_ans} | {p_f} | {ratio} | {dw} |")
    return lines


def _paired_lines(summary: dict[str, Any]) -> list[str]:
    """The paired-comparison table (McNemar counts, p, minimum detectable effect) per arm and kind."""
    base, lines = summary["baseline"], []
    if summary["comparisons"]:
        lines += ["## Paired comparisons and power", "",
                  f"| arm vs {base} | items | both right | only {base} | only arm | both wrong | p | "
                  "minimum detectable effect (80% power, α 0.05) |",
                  "|---|---|---|---|---|---|---|---|"]
        for arm, c in summary["comparisons"].items():
            for kind in ("answers", "facts"):
                m = c[kind]
                if m is None:
                    continue
                lines.append(f"| {arm}: {kind} | {m['n']} | {m['both_correct']} | {m['base_only']} | {m['arm_only']} | "
                             f"{m['neither']} | {_p(m['p'])} | {_pct(m['mde'])} |")
        lines.append("")
    return lines



def per_item_results(run, summary: dict[str, Any]) -> dict[str, Any]:
    """Every final per-item result, keyed ``seed/arm`` (and ``seed/warm_start``): ids, correctness, facts."""
    keep = ("ids", "correct", "facts", "fact_hits")
    out: dict[str, Any] = {}
    for s in summary["seeds"]:
        out[f"{s}/warm_start"] = {k: run.warm[s]["eval"].get(k) for k in keep}
        for arm in summary["arms"]:
            final = run.arms[(s, arm)]["evals"][-1]
            out[f"{s}/{arm}"] = {"step": final["step"], **{k: final.get(k) for k in keep}}
    return out


def write_report(run, *, title: str | None = None) -> Path:
    out = Path(run.out_dir)
    summary = summarize(run)
    plots = plot_curves(run, out, summary, label)
    (out / "results.json").write_text(json.dumps({"summary": summary, "verdict": verdict(summary),
                                                  "config": run.cfg.as_dict(),
                                                  "items": per_item_results(run, summary)}, indent=1))
    path = out / "report.md"
    path.write_text(render_markdown(run, summary, plots, title=title))
    return path
