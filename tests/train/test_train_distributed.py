"""Distributed for real: ``accelerate launch`` with 2 CPU processes (gloo) runs 2 GRPO steps of
``perceptrl train`` on the tiny Qwen2.5-VL, and both ranks end with identical, updated parameters.

Each rank writes the SHA-256 of its final parameters to ``output_dir/parameters.rank{R}.sha256``
(:func:`perceptrl.train.run._check_ranks_agree`). A reward module written by the test logs what
each rank scored, to show that the ranks trained on different rollouts: equal weights then come
from the gradient all-reduce, not from two copies doing the same thing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from perceptrl.models import load_vlm
from perceptrl.train.checkpoints import parameter_digest

REPO = Path(__file__).resolve().parents[2]

PROBE = '''
import json, os
from perceptrl.rewards.registry import register_reward


@register_reward("test_distributed_probe")
def probe(completion, row):
    """Logs which rank scored what; varies between rollouts so that the parameters move."""
    with open(os.environ["PERCEPTRL_TEST_ROW_LOG"], "a") as f:
        f.write(json.dumps({"rank": os.environ.get("RANK"), "row_id": row["row_id"], "completion": completion}) + "\\n")
    return (len(set(completion)) % 4) / 3.0
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_cpu_processes_end_with_identical_updated_parameters(tiny_qwen25vl_dir, tmp_path):
    probe, out, rows, log = tmp_path / "probe_reward.py", tmp_path / "out", tmp_path / "rows.jsonl", tmp_path / "run.log"
    probe.write_text(PROBE)
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [
        str(accelerate), "launch", "--config_file", str(REPO / "configs" / "accelerate" / "cpu_2proc.yaml"),
        "--main_process_port", str(_free_port()),
        "-m", "perceptrl", "train", str(REPO / "configs" / "demo_cpu.yaml"),
        f"model.name_or_path={tiny_qwen25vl_dir}", "data.path=synth:8",
        f"rewards.modules=[{probe}]", "rewards.preset=null",
        "rewards.terms=[{name: test_distributed_probe, weight: 1.0}]", "rewards.workers=0",
        "trl.max_steps=2", "trl.per_device_train_batch_size=4", "trl.num_generations=2",
        "trl.max_completion_length=8", "trl.learning_rate=1e-3", "trl.save_strategy=no", "trl.report_to=none",
        "trl.seed=0", f"trl.output_dir={out}",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PERCEPTRL_TEST_ROW_LOG": str(rows),
           "CUDA_VISIBLE_DEVICES": ""}
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT, timeout=180)
    text = log.read_text()
    assert proc.returncode == 0, text[-3000:]
    assert "2 process(es)" in text, "the run did not see two processes"

    digests = [(out / f"parameters.rank{r}.sha256").read_text().strip() for r in (0, 1)]
    assert digests[0] == digests[1], "the two ranks ended with different parameters"

    model, _ = load_vlm(str(tiny_qwen25vl_dir), dtype="float32")
    assert parameter_digest(model) != digests[0], "the parameters did not change"
    final, init = load_file(out / "model.safetensors"), load_file(tiny_qwen25vl_dir / "model.safetensors")
    assert final.keys() == init.keys()
    assert any(not torch.equal(final[k], init[k]) for k in init), "the saved model equals the initial one"

    scored = [json.loads(line) for line in rows.read_text().splitlines()]
    by_rank = {r: [(x["row_id"], x["completion"]) for x in scored if x["rank"] == r] for r in ("0", "1")}
    assert len(by_rank["0"]) == len(by_rank["1"]) == 2 * 4, "each rank scores 4 rollouts a step"
    assert by_rank["0"] != by_rank["1"], "both ranks scored the same rollouts: no data parallelism"
