"""`perceptrl annotate` end to end against a real OpenAI-compatible server (llama.cpp + SmolLM2-135M).

SmolLM2 is a weak extractor: the test checks the pipeline (requests, progress, resume, output,
summary), not the quality of the facts.
"""

import json
import subprocess
import sys

import pytest

from perceptrl.data.io import read_examples, write_examples
from perceptrl.synth import generate

pytestmark = pytest.mark.server


def _run(args, timeout=600):
    return subprocess.run([sys.executable, "-m", "perceptrl", "annotate", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_annotate_cli_with_real_extractor_and_resume(llama_server, llama_server_model, tmp_path):
    exs = generate(3, seed=3)
    exs[1].metadata["cot"] = "<think>\nI guess.\n</think>\n<answer>\n\\boxed{12345}\n</answer>"  # wrong answer
    data = tmp_path / "data.jsonl"
    write_examples(exs, data, format="jsonl")
    out = tmp_path / "annotated.parquet"
    args = ["--data", str(data), "--out", str(out), "--cot-column", "cot", "--extract-base-url", llama_server,
            "--extract-model", llama_server_model, "--extract-max-tokens", "48", "--max-facts", "4"]
    p1 = _run(args)
    progress = [json.loads(line) for line in (tmp_path / "annotated.parquet.progress.jsonl").read_text().splitlines()]
    # exit 0 when something was kept; 1 (with a summary) when no row was
    assert p1.returncode == (0 if any(r["status"] == "kept" for r in progress) else 1), p1.stderr
    status = {r["id"]: r for r in progress}
    assert len(status) == 3
    assert status[exs[1].id]["status"] == "dropped" and "verifies" in status[exs[1].id]["reason"]
    for e in (exs[0], exs[2]):  # verified: the extractor was asked, and its answer was parsed
        assert status[e.id]["cots_verified"] == 1
        assert status[e.id]["status"] in ("kept", "dropped")
    assert "requests 2" in p1.stdout and "prompt tokens" in p1.stdout
    kept = [r for r in progress if r["status"] == "kept"]
    if kept:
        rows = read_examples(out)
        assert [r.id for r in rows] == [r["id"] for r in progress if r["status"] == "kept"] or \
            sorted(r.id for r in rows) == sorted(r["id"] for r in kept)
        assert all(r.visual_annotations for r in rows)

    p2 = _run(args)  # resume: nothing left to do
    assert p2.returncode == p1.returncode, p2.stderr
    assert "requests 0" in p2.stdout and "resumed 3" in p2.stdout


def test_annotate_generates_cot_through_the_server(llama_server, llama_server_model, tmp_path):
    """Chains requested through the OpenAI-compatible endpoint, images as data URLs.

    SmolLM2's chat template is text-only, so llama.cpp answers the multimodal request with a 500:
    the row must end as a counted transport error (retried by a rerun), not as a crash or a drop."""
    exs = generate(1, seed=4)
    data = tmp_path / "data.jsonl"
    write_examples(exs, data, format="jsonl")
    out = tmp_path / "a.parquet"
    p = _run(["--data", str(data), "--out", str(out), "--cot-base-url", llama_server, "--cot-model",
              llama_server_model, "--num-cot", "1", "--cot-max-tokens", "24", "--extract-base-url", llama_server,
              "--extract-model", llama_server_model, "--extract-max-tokens", "24", "--retries", "0"])
    assert p.returncode == 1, p.stderr  # every row failed: not a success
    rec = json.loads((tmp_path / "a.parquet.progress.jsonl").read_text().splitlines()[0])
    assert rec["status"] == "error" and "500" in rec["reason"]
    assert rec["reason"].startswith("chain-of-thought model") and "judge" not in rec["reason"]
    assert "errors 1" in p.stdout and "rerun the same command" in p.stdout
    assert not out.exists()
