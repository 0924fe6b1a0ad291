"""run_demo's bookkeeping: finished jobs are read back on a rerun, other settings are refused, --restart wipes."""

import json

import pytest

from perceptrl.demo import run as R
from perceptrl.demo.config import DemoConfig
from perceptrl.errors import PerceptrlError


def _folder(tmp_path, cfg):
    out = tmp_path / "out"
    (out / "runs" / "seed-0").mkdir(parents=True)
    (out / "config.json").write_text(json.dumps(cfg.as_dict()))
    return out


def test_same_settings_resume_and_more_seeds_or_arms_are_compatible(tmp_path):
    cfg = DemoConfig(seeds=2)
    out = _folder(tmp_path, cfg)
    R._check_resume(cfg, out, resume=True)  # same settings
    R._check_resume(DemoConfig(seeds=5, workers=1, arms=("grpo", "perception_r1", "papo")), out, resume=True)
    assert (out / "runs" / "seed-0").is_dir()


def test_other_settings_are_refused_before_any_work(tmp_path):
    out = _folder(tmp_path, DemoConfig())
    with pytest.raises(PerceptrlError) as e:
        R._check_resume(DemoConfig(grpo_steps=7), out, resume=True)
    assert "other settings" in e.value.render() and "--restart" in e.value.render()


def test_restart_discards_finished_jobs(tmp_path):
    out = _folder(tmp_path, DemoConfig())
    (out / "runs" / "seed-0" / "arm-grpo.json").write_text("{}")
    R._check_resume(DemoConfig(grpo_steps=7), out, resume=False)
    assert not (out / "runs").exists()


def test_a_half_written_result_is_not_trusted(tmp_path):
    good, torn, missing = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    R._write_json(good, {"seed": 0})
    torn.write_text('{"seed": 0, "evals": [')
    assert R._load_done(good) == {"seed": 0}
    assert R._load_done(torn) is None and R._load_done(missing) is None
    assert not list(tmp_path.glob("*.tmp"))


def test_invocations_add_up_and_restart_resets_them(tmp_path):
    out = _folder(tmp_path, DemoConfig())
    assert R._record_invocation(out, 10.04) == (10.0,)
    assert R._record_invocation(out, 2.0) == (10.0, 2.0)
    assert R._record_invocation(out, None) == (10.0, 2.0)  # a report-only rerun adds nothing
    R._check_resume(DemoConfig(grpo_steps=7), out, resume=False)
    assert not (out / "invocations.json").exists()


def test_a_folder_made_before_a_knob_existed_resumes_at_its_default_only(tmp_path):
    old = DemoConfig(seeds=2).as_dict()
    del old["kl_beta"]  # a run made before the KL knob: it ran without KL
    out = tmp_path / "out"
    (out / "runs" / "seed-0").mkdir(parents=True)
    (out / "config.json").write_text(json.dumps(old))
    R._check_resume(DemoConfig(seeds=2), out, resume=True)
    with pytest.raises(PerceptrlError, match="other settings"):
        R._check_resume(DemoConfig(seeds=2, kl_beta=0.04), out, resume=True)


def test_a_warm_start_that_runs_alone_gets_the_spare_cores():
    assert R.warm_start_threads(DemoConfig.quick()) == 2  # one seed, two workers
    assert R.warm_start_threads(DemoConfig(seeds=3, workers=2)) == 1
    assert R.warm_start_threads(DemoConfig(seeds=1, workers=1)) == 1
    assert R.warm_start_threads(DemoConfig(seeds=2, workers=4)) == 2


def test_the_progress_bar_redraws_once_a_minute_into_a_log_and_often_on_a_terminal(tmp_path):
    import os

    master, slave = os.openpty()
    with os.fdopen(slave, "w") as tty, open(tmp_path / "log", "w") as log:
        assert R.progress_interval(tty) == 0.1
        assert R.progress_interval(log) == 60.0
    os.close(master)
    closed = open(tmp_path / "log")
    closed.close()
    assert R.progress_interval(closed) == 60.0
