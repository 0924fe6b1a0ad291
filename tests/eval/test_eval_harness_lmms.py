"""The lmms_eval protocol reproduces lmms-eval 0.7.3's verdicts, quirks included (no lmms-eval needed;
benchmarks/eval_parity.py compares with lmms-eval's own code)."""

import json
from pathlib import Path

from perceptrl.eval.harness_lmms import LmmsEvalScorer, edit_distance, extraction_prompt
from perceptrl.eval.protocols import get_protocol

DATA = Path(__file__).parent / "data"


def vista(answer, choices=None, answer_type="integer", precision=None):
    qtype = "multi_choice" if choices else "free_form"
    return {"id": "1", "problem": "Question: q", "answer": answer, "choices": None,
            "metadata": {"bench": "mathvista", "options": choices, "question_type": qtype,
                         "answer_type": "text" if choices else answer_type, "precision": precision}}


def score(resp, item, extraction=None):
    s = LmmsEvalScorer(extract=(lambda p, r, it: extraction) if extraction is not None else None)
    return s.score([resp], [item])[0]


def test_mathvista_rule_step_and_integer_truncation():
    assert score("2", vista("2")) == {"correct": True, "pred": "2", "extraction": "2", "extracted_by": "rule"}
    # "2.5" is no int literal -> the LLM extracts "2.5" -> int(float("2.5")) == 2 counts right
    r = score("2.5", vista("2"), extraction="2.5")
    assert r["correct"] and r["extracted_by"] == "llm" and r["pred"] == "2"
    # without an extractor, items the rules do not decide are unresolved (wrong), never guessed
    assert score("The answer is 2.", vista("2")) == {"correct": False, "pred": None, "extracted_by": "unresolved"}


def test_mathvista_multi_choice_normalisation():
    ch = ["3/11", "8/11", "6/11", "3/5"]
    assert score("8/11", vista("8/11", ch))["extracted_by"] == "rule"
    assert score("x", vista("8/11", ch), extraction="(B) 8/11")["correct"]
    assert score("x", vista("8/11", ch), extraction="B")["correct"]
    # a lower-case letter is no option letter: the option nearest by edit distance is taken
    assert score("x", vista("8/11", ch), extraction="b")["pred"] == "3/5"


def test_mathvista_float_rounding_and_lists():
    assert score("x", vista("1.45", answer_type="float", precision=2), extraction="1.449")["correct"]
    assert not score("x", vista("[2007, 2008]", answer_type="list"), extraction="[2007,2008]")["correct"]


def test_reasoning_judge_fallback_only_on_zero():
    asked = []
    s = LmmsEvalScorer(judge=lambda prompt, pred, item: asked.append(pred) or "1")
    item = {"id": "1", "problem": "Find x.", "answer": "4.4 m", "metadata": {"bench": "mathverse"}}
    assert s.score(["<answer>4.4 m</answer>"], [item])[0]["extracted_by"] == "rule"
    assert s.score(["<answer>four point four metres</answer>"], [item])[0] == {"correct": True, "pred": "four point four metres",
                                                                    "extracted_by": "judge"}
    assert asked == ["four point four metres"]


def test_edit_distance_and_prompt():
    assert edit_distance("kitten", "sitting") == 3 and edit_distance("", "abc") == 3
    p = extraction_prompt("Question: q", "it is 3")
    assert p.endswith("Question: q\n\nit is 3\n\nExtracted answer: ") and p.count("Extracted answer:") == 7


def test_protocol_records_harness_settings():
    p = get_protocol("lmms_eval")
    assert p.scorer == "lmms_eval" and p.harness == "lmms-eval 0.7.3"
    assert p.decoding.greedy and p.decoding.max_new_tokens == 16384 and p.max_pixels == 1605632


def test_parity_sets_are_large_enough():
    for bench in ("mathvista", "mathverse"):
        lines = [json.loads(x) for x in (DATA / f"parity_{bench}.jsonl").read_text().splitlines() if x.strip()]
        assert len(lines) >= 200 and all(ln["item"]["metadata"]["bench"] == bench for ln in lines)


def test_harness_prompts_follow_lmms_eval():
    from perceptrl.eval.harness_lmms import harness_problem

    meta = {"question": "What fraction is blue?", "question_type": "multi_choice", "answer_type": "text",
            "options": ["3/11", "8/11"], "unit": None}
    assert harness_problem("mathvista", "official query", meta) == (
        "Question: What fraction is blue?\nChoices:\n(A) 3/11\n(B) 8/11\nHint: Please answer the question and provide "
        "the correct option letter, e.g., A, B, C, D, at the end.")
    meta = {"question": "How long is it?", "question_type": "free_form", "answer_type": "float", "precision": 1,
            "unit": "cm"}
    assert harness_problem("mathvista", "q", meta).startswith("Question: How long is it? (Unit: cm)\nHint: ")
    assert harness_problem("mathverse", "question", {"query_wo": "Please answer: find x."}) == "Please answer: find x."
    assert harness_problem("geo3k", "problem", {}) == "problem"


def test_lmms_eval_run_uses_their_prompts_and_scores(bench_sources, tiny_vlm, tmp_path):
    from perceptrl.eval.runner import run_eval
    from perceptrl.eval.store import load_run

    proto = get_protocol("lmms_eval", max_new_tokens=4)
    ip = tiny_vlm[1].image_processor

    def bounds(p):  # transformers 5 keeps them in size (shortest_edge / longest_edge, in pixels)
        return (p.size["shortest_edge"], p.size["longest_edge"])

    before = bounds(ip)
    seen = []
    real = ip.__class__.__call__

    def spy(self, *a, **k):  # the bounds in force while the run's images are processed
        seen.append(bounds(self))
        return real(self, *a, **k)

    ip.__class__.__call__ = spy
    try:
        summary = run_eval("tiny", [("mathvista", str(bench_sources["mathvista"]))], tmp_path, protocol=proto,
                           loaded=tiny_vlm, progress=False, report=False)
    finally:
        ip.__class__.__call__ = real
    assert seen and set(seen) == {(200704, 1605632)}
    assert bounds(ip) == before != (200704, 1605632)  # the shared processor is given back unchanged
    config, items, responses = load_run(tmp_path)
    assert config["template"] == "lmms_eval" and config["pixels"] == {"min_pixels": 200704, "max_pixels": 1605632}
    item = {i["id"]: i for i in items}[responses[0]["id"]]
    assert f"Question: {item['metadata']['question']}" in responses[0]["prompt"]
    assert summary["scoring_harness"] == "lmms-eval 0.7.3" and summary["benches"]["mathvista"]["n"] == len(items)


def test_rescore_without_judge_counts_unresolved(tmp_path):
    from perceptrl.eval.runner import score_run

    item = vista("2")
    item["bench"] = "mathvista"
    (tmp_path / "run.json").write_text(json.dumps({"model": "m", "protocol": "lmms_eval", "decoding": {}}))
    (tmp_path / "items.jsonl").write_text(json.dumps(item) + "\n")
    (tmp_path / "responses.jsonl").write_text("".join(json.dumps(
        {"bench": "mathvista", "id": "1", "sample": s, "prompt": "", "response": r}) + "\n"
        for s, r in enumerate(["2", "so it is 2"])))
    s = score_run(tmp_path, get_protocol("lmms_eval"))
    assert s["unresolved"] == 1 and s["judge"] is None and s["benches"]["mathvista"]["accuracy"] == 0.5
