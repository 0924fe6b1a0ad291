"""The lmms_eval protocol's LLM steps through a real OpenAI-compatible server (llama-server with
SmolLM2-135M: plumbing, not verdict quality): MathVista extraction, the reasoning judge, the cache."""

import json

import pytest

from perceptrl.eval.protocols import get_protocol
from perceptrl.eval.runner import score_run
from perceptrl.judge.client import ChatClient


@pytest.fixture
def server(llama_server_handle):
    """The session's SmolLM2 llama-server (tests/integration/conftest.py), not a second one."""
    return llama_server_handle


def test_rescore_under_lmms_eval_with_a_judge_server(server, tmp_path):
    items = [
        {"bench": "mathvista", "id": "1", "problem": "Question: How many apples?", "answer": "5", "choices": None,
         "metadata": {"bench": "mathvista", "question_type": "free_form", "answer_type": "integer", "precision": None}},
        {"bench": "mathverse", "id": "2", "problem": "Find x.", "answer": "4.4 m", "choices": None,
         "metadata": {"bench": "mathverse"}},
        {"bench": "mathvista", "id": "3", "problem": "Question: How many pears?", "answer": "3", "choices": None,
         "metadata": {"bench": "mathvista", "question_type": "free_form", "answer_type": "integer", "precision": None}},
    ]
    responses = ["I count them: there are 5 apples.", "<answer>four point four metres</answer>", "3"]
    (tmp_path / "run.json").write_text(json.dumps({"model": "m", "protocol": "lmms_eval",
                                                    "decoding": get_protocol("lmms_eval").decoding.as_dict()}))
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(it) + "\n" for it in items))
    (tmp_path / "responses.jsonl").write_text("".join(json.dumps(
        {"bench": it["bench"], "id": it["id"], "sample": 0, "prompt": "", "response": r}) + "\n"
        for it, r in zip(items, responses)))
    client = ChatClient(server.base_url, server.model, timeout=120, cache_path=tmp_path / "judge.sqlite")
    s = score_run(tmp_path, get_protocol("lmms_eval"), judge=client)
    rows = [json.loads(x) for x in (tmp_path / "scores" / "lmms_eval.jsonl").read_text().splitlines()]
    assert [r["extracted_by"] for r in rows] == ["llm", "judge", "rule"]
    assert rows[2]["correct"] is True and all(isinstance(r["correct"], bool) for r in rows)
    assert s["judge"]["model"] == server.model and s["judge"]["max_tokens_extract"] == 256
    assert s["scoring_harness"] == "lmms-eval 0.7.3"
    assert client.usage["requests"] >= 2
