"""LLM-judge scorer: verdict parsing, and the failure policy against a real (closed) loopback port.

The judgement itself runs against the real llama.cpp server in
``tests/integration/test_eval_judge_server.py``.
"""

import socket

from perceptrl.eval.judge_scorer import JudgeScorer, parse_true_false
from perceptrl.judge.client import ChatClient


def test_parse_true_false():
    assert parse_true_false("true") is True
    assert parse_true_false(" False.") is False
    assert parse_true_false("Yes, they are equivalent") is True
    assert parse_true_false("The answers are incorrect") is False
    assert parse_true_false("maybe") is None


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_judge_scores_wrong_and_counts_never_crashes():
    client = ChatClient(f"http://127.0.0.1:{_closed_port()}/v1", "judge", timeout=2, max_retries=0)
    scorer = JudgeScorer(client)
    item = {"id": "1", "problem": "<image>Find x.", "answer": "5", "metadata": {}}
    out = scorer.score(["<answer>5</answer>", "x is five"], [item, item])
    assert [o["correct"] for o in out] == [False, False]
    assert all("judge_error" in o for o in out)
