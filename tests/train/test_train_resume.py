"""Resume after ``kill -9``: ``perceptrl train ... --resume`` continues from the last complete
checkpoint with the same data order and ends with the parameters of an uninterrupted run.

Three real CLI processes on the tiny Qwen2.5-VL (issue 5, "Must show: Resume"):

1. a run saving a checkpoint every step, killed with SIGKILL as soon as ``checkpoint-2`` is complete;
2. the same command with ``--resume`` in the same output folder, run to the end;
3. an uninterrupted run with the same seed in another folder.

A reward module written by the test logs every scored rollout (row id and completion text) to
the file named by ``PERCEPTRL_TEST_ROW_LOG``: the rollouts of (1) up to the resumed checkpoint,
followed by those of (2), must be exactly those of (3) — same rows in the same order across an
epoch boundary (4 rows, 2 prompts a step: a new shuffle every 2 steps), and the same sampled
completions (RNG state restored). The final weights must match within 1e-5.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from perceptrl.train.checkpoints import last_complete_checkpoint

MAX_STEPS = 8
KILL_AFTER = 2  # kill once checkpoint-KILL_AFTER is complete
ROLLOUTS_PER_STEP = 4  # per_device_train_batch_size (one generation per step)
REPO = Path(__file__).resolve().parents[2]

PROBE = '''
import json, os
from perceptrl.rewards.registry import register_reward


@register_reward("test_resume_probe")
def probe(completion, row):
    """Logs what was scored; varies between rollouts so advantages (and updates) are non-zero."""
    with open(os.environ["PERCEPTRL_TEST_ROW_LOG"], "a") as f:
        f.write(json.dumps({"row_id": row["row_id"], "completion": completion}) + "\\n")
    return (len(set(completion)) % 4) / 3.0
'''


def _command(model_dir: Path, probe: Path, out_dir: Path, resume: bool = False) -> list[str]:
    cmd = [
        sys.executable, "-m", "perceptrl", "train", str(REPO / "configs" / "demo_cpu.yaml"),
        f"model.name_or_path={model_dir}", "data.path=synth:4",
        f"rewards.modules=[{probe}]", "rewards.preset=null",
        "rewards.terms=[{name: test_resume_probe, weight: 1.0}]", "rewards.workers=0",
        f"trl.max_steps={MAX_STEPS}", f"trl.per_device_train_batch_size={ROLLOUTS_PER_STEP}",
        "trl.num_generations=2", "trl.max_completion_length=8", "trl.learning_rate=1e-3",
        "trl.save_steps=1", "trl.save_total_limit=null", "trl.report_to=none", "trl.seed=0",
        f"trl.output_dir={out_dir}",
    ]
    return cmd + (["--resume"] if resume else [])


def _env(row_log: Path) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PERCEPTRL_TEST_ROW_LOG": str(row_log)}


def _run(cmd: list[str], row_log: Path, log: Path) -> None:
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=REPO, env=_env(row_log), stdout=f, stderr=subprocess.STDOUT, timeout=120)
    assert proc.returncode == 0, log.read_text()[-3000:]


def _rollouts(path: Path) -> list[tuple[int, str]]:
    return [(r["row_id"], r["completion"]) for r in map(json.loads, path.read_text().splitlines())]


@pytest.mark.slow
def test_resume_after_sigkill_matches_uninterrupted_run(tiny_qwen25vl_dir, tmp_path):
    probe = tmp_path / "probe_reward.py"
    probe.write_text(PROBE)
    killed_dir, full_dir = tmp_path / "killed", tmp_path / "full"

    # 1. run, and SIGKILL it once checkpoint-KILL_AFTER has its trainer state (i.e. is complete)
    log1 = tmp_path / "run1.log"
    with open(log1, "w") as f:
        proc = subprocess.Popen(_command(tiny_qwen25vl_dir, probe, killed_dir), cwd=REPO,
                                env=_env(tmp_path / "rows_killed.jsonl"), stdout=f, stderr=subprocess.STDOUT)
        state = killed_dir / f"checkpoint-{KILL_AFTER}" / "trainer_state.json"
        deadline = time.monotonic() + 120
        while not state.is_file() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the run ended before it could be killed:\n{log1.read_text()[-3000:]}"
    assert not (killed_dir / f"checkpoint-{MAX_STEPS}").exists(), "killed too late: the run had finished"
    resumed_from = last_complete_checkpoint(killed_dir)
    assert resumed_from is not None
    step = int(Path(resumed_from).name.split("-")[1])
    assert KILL_AFTER <= step < MAX_STEPS

    # 2. resume to the end; 3. uninterrupted run with the same seed
    _run(_command(tiny_qwen25vl_dir, probe, killed_dir, resume=True), tmp_path / "rows_resumed.jsonl",
         tmp_path / "run2.log")
    assert f"resuming from {resumed_from}" in (tmp_path / "run2.log").read_text()
    _run(_command(tiny_qwen25vl_dir, probe, full_dir), tmp_path / "rows_full.jsonl", tmp_path / "run3.log")

    # same data order and the same sampled completions, step for step
    full = _rollouts(tmp_path / "rows_full.jsonl")
    assert len(full) == MAX_STEPS * ROLLOUTS_PER_STEP
    before = _rollouts(tmp_path / "rows_killed.jsonl")[: step * ROLLOUTS_PER_STEP]
    resumed = _rollouts(tmp_path / "rows_resumed.jsonl")
    assert len(resumed) == (MAX_STEPS - step) * ROLLOUTS_PER_STEP, "the resumed run did not start at the checkpoint"
    assert [r for r, _ in before + resumed] == [r for r, _ in full], "data order differs after resume"
    assert before + resumed == full, "sampled completions differ after resume (weights or RNG state not restored)"

    # same final parameters, and they moved away from the initial model
    got, want = load_file(killed_dir / "model.safetensors"), load_file(full_dir / "model.safetensors")
    init = load_file(tiny_qwen25vl_dir / "model.safetensors")
    assert got.keys() == want.keys()
    for name in want:
        assert torch.allclose(got[name], want[name], atol=1e-5, rtol=0), name
    assert any(not torch.equal(want[k], init[k]) for k in init if k in want), "training did not change the parameters"
