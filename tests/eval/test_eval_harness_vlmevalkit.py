"""The vlmevalkit protocol: VLMEvalKit's order of rule check and LLM steps per benchmark, its
prompts and settings, through a real loopback OpenAI-compatible server for the LLM calls."""

import json
import sys
from pathlib import Path

from perceptrl.eval.harness_vlmevalkit import VlmEvalKitScorer, harness_problem, vista_extract_prompt
from perceptrl.eval.protocols import get_protocol
from perceptrl.eval.runner import score_run
from perceptrl.judge.client import ChatClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "judge"))
from loopback_judge import LoopbackJudge  # noqa: E402

ITEMS = [
    {"bench": "mathvista", "id": "1", "problem": "Hint: integer\nQuestion: How many apples?", "answer": "5",
     "choices": None, "metadata": {"bench": "mathvista", "question_type": "free_form", "answer_type": "integer"}},
    {"bench": "mathvista", "id": "2", "problem": "Question: How many pears?", "answer": "3", "choices": None,
     "metadata": {"bench": "mathvista", "question_type": "free_form", "answer_type": "integer"}},
    {"bench": "mathverse", "id": "3", "problem": "Find x.", "answer": "4.4", "choices": None,
     "metadata": {"bench": "mathverse", "question_for_eval": "Find x (in m)."}},
    {"bench": "mathverse", "id": "4", "problem": "Find y.", "answer": "2", "choices": None, "metadata": {"bench": "mathverse"}},
    {"bench": "wemath", "id": "5|2steps_1", "problem": "Which area?", "answer": "B", "choices": ["12", "24", "36"],
     "metadata": {"bench": "wemath"}},
    {"bench": "logicvista", "id": "6", "problem": "Which two match?", "answer": "A, C", "choices": None,
     "metadata": {"bench": "logicvista"}},
]
RESPONSES = ["I count them: there are 5 apples.", "3", "<answer>4.4</answer>", "it is two", "I think the middle one",
             "tiles C and A"]


def behave(text: str) -> str:
    """A judge LLM that answers each VLMEvalKit-style prompt plausibly (keyed on the item text)."""
    if "there are 5 apples" in text:
        return "5"
    if "Copy out only the final answer" in text:
        return "4.4" if "<answer>4.4" in text else "two"
    if "[Standard Answer]: 2" in text:
        return "1"
    if "Which area?" in text:
        return "B"
    return "CA"


def write_run(path: Path) -> None:
    (path / "run.json").write_text(json.dumps({"model": "m", "protocol": "vlmevalkit",
                                               "decoding": get_protocol("vlmevalkit").decoding.as_dict()}))
    (path / "items.jsonl").write_text("".join(json.dumps(it) + "\n" for it in ITEMS))
    (path / "responses.jsonl").write_text("".join(json.dumps(
        {"bench": it["bench"], "id": it["id"], "sample": 0, "prompt": "", "response": r}) + "\n"
        for it, r in zip(ITEMS, RESPONSES)))


def test_rescore_under_vlmevalkit_with_a_judge_server(tmp_path):
    write_run(tmp_path)
    with LoopbackJudge(behave) as srv:
        client = ChatClient(srv.base_url, "gpt-4o-mini", timeout=30, cache_path=tmp_path / "judge.sqlite")
        s = score_run(tmp_path, get_protocol("vlmevalkit"), judge=client)
        calls = sum(srv.requests.values())
    rows = [json.loads(x) for x in (tmp_path / "scores" / "vlmevalkit.jsonl").read_text().splitlines()]
    assert [r["extracted_by"] for r in rows] == ["llm", "rule", "rule", "judge", "llm", "llm"]
    assert all(r["correct"] for r in rows)
    # MathVerse: the extraction is always the LLM's, even where a rule could read it (item 3)
    assert calls == 6  # MathVista 1; MathVerse 1 + 2 (extraction; extraction and judge); WeMath 1; LogicVista 1
    assert s["scoring_harness"] == "VLMEvalKit e8e78f0"
    assert s["judge"]["model"] == "gpt-4o-mini" and s["judge"]["max_tokens"] == 128 and s["judge"]["temperature"] == 0.0


def test_rules_alone_leave_llm_items_unresolved(tmp_path):
    write_run(tmp_path)
    s = score_run(tmp_path, get_protocol("vlmevalkit"))
    rows = [json.loads(x) for x in (tmp_path / "scores" / "vlmevalkit.jsonl").read_text().splitlines()]
    assert [r["extracted_by"] for r in rows] == ["unresolved", "rule", "unresolved", "unresolved", "rule", "unresolved"]
    assert rows[4]["correct"] is False  # WeMath without a judge: VLMEvalKit's exact_matching finds no "Answer"
    assert s["unresolved"] == 4 and s["judge"] is None


def test_protocol_and_prompts():
    p = get_protocol("vlmevalkit")
    assert p.decoding.greedy and p.decoding.max_new_tokens == 2048 and p.template == "vlmevalkit"
    assert (p.min_pixels, p.max_pixels) == (1280 * 28 * 28, 16384 * 28 * 28)
    assert harness_problem("wemath", "Which area?", {}, ["12", "24"]) == "Question: Which area?\nOptions:\nA. 12\nB. 24\n"
    assert harness_problem("mathvision", "Which?", {}, ["2", "3"]) == "Which?\n(A) 2\n(B) 3"
    assert harness_problem("mathvista", "the query", {"question": "q"}) == "the query"
    prompt = vista_extract_prompt("Question: q", "it is 5")
    assert prompt.endswith("Question: q\nModel response: it is 5\nExtracted answer:") and prompt.count("\nExtracted answer:") == 6


def test_wemath_llm_reply_that_matches_no_option_is_unresolved():
    item = ITEMS[4]
    s = VlmEvalKitScorer(extract=lambda p, t, it: "no idea")
    out = s.score(["something else"], [item])[0]
    assert out == {"correct": False, "pred": None, "extracted_by": "unresolved"}


def test_parity_sets_cover_each_benchmark():
    data = Path(__file__).parent / "data"
    for bench, least in (("mathvista", 200), ("mathverse", 200), ("mathvision", 200), ("wemath", 100)):
        lines = [json.loads(x) for x in (data / f"parity_{bench}.jsonl").read_text().splitlines() if x.strip()]
        assert len(lines) >= least and all(ln["item"]["metadata"]["bench"] == bench for ln in lines)
        assert all("llm_extraction" in ln for ln in lines) or bench == "mathverse"
