import argparse
import json

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.rewards import cli

GOOD = "<think>\nFrom the figure AB = 10.\n</think>\n<answer>\n\\boxed{10}\n</answer>"


def _run(argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["score", *argv])
    return args.func(args)


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_scores_each_component_with_rules_judge(tmp_path, capsys):
    inp = _write(tmp_path / "responses.jsonl", [
        {"id": "a", "completion": GOOD, "answer": "10", "visual_annotations": ["AB = 10"]},
        {"id": "b", "response": "I think 3", "answer": "10", "visual_annotations": ["AB = 10"]},
        {"id": "c", "completion": GOOD, "answer": "10", "visual_annotations": []},
    ])
    out = tmp_path / "scores.jsonl"
    assert _run(["--rewards", "perception_r1", "--judge-backend", "rules", "--input", str(inp),
                 "--output", str(out), "--workers", "1"]) == 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in recs] == ["a", "b", "c"]
    assert recs[0] == {"id": "a", "total": pytest.approx(1.7), "accuracy": 1.0, "format": 1.0,
                       "perception": 1.0, "repetition": 0.0}
    assert recs[1]["total"] == 0.0
    printed = capsys.readouterr().out
    assert "perception" in printed and "total" in printed


def test_perception_without_judge_is_refused_before_work(tmp_path):
    inp = _write(tmp_path / "r.jsonl", [{"completion": GOOD, "answer": "10"}])
    with pytest.raises(PerceptrlError, match="needs a judge"):
        _run(["--input", str(inp), "--output", str(tmp_path / "o.jsonl")])
    assert _run(["--rewards", "perception_r1_no_judge", "--input", str(inp), "--output", str(tmp_path / "o.jsonl"),
                 "--workers", "0"]) == 0


def test_bad_lines_are_all_reported_with_line_numbers(tmp_path):
    inp = tmp_path / "bad.jsonl"
    inp.write_text('{"completion": "x", "answer": "1"}\nnot json\n{"answer": "1"}\n[1]\n')
    with pytest.raises(PerceptrlError) as e:
        _run(["--rewards", "perception_r1_no_judge", "--input", str(inp), "--output", str(tmp_path / "o.jsonl")])
    msg = str(e.value)
    assert "line 2" in msg and "line 3" in msg and "line 4" in msg and "3 bad line" in msg
    with pytest.raises(PerceptrlError, match="not found"):
        _run(["--rewards", "perception_r1_no_judge", "--input", str(tmp_path / "nope.jsonl"), "--output", "x"])
    with pytest.raises(PerceptrlError, match="neither a preset"):
        _run(["--rewards", "nope", "--input", str(inp), "--output", "x"])


def test_spec_file(tmp_path):
    spec = tmp_path / "rewards.yaml"
    spec.write_text("rewards:\n  terms:\n    - {name: fmt, reward: format, params: {pattern: think_answer}}\n")
    inp = _write(tmp_path / "r.jsonl", [{"completion": "<think>a</think><answer>1</answer>"}])
    out = tmp_path / "o.jsonl"
    assert _run(["--rewards", str(spec), "--input", str(inp), "--output", str(out)]) == 0
    assert json.loads(out.read_text()) == {"id": 1, "total": 1.0, "fmt": 1.0}


def test_untagged_visual_key_info_is_a_bad_line_not_a_row_without_annotations(tmp_path):
    """Plain annotation text used to make the perception term silently not applicable."""
    inp = _write(tmp_path / "r.jsonl", [
        {"id": "a", "completion": GOOD, "answer": "10", "visual_key_info": "<info1>AB = 10</info1>"},
        {"id": "b", "completion": GOOD, "answer": "10", "visual_key_info": "AB = 10"},
        {"id": "c", "completion": GOOD, "answer": "10", "visual_key_info": "<info>AB = 10</info>"},
        {"id": "d", "completion": GOOD, "answer": "10", "visual_annotations": "AB = 10"},
    ])
    out = tmp_path / "o.jsonl"
    with pytest.raises(PerceptrlError) as e:
        _run(["--rewards", "perception_r1", "--judge-backend", "rules", "--input", str(inp), "--output", str(out), "--workers", "1"])
    msg = str(e.value)
    assert "3 bad line(s)" in msg and "line 1" not in msg
    assert "line 2: visual_key_info: expected <info1>" in msg and "line 3: visual_key_info:" in msg
    assert "line 4: visual_annotations must be a list of strings" in msg and "<info1>…</info1>" in e.value.fix
    assert not out.exists()

    inp = _write(tmp_path / "ok.jsonl", [{"id": "a", "completion": GOOD, "answer": "10",
                                          "visual_key_info": "<info1>AB = 10</info1>\n<info2>CD = 3</info2>"}])
    assert _run(["--rewards", "perception_r1", "--judge-backend", "rules", "--input", str(inp), "--output", str(out), "--workers", "1"]) == 0
    (rec,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert rec["perception"] == 0.5  # both annotations parsed by the dataset parser; AB = 10 is in the response
