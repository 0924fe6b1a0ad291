"""Each run records what makes scores comparable; eval compare refuses runs that differ in it (issue 16)."""

import json

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.eval.compare import compare_runs, format_comparison
from perceptrl.eval.protocols import get_protocol
from perceptrl.eval.provenance import setting_differences, template_hash
from perceptrl.eval.runner import run_eval
from perceptrl.eval.store import load_run

FAST = get_protocol("greedy_rules", max_new_tokens=4)


@pytest.fixture()
def two_templates(bench_sources, tiny_vlm, tmp_path):
    src = [("geo3k", str(bench_sources["geo3k"]))]
    runs = []
    for name, template in (("a", "perception_r1"), ("b", "plain")):
        run_eval("tiny", src, tmp_path / name, protocol=FAST, limit=2, template=template, loaded=tiny_vlm,
                 progress=False, report=False)
        runs.append(tmp_path / name)
    return runs


def test_run_records_harness_template_hash_and_pixels(two_templates):
    config, _, _ = load_run(two_templates[0])
    assert config["harness"].startswith("perceptrl ")
    assert config["template_hash"] == template_hash("perception_r1") != template_hash("plain")
    assert config["pixels"] == {"min_pixels": None, "max_pixels": None}
    summary = json.loads((two_templates[0] / "scores" / "greedy_rules.json").read_text())
    assert summary["scoring_harness"] == "perceptrl" and summary["judge"] is None


def test_compare_refuses_different_templates_unless_forced(two_templates):
    a, b = two_templates
    with pytest.raises(PerceptrlError, match="template_hash"):
        compare_runs(a, b)
    r = compare_runs(a, b, force=True)
    assert [d.split(":")[0] for d in r["mismatches"]] == ["template", "template_hash"]
    assert "WARNING: NOT COMPARABLE" in format_comparison(r)
    assert "mismatches" not in compare_runs(a, a)


def test_compare_refuses_different_judges(two_templates):
    a, _ = two_templates
    # the same responses scored by two judge models (scores summaries as score_run writes them)
    for name, model in (("greedy_judge", "qwen2.5-72b"), ("greedy_judge_b", "gpt-4o-mini")):
        s = json.loads((a / "scores" / "greedy_rules.json").read_text())
        s.update(protocol="greedy_judge", scorer="judge", judge={"model": model, "base_url": "http://127.0.0.1:8000/v1",
                                                                 "temperature": 0.0, "max_tokens": 32})
        (a / "scores" / f"{name}.json").write_text(json.dumps(s))
        (a / "scores" / f"{name}.jsonl").write_text((a / "scores" / "greedy_rules.jsonl").read_text())
    with pytest.raises(PerceptrlError, match="judge"):
        compare_runs(a, a, protocol_a="greedy_judge", protocol_b="greedy_judge_b")


def test_setting_differences_lists_each_field():
    a = {"protocol": "greedy_rules", "judge": None, "decoding": {"temperature": 0.0}}
    b = {"protocol": "greedy_rules", "judge": None, "decoding": {"temperature": 1.0}}
    assert setting_differences(a, b) == ["decoding: {'temperature': 0.0} vs {'temperature': 1.0}"]


def test_vlmevalkit_run_records_its_settings_and_compare_flags_judge_and_template(bench_sources, tiny_vlm, tmp_path):
    """A vlmevalkit run (VLMEvalKit's WeMath prompt, pixel bounds, harness), rescored with two judge
    models: compare refuses; against the same responses under another template: refused too."""
    import sys
    from pathlib import Path

    from perceptrl.eval.runner import score_run
    from perceptrl.judge.client import ChatClient

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "judge"))
    from loopback_judge import LoopbackJudge

    proto = get_protocol("vlmevalkit", max_new_tokens=4)
    src = [("wemath", str(bench_sources["wemath"]))]
    run = tmp_path / "vlmek"
    run_eval("tiny", src, run, protocol=proto, limit=1, loaded=tiny_vlm, progress=False, report=False)
    config, items, responses = load_run(run)
    assert config["template"] == "vlmevalkit" and config["template_hash"] == template_hash("vlmevalkit")
    assert template_hash("vlmevalkit") != template_hash("lmms_eval")
    assert config["pixels"] == {"min_pixels": 1280 * 28 * 28, "max_pixels": 16384 * 28 * 28}
    assert "Question: " in responses[0]["prompt"] and "\nOptions:\nA. " in responses[0]["prompt"]
    with LoopbackJudge(lambda text: "A") as srv:
        for name, model in (("vlmevalkit", "gpt-4o-mini"), ("vlmevalkit_b", "qwen2.5-72b")):
            s = score_run(run, proto, judge=ChatClient(srv.base_url, model, timeout=30), write=False)
            (run / "scores" / f"{name}.json").write_text(json.dumps(s))
            (run / "scores" / f"{name}.jsonl").write_text(json.dumps({**items[0], "sample": 0, "correct": False}) + "\n")
    assert s["scoring_harness"] == "VLMEvalKit e8e78f0" and s["judge"]["model"] == "qwen2.5-72b"
    with pytest.raises(PerceptrlError, match="judge"):
        compare_runs(run, run, protocol_a="vlmevalkit", protocol_b="vlmevalkit_b")
    other = tmp_path / "other_template"
    other.mkdir()
    for f in ("items.jsonl", "responses.jsonl"):
        (other / f).write_text((run / f).read_text())
    (other / "run.json").write_text(json.dumps({**config, "template": "lmms_eval", "template_hash": template_hash("lmms_eval")}))
    (other / "scores").mkdir()
    for f in ("vlmevalkit.json", "vlmevalkit.jsonl"):
        (other / "scores" / f).write_text((run / "scores" / f).read_text())
    with pytest.raises(PerceptrlError, match="template"):
        compare_runs(run, other)
