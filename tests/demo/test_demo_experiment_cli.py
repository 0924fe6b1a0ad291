"""``perceptrl experiment``: bad input exits 2 before work; a quick run reports every arm and resumes per job."""

import json
import time

import pytest
from bounds import REFUSED_BEFORE_WORK_S

from perceptrl.cli import main


@pytest.mark.parametrize("argv,needle", [
    (["--arms", "grpo,pappo"], "pappo"),
    (["--arms", "grpo,grpo"], "distinct"),
    (["--set", "choice_share=2"], "choice_share"),
    (["--set", "seeds_=3"], "did you mean 'seeds'"),
])
def test_bad_settings_exit_2_before_work(tmp_path, capsys, argv, needle):
    t = time.time()
    assert main(["experiment", *argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert time.time() - t < REFUSED_BEFORE_WORK_S and not (tmp_path / "out").exists()


def test_help_lists_every_arm(capsys):
    from perceptrl.demo.arms import ARMS

    with pytest.raises(SystemExit):
        main(["experiment", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for arm in (*ARMS, "--restart"):
        assert arm in out


@pytest.mark.slow
def test_quick_experiment_reports_every_arm_and_resumes(tmp_path, capsys):
    out = tmp_path / "exp"
    argv = ["experiment", "--quick", "--no-progress", "--arms", "grpo,perception_r1,papo", "--out", str(out)]
    assert main(argv) == 0
    first = json.loads((out / "results.json").read_text())
    report = (out / "report.md").read_text()
    assert first["summary"]["arms"] == ["grpo", "perception_r1", "papo"]
    for arm in ("perception_r1", "papo"):
        assert f"(`{arm}`)" in report and arm in first["summary"]["comparisons"]
        assert len(first["items"][f"0/{arm}"]["correct"]) == first["config"]["n_eval"]
    assert first["verdict"] in report
    # the same command again reads every finished job back instead of training
    t = time.time()
    assert main(argv) == 0
    assert time.time() - t < 30
    again = json.loads((out / "results.json").read_text())
    assert again["items"] == first["items"]
    # other settings in the same folder are refused, --restart is the way out
    assert main([*argv, "--set", "grpo_steps=3"]) == 2
    assert "other settings" in capsys.readouterr().err
