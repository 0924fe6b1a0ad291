"""A report per run: a markdown table and a matplotlib bar chart (``report.md``, ``report.png``)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from perceptrl.eval.store import load_scores, write_bytes_atomic, write_text_atomic


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def markdown_report(summary: dict[str, Any]) -> str:
    dec = summary.get("decoding", {})
    lines = [
        f"# Evaluation: {summary.get('model')}",
        "",
        f"protocol **{summary['protocol']}** (scorer: {summary['scorer']}); decoding: temperature "
        f"{dec.get('temperature')}, samples {dec.get('num_samples')}, max new tokens {dec.get('max_new_tokens')}"
        + (" — rescored under a protocol with other decoding" if summary.get("decoding_mismatch") else ""),
        "",
        "| benchmark | n | accuracy (%) |",
        "|---|---:|---:|",
    ]
    for bench, m in summary["benches"].items():
        lines.append(f"| {bench} | {m['n']} | {_pct(m['accuracy'])} |")
    for bench, m in summary["benches"].items():
        for key, groups in m.items():
            if not key.startswith("by_"):
                continue
            lines += ["", f"## {bench} by {key[3:].replace('_', ' ')}", "", "| group | n | accuracy (%) |", "|---|---:|---:|"]
            lines += [f"| {g} | {v['n']} | {_pct(v['accuracy'])} |" for g, v in groups.items()]
        if "wemath" in m:
            from perceptrl.eval.wemath import format_score

            w = m["wemath"]
            lines += [
                "", f"## {bench}: four-dimensional metrics ({w['n_composite']} composite problems"
                + (f", {w['incomplete']} incomplete left out" if w["incomplete"] else "") + ")", "",
                "| metric | strict | loose |", "|---|---:|---:|",
                f"| score (%) | {format_score(w['score_strict'])} | {format_score(w['score_loose'])} |",
                f"| IK insufficient knowledge | {w['IK']} | {w['IK']} |",
                f"| IG inadequate generalization | {w['IG']} | {w['IG']} |",
                f"| CM complete mastery | {w['CM_strict']} | {w['CM_loose']} |",
                f"| RM rote memorization | {w['RM_strict']} | {w['RM_loose']} |",
                "",
                f"one-step accuracy {_pct(w['acc_one_step'])} %, two-step {_pct(w['acc_two_step'])} %, "
                f"three-step {_pct(w['acc_three_step'])} %",
            ]
    return "\n".join(lines) + "\n"


def plot_png(summary: dict[str, Any]) -> bytes:
    """Bar chart: accuracy per benchmark, and per group for every breakdown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values = [], []
    for bench, m in summary["benches"].items():
        labels.append(bench)
        values.append(100 * m["accuracy"])
        for key, groups in m.items():
            if key.startswith("by_"):
                for g, v in groups.items():
                    labels.append(f"{bench}: {g}")
                    values.append(100 * v["accuracy"])
        if "wemath" in m and m["wemath"]["score_strict"] is not None:
            labels.append(f"{bench}: strict score")
            values.append(100 * m["wemath"]["score_strict"])
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(labels) + 1.2))
    ax.barh(range(len(labels)), values, color=["#1f77b4" if ":" not in lab else "#9ecae1" for lab in labels])
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("accuracy (%)")
    ax.set_title(f"{summary.get('model')} — {summary['protocol']}", fontsize=10)
    for i, v in enumerate(values):
        ax.text(min(v + 1, 92), i, f"{v:.1f}", va="center", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def write_report(run_dir: str | Path, protocol: str | None = None) -> tuple[Path, Path]:
    """Write ``report[-PROTOCOL].md`` and ``.png`` into the run folder; return their paths."""
    summary, _ = load_scores(run_dir, protocol)
    run = Path(run_dir)
    stem = "report" if protocol in (None, summary.get("protocol")) and _is_own(run, summary) else f"report-{summary['protocol']}"
    md, png = run / f"{stem}.md", run / f"{stem}.png"
    write_text_atomic(md, markdown_report(summary) + f"\n![accuracy]({png.name})\n")
    write_bytes_atomic(png, plot_png(summary))
    return md, png


def _is_own(run: Path, summary: dict) -> bool:
    import json

    return json.loads((run / "run.json").read_text()).get("protocol") == summary["protocol"]
