"""perceptrl eval import --from lmms-eval: their --log_samples files (real schema) into our store,
then eval compare between the imported run and one of ours."""

import json
from pathlib import Path

import pytest

from perceptrl.cli import main
from perceptrl.errors import PerceptrlError
from perceptrl.eval.compare import compare_runs
from perceptrl.eval.importers import import_lmms_eval
from perceptrl.eval.protocols import get_protocol
from perceptrl.eval.runner import score_run
from perceptrl.eval.store import load_run, load_scores

SAMPLES = Path(__file__).parent / "data" / "lmms_eval" / "Qwen__Qwen2.5-VL-7B-Instruct"
VISTA = SAMPLES / "20261201_120000_samples_mathvista_testmini_cot.jsonl"
VERSE = SAMPLES / "20261201_120000_samples_mathverse_testmini.jsonl"


def test_fixture_has_lmms_evals_sample_fields():
    rec = json.loads(VISTA.read_text().splitlines()[0])
    # EvaluationTracker.save_results_samples: doc and arguments dropped, input added, resps dropped when equal
    assert {"doc_id", "target", "filtered_resps", "doc_hash", "input", "llm_as_judge_eval", "submission"} <= set(rec)
    assert "doc" not in rec and "arguments" not in rec
    assert {"question_id", "extraction", "prediction", "true_false", "answer_type"} <= set(rec["llm_as_judge_eval"])


def test_import_writes_a_run_with_their_verdicts(tmp_path):
    out = tmp_path / "lmms"
    summary = import_lmms_eval([VISTA, VERSE], out)
    config, items, responses = load_run(out)
    assert config["harness"] == "lmms-eval" and config["model"] == "Qwen__Qwen2.5-VL-7B-Instruct"
    assert [(i["bench"], i["id"]) for i in items][:2] == [("mathvista", "1"), ("mathvista", "2")]
    assert {i["id"] for i in items if i["bench"] == "mathverse"} == {"7", "8", "9"}  # sample_index
    assert responses[3]["response"] == "2.5"
    assert summary["benches"]["mathvista"]["accuracy"] == pytest.approx(4 / 5)  # 2.5 -> 2 counted right, as they did
    assert summary["benches"]["mathverse"]["accuracy"] == pytest.approx(2 / 3)
    assert "by_problem_version" in summary["benches"]["mathverse"]
    # their stored responses rescore under our protocols (fields carried over from the metric records)
    ours = score_run(out, get_protocol("greedy_rules"))
    assert ours["benches"]["mathvista"]["n"] == 5


def test_import_refuses_other_files(tmp_path):
    bad = tmp_path / "results.jsonl"
    bad.write_text("{}\n")
    with pytest.raises(PerceptrlError, match="samples file"):
        import_lmms_eval([bad], tmp_path / "x")


def _our_run(path: Path) -> Path:
    """A run of ours on the same MathVista items (ids are pids), scored greedy_rules."""
    path.mkdir()
    dec = get_protocol("greedy_rules").decoding.as_dict()
    (path / "run.json").write_text(json.dumps({"model": "ours", "protocol": "greedy_rules", "decoding": dec,
                                               "harness": "perceptrl 0.1.0", "template": "perception_r1"}))
    items = [json.loads(x)["llm_as_judge_eval"] for x in VISTA.read_text().splitlines()]
    recs = [{"bench": "mathvista", "id": it["question_id"], "problem": it["query"], "answer": it["answer"], "choices": None,
             "metadata": {"bench": "mathvista", "options": it["choices"], "answer_type": it["answer_type"],
                          "precision": it["precision"]}} for it in items]
    answers = {"1": "1.2", "2": "1000", "3": "B", "4": "3", "5": "D"}
    (path / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (path / "responses.jsonl").write_text("".join(json.dumps(
        {"bench": "mathvista", "id": r["id"], "sample": 0, "prompt": "", "response": f"<answer>{answers[r['id']]}</answer>"})
        + "\n" for r in recs))
    score_run(path, get_protocol("greedy_rules"))
    return path


def test_compare_imported_run_with_ours(tmp_path, capsys):
    theirs = tmp_path / "lmms"
    import_lmms_eval([VISTA], theirs)
    ours = _our_run(tmp_path / "ours")
    with pytest.raises(PerceptrlError, match="harness"):
        compare_runs(theirs, ours)  # a different harness and protocol: refused without force
    r = compare_runs(theirs, ours, force=True)
    c = r["correctness"]["by_bench"]["mathvista"]
    assert c["n"] == 5 and (c["acc_a"], c["acc_b"]) == (0.8, 0.8)
    assert r["correctness"]["a_only_items"] == ["mathvista/4"] and r["correctness"]["b_only_items"] == ["mathvista/5"]
    assert any(d.startswith("protocol:") for d in r["mismatches"])
    # the CLI: refused (exit 2) without --force, compared with it
    assert main(["eval", "compare", str(theirs), str(ours)]) == 2
    assert "not comparable" in capsys.readouterr().err
    assert main(["eval", "compare", str(theirs), str(ours), "--force"]) == 0
    assert "WARNING: NOT COMPARABLE" in capsys.readouterr().out


def test_cli_import(tmp_path, capsys):
    out = tmp_path / "imp"
    assert main(["eval", "import", "--from", "lmms-eval", str(VISTA), str(VERSE), "--out", str(out), "--model", "qwen7b"]) == 0
    assert "mathvista" in capsys.readouterr().out
    assert load_scores(out)[0]["model"] == "qwen7b"
    assert main(["eval", "report", str(out)]) == 0  # their verdicts tabled like ours
    assert "| mathverse | 3 | 66.7 |" in (out / "report.md").read_text()
