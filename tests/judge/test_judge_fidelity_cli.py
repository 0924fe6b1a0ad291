"""`perceptrl judge eval` on the rules judge (no server)."""

import json

import pytest

from perceptrl.cli import main
from perceptrl.judge import fidelity as F
from perceptrl.judge.backends import RulesJudge


def test_judge_eval_rules_prints_metrics_and_writes_report(tmp_path, capsys):
    out = tmp_path / "report.json"
    setf = tmp_path / "set.jsonl"
    assert main(["judge", "eval", "--backend", "rules", "--output", str(out), "--write-set", str(setf),
                 "--show-errors", "1"]) == 0
    text = capsys.readouterr().out
    report, _ = F.evaluate(RulesJudge(), F.build_set())
    assert f"judge_fidelity_accuracy: {report.accuracy:.4f}" in text
    assert "judge_unparseable_pct: 0.00" in text
    for cat in F.CATEGORIES:
        assert cat in text
    assert "truth 1, judged 0" in text  # --show-errors printed a wrong verdict
    data = json.loads(out.read_text())
    assert data["report"]["verdicts"] >= 300 and len(data["cases"]) == len(F.read_set(setf))
    assert data["report"]["accuracy"] == pytest.approx(report.accuracy)

    # the written set read back gives the same numbers
    capsys.readouterr()
    assert main(["judge", "eval", "--backend", "rules", "--set", str(setf)]) == 0
    assert f"judge_fidelity_accuracy: {report.accuracy:.4f}" in capsys.readouterr().out


def test_judge_eval_bad_set_and_plain_judge_need_input(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"annotations": ["a = 1"], "response": "x"}\n')
    assert main(["judge", "eval", "--set", str(bad)]) == 2
    assert "truth" in capsys.readouterr().err
    assert main(["judge"]) == 2  # `perceptrl judge` without --input or a subcommand
    assert "--input" in capsys.readouterr().err
    assert main(["judge", "eval", "--prompt", "nope"]) == 2
