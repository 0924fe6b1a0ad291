"""perceptrl eval import --from vlmevalkit: VLMEvalKit's judged per-sample files (real column names,
written as its PRED_FORMAT=tsv dump writes them) into our store, then eval compare with our runs."""

import importlib.util
import json
from pathlib import Path

import pytest

from perceptrl.cli import main
from perceptrl.errors import PerceptrlError
from perceptrl.eval.compare import compare_runs
from perceptrl.eval.import_vlmevalkit import import_vlmevalkit, parse_name
from perceptrl.eval.protocols import get_protocol
from perceptrl.eval.runner import score_run
from perceptrl.eval.store import load_run

DIR = Path(__file__).parent / "data" / "vlmevalkit" / "Qwen2.5-VL-7B-Instruct"
VISTA = DIR / "Qwen2.5-VL-7B-Instruct_MathVista_MINI_gpt-4o-mini.tsv"
VERSE = DIR / "Qwen2.5-VL-7B-Instruct_MathVerse_MINI_gpt-4o-mini_score.tsv"
WEMATH = DIR / "Qwen2.5-VL-7B-Instruct_WeMath_gpt4o-mini.tsv"
LOGIC = DIR / "Qwen2.5-VL-7B-Instruct_LogicVista_gpt4o-mini.tsv"


def test_file_names():
    assert parse_name(VERSE) == {"model": "Qwen2.5-VL-7B-Instruct", "dataset": "MathVerse_MINI", "bench": "mathverse",
                                 "judge": "gpt-4o-mini"}
    assert parse_name(Path("M_MathVerse_MINI_Vision_Only_qwen-72b_score.xlsx"))["dataset"] == "MathVerse_MINI_Vision_Only"
    with pytest.raises(PerceptrlError, match="not a VLMEvalKit result file"):
        parse_name(Path("M_MMBench_DEV_EN.xlsx"))


def test_import_writes_a_run_with_their_verdicts(tmp_path):
    out = tmp_path / "vlmek"
    summary = import_vlmevalkit([VISTA, VERSE, WEMATH, LOGIC], out)
    config, items, responses = load_run(out)
    assert config["harness"] == "VLMEvalKit" and config["model"] == "Qwen2.5-VL-7B-Instruct"
    assert [i["id"] for i in items if i["bench"] == "mathvista"] == ["1", "2", "3", "4"]  # pid
    assert {i["id"] for i in items if i["bench"] == "mathverse"} == {"7", "8", "9"}  # sample_index from metadata
    assert [i["id"] for i in items if i["bench"] == "wemath"] == ["1|2steps_1", "1|2steps_2"]  # as our loader names them
    by_id = {(i["bench"], i["id"]): i for i in items}
    assert by_id[("mathverse", "8")]["metadata"]["problem_version"] == "Vision Only"
    assert by_id[("mathvista", "1")]["metadata"]["options"] == ["3/11", "8/11", "6/11", "3/5"]
    # MathVista: the verdict is VLMEvalKit's post_check on `res` (2.5 for gold 2 is wrong, no truncation)
    assert summary["benches"]["mathvista"]["accuracy"] == pytest.approx(3 / 4)
    assert summary["benches"]["mathverse"]["accuracy"] == pytest.approx(2 / 3)
    assert summary["benches"]["wemath"]["accuracy"] == pytest.approx(1 / 2)
    assert summary["benches"]["logicvista"]["accuracy"] == pytest.approx(1 / 2)
    assert summary["judge"] == {"model": "gpt-4o-mini, gpt4o-mini"} and summary["scoring_harness"] == "VLMEvalKit"
    rows = [json.loads(x) for x in (out / "scores" / "vlmevalkit.jsonl").read_text().splitlines()]
    assert rows[1]["extracted_by"] == "vlmevalkit rule" and rows[0]["extracted_by"] == "vlmevalkit llm"
    assert responses[2]["response"] == "The smallest bar is 2.5."
    # their stored responses rescore under our protocols (and under ours matching VLMEvalKit's rules)
    assert score_run(out, get_protocol("greedy_rules"))["benches"]["mathvista"]["n"] == 4
    rules = score_run(out, get_protocol("vlmevalkit"), write=False)
    assert rules["benches"]["mathvista"]["n"] == 4 and rules["unresolved"] >= 1


