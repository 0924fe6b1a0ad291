"""Report per run: markdown table and PNG plot."""

import json

from perceptrl.eval.protocols import get_protocol
from perceptrl.eval.report import markdown_report, write_report
from perceptrl.eval.runner import item_record, score_run
from perceptrl.eval.benchmarks import load_benchmark


def test_report_table_and_plot(bench_sources, tmp_path):
    wm = load_benchmark("wemath", str(bench_sources["wemath"]))
    mv = load_benchmark("mathverse", str(bench_sources["mathverse"]))
    dec = get_protocol("greedy_rules").decoding.as_dict()
    (tmp_path / "run.json").write_text(json.dumps({"model": "m", "protocol": "greedy_rules", "decoding": dec}))
    items = [("wemath", e) for e in wm] + [("mathverse", e) for e in mv]
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(item_record(b, e)) + "\n" for b, e in items))
    (tmp_path / "responses.jsonl").write_text("".join(
        json.dumps({"bench": b, "id": e.id, "sample": 0, "response": "<answer>A</answer>"}) + "\n" for b, e in items))
    summary = score_run(tmp_path, get_protocol("greedy_rules"))
    md, png = write_report(tmp_path)
    text = md.read_text()
    assert "| wemath | 10 | 100.0 |" in text and "| mathverse | 10 |" in text
    assert "## mathverse by problem version" in text and "| Vision Only | 2 |" in text
    assert "| score (%) | 100.0 | 100.0 |" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
    assert markdown_report(summary) in text
    # a rescore under another protocol gets its own report, the run's own stays
    score_run(tmp_path, get_protocol("avg_at_k"))
    md2, _ = write_report(tmp_path, "avg_at_k")
    assert md2.name == "report-avg_at_k.md" and "rescored under a protocol with other decoding" in md2.read_text()
