"""``greedy_judge`` rescoring against a real OpenAI-compatible server (llama.cpp + SmolLM2-135M).

SmolLM2-135M's judgements are poor: this checks the plumbing — extraction requests for responses
without an answer, one true/false judgement per response, verdicts stored, the cache reused on a
second rescore — not its accuracy.
"""

import json

import pytest

from perceptrl.eval.judge_scorer import JudgeScorer
from perceptrl.eval.protocols import get_protocol
from perceptrl.eval.runner import item_record, score_run
from perceptrl.judge.client import ChatClient
from perceptrl.synth import generate

pytestmark = pytest.mark.server


def test_rescore_with_llm_judge(llama_server, llama_server_model, tmp_path):
    exs = generate(3)
    responses = [f"<answer>{exs[0].answer}</answer>", "<answer>\\boxed{12345}</answer>",
                 f"I counted carefully and got {exs[2].answer} in the end."]  # no tag: the judge extracts
    (tmp_path / "run.json").write_text(json.dumps({"model": "m", "protocol": "greedy_rules",
                                                    "decoding": get_protocol("greedy_rules").decoding.as_dict()}))
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(item_record("synth", e), default=str) + "\n" for e in exs))
    (tmp_path / "responses.jsonl").write_text("".join(
        json.dumps({"bench": "synth", "id": e.id, "sample": 0, "prompt": "", "response": r}) + "\n"
        for e, r in zip(exs, responses)))

    def scorer():
        return JudgeScorer(ChatClient(llama_server, llama_server_model, timeout=120,
                                      cache_path=tmp_path / "judge.sqlite"))

    s = score_run(tmp_path, get_protocol("greedy_judge"), judge=scorer())
    rows = [json.loads(line) for line in (tmp_path / "scores" / "greedy_judge.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(isinstance(r["correct"], bool) for r in rows)
    assert all("judge_reply" in r or "judge_error" in r for r in rows)
    assert [r["extracted_by"] for r in rows][:2] == ["answer_tag", "answer_tag"]
    assert rows[2]["extracted_by"] in ("judge", "none")
    assert s["judge_usage"]["requests"] >= 4  # 1 extraction + 3 judgements (none failed outright)
    assert s["benches"]["synth"]["n"] == 3

    again = score_run(tmp_path, get_protocol("greedy_judge"), judge=scorer())
    assert again["judge_usage"].get("requests", 0) == 0 and again["judge_usage"]["cache_hits"] >= 4
    assert again["benches"] == s["benches"]