def test_import_errors_name_the_file_and_row(tmp_path):
    bad = tmp_path / "M_MathVista_MINI_gpt-4o-mini.tsv"
    bad.write_text('"index"\t"prediction"\t"answer"\n"1"\t"3"\t"3"\n')
    with pytest.raises(PerceptrlError, match="res, choices") as e:
        import_vlmevalkit([bad], tmp_path / "x")
    assert "row 2" in str(e.value)
    if importlib.util.find_spec("openpyxl") is None:
        xlsx = tmp_path / "M_MathVista_MINI_gpt-4o-mini.xlsx"
        xlsx.write_bytes(b"PK")
        with pytest.raises(PerceptrlError, match="PRED_FORMAT=tsv"):
            import_vlmevalkit([xlsx], tmp_path / "y")


def _our_run(path: Path, protocol: str = "vlmevalkit") -> Path:
    """A run of ours on the same MathVista items (ids are pids), scored under ``protocol``."""
    path.mkdir()
    proto = get_protocol(protocol)
    (path / "run.json").write_text(json.dumps({
        "model": "ours", "protocol": protocol, "decoding": proto.decoding.as_dict(), "harness": "perceptrl 0.1.0",
        "template": proto.template, "pixels": {"min_pixels": proto.min_pixels, "max_pixels": proto.max_pixels}}))
    _, items, _ = load_run(_imported(path.parent / "src"))
    items = [it for it in items if it["bench"] == "mathvista"]
    answers = {"1": "B", "2": "3", "3": "2", "4": "999"}
    (path / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    (path / "responses.jsonl").write_text("".join(json.dumps(
        {"bench": "mathvista", "id": r["id"], "sample": 0, "prompt": "", "response": answers[r["id"]]}) + "\n"
        for r in items))
    score_run(path, proto)
    return path


def _imported(path: Path) -> Path:
    if not (path / "run.json").exists():
        import_vlmevalkit([VISTA], path)
    return path


def test_compare_imported_run_with_ours(tmp_path, capsys):
    theirs = _imported(tmp_path / "src")
    ours = _our_run(tmp_path / "ours")
    with pytest.raises(PerceptrlError, match="harness"):
        compare_runs(theirs, ours)  # another harness, judge, template: refused without force
    r = compare_runs(theirs, ours, force=True)
    c = r["correctness"]["by_bench"]["mathvista"]
    assert c["n"] == 4 and (c["acc_a"], c["acc_b"]) == (0.75, 0.75)
    assert r["correctness"]["a_only_items"] == ["mathvista/4"] and r["correctness"]["b_only_items"] == ["mathvista/3"]
    fields = {d.split(":")[0] for d in r["mismatches"]}
    assert {"harness", "judge", "template"} <= fields
    assert main(["eval", "compare", str(theirs), str(ours)]) == 2
    assert "not comparable" in capsys.readouterr().err


def test_cli_import(tmp_path, capsys):
    out = tmp_path / "imp"
    assert main(["eval", "import", "--from", "vlmevalkit", str(VISTA), str(VERSE), "--out", str(out)]) == 0
    assert "mathverse" in capsys.readouterr().out
    assert main(["eval", "report", str(out)]) == 0
    assert "| mathverse | 3 | 66.7 |" in (out / "report.md").read_text()


@pytest.mark.skipif(importlib.util.find_spec("openpyxl") is None, reason="xlsx needs openpyxl (optional)")
def test_import_reads_vlmevalkits_default_xlsx(tmp_path):
    """VLMEvalKit's default format: the same rows as an xlsx workbook."""
    import csv

    import pandas as pd

    xlsx = tmp_path / VERSE.name.replace(".tsv", ".xlsx")
    pd.read_csv(VERSE, sep="\t", dtype=str, quoting=csv.QUOTE_ALL).to_excel(xlsx, index=False)
    summary = import_vlmevalkit([xlsx], tmp_path / "x")
    assert summary["benches"]["mathverse"]["accuracy"] == pytest.approx(2 / 3)
