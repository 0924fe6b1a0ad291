"""``perceptrl demo``: bad input fails cleanly before any work; ``--quick`` produces the report."""

import json
import os
import re
import time

import pytest
from bounds import REFUSED_BEFORE_WORK_S

from perceptrl.cli import main


@pytest.mark.parametrize("argv,needle", [
    (["--seeds", "0"], "seeds=0"),
    (["--set", "grpo_steps=abc"], "grpo_steps"),
    (["--set", "no_such_knob=1"], "no_such_knob"),
    (["--perception-weight", "-1"], "perception_weight"),
])
def test_bad_settings_exit_2_before_work(tmp_path, capsys, argv, needle):
    t = time.time()
    assert main(["demo", *argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert time.time() - t < REFUSED_BEFORE_WORK_S
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_out_exits_2(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    assert main(["demo", "--quick", "--out", str(ro / "report")]) == 2
    assert "cannot write the report folder" in capsys.readouterr().err


def test_out_that_is_a_file_exits_2(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["demo", "--quick", "--out", str(f / "sub")]) == 2
    err = capsys.readouterr().err
    assert "cannot write the report folder" in err and "Traceback" not in err


@pytest.mark.slow
def test_quick_demo_writes_report_with_its_own_numbers(tmp_path, capsys):
    out = tmp_path / "demo"
    t = time.time()
    assert main(["demo", "--quick", "--no-progress", "--out", str(out)]) == 0
    elapsed = time.time() - t
    report = (out / "report.md").read_text()
    results = json.loads((out / "results.json").read_text())
    summary = results["summary"]
    # the report states the verdict and the numbers of this run (not typed-in ones)
    assert results["verdict"] in report and results["verdict"] in capsys.readouterr().out
    for arm in ("grpo", "perception_r1"):
        for key in ("accuracy", "perception"):
            stat = summary["aggregate"][f"{arm}.{key}"]
            assert f"{stat['mean']:.1%} [{stat['ci'][0]:.1%}, {stat['ci'][1]:.1%}]" in report
    mc = summary["comparisons"]["perception_r1"]["answers"]
    assert f"| perception_r1: answers | {mc['n']} |" in report
    assert mc["n"] == json.loads((out / "config.json").read_text())["n_eval"]
    assert len(results["items"]["0/grpo"]["correct"]) == mc["n"]
    # per-step curves: evaluations at the configured steps, for both arms
    for arm in ("grpo", "perception_r1"):
        arm_json = json.loads((out / "runs" / "seed-0" / f"arm-{arm}.json").read_text())
        steps = [e["step"] for e in arm_json["evals"]]
        assert steps[-1] == summary["grpo_steps"] and len(steps) >= 2
        assert any("reward" in h for h in arm_json["log_history"])
    arm_p = json.loads((out / "runs" / "seed-0" / "arm-perception_r1.json").read_text())
    assert any("rewards/perception/mean" in h for h in arm_p["log_history"])
    arm_g = json.loads((out / "runs" / "seed-0" / "arm-grpo.json").read_text())
    assert not any("rewards/perception/mean" in h for h in arm_g["log_history"])
    for png in ("reward.png", "accuracy.png", "perception.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({png})" in report
    assert re.search(r"Wall time: \d+ s", report)
    print(f"quick demo: {elapsed:.0f} s")
