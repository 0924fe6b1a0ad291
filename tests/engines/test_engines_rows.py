"""The engines' row encoding and parquet writers (no engine needed): what a reward sees from a
verl ``extra_info`` / an EasyR1 structured ground truth is what it sees from the example."""

import json

import pyarrow.parquet as pq
import pytest
from engine_data import examples, reward_rows, rollouts

from perceptrl.cli import main
from perceptrl.data.formats.verl import write
from perceptrl.data.io import write_examples
from perceptrl.engines.rows import MARKER, decode_ground_truth, encode_ground_truth, reward_fields, row_from_fields
from perceptrl.errors import PerceptrlError
from perceptrl.rewards.verl_adapter import compute_score_batched, easyr1_compute_score


def _expected(ex):
    row = ex.to_row()
    row.pop("images")
    return row


def test_verl_extra_info_and_easyr1_ground_truth_decode_to_the_example_row():
    for i, ex in enumerate(examples()):
        assert row_from_fields(ex.answer, reward_fields(ex, i)) | {"index": i} == _expected(ex) | {"index": i}
        decoded = decode_ground_truth(encode_ground_truth(ex, i))
        assert decoded[MARKER] == 1 and decoded["answer"] == ex.answer
        assert row_from_fields(decoded["answer"], decoded) | {"index": i} == _expected(ex) | {"index": i}


def test_plain_answers_are_not_structured():
    for gt in ("3", "{not json", '{"answer": "3"}', None, ["a"], {"answer": "3"}):
        assert decode_ground_truth(gt) is None


def test_written_parquets_have_the_engine_columns(tmp_path):
    exs = examples()
    verl = pq.read_table(write(exs, tmp_path / "v.parquet", engine="verl")).to_pylist()
    assert set(verl[0]) == {"data_source", "prompt", "images", "ability", "reward_model", "extra_info"}
    assert verl[0]["prompt"] == [{"role": "user", "content": "<image>What is the number on the red circle?\n"
                                  + verl[0]["prompt"][0]["content"].split("\n", 1)[1]}]
    assert "<answer>" in verl[0]["prompt"][0]["content"]  # the Perception-R1 instruction by default
    assert verl[3]["extra_info"]["precision"] == 1.0 and verl[3]["extra_info"]["tolerance"] == 0.5
    assert verl[1]["extra_info"]["boxes"][0]["label"] == "circle"
    assert verl[2]["extra_info"]["choices"] == ["3", "4"]
    assert verl[0]["reward_model"] == {"style": "rule", "ground_truth": "1"}
    assert verl[0]["data_source"] == "synth" and verl[3]["data_source"] == "perceptrl"
    assert verl[0]["images"][0]["bytes"][:4] == b"\x89PNG"
    easy = pq.read_table(write(exs, tmp_path / "e.parquet", engine="easyr1")).to_pylist()
    assert set(easy[0]) == {"problem", "images", "answer"}
    assert easy[0]["problem"] == "<image>What is the number on the red circle?"  # EasyR1 adds format_prompt
    assert json.loads(easy[2]["answer"])["choices"] == ["3", "4"]
    with pytest.raises(PerceptrlError, match="parquet"):
        write(exs, tmp_path / "v.jsonl", engine="verl")


def test_adapter_scores_engine_rows_as_the_example_rows(tmp_path):
    """Both entry points on the written cells give the scores of the rows themselves."""
    exs = examples()
    comps = rollouts(exs)
    judge = {"backend": "rules", "cache_path": None}
    verl = pq.read_table(write(exs, tmp_path / "v.parquet", engine="verl")).to_pylist()
    easy = pq.read_table(write(exs, tmp_path / "e.parquet", engine="easyr1")).to_pylist()
    rep = [r for r in verl for _ in range(3)]
    got = compute_score_batched([r["data_source"] for r in rep], comps, [r["reward_model"]["ground_truth"] for r in rep],
                                [r["extra_info"] for r in rep], judge=judge, runner_options={"workers": 0})
    direct = compute_score_batched(["x"] * len(comps), comps, [r["answer"] for r in reward_rows(exs)],
                                   reward_rows(exs), judge=judge, runner_options={"workers": 0})
    assert got == direct
    assert {round(g["perception"], 3) for g in got} == {0.0, 0.5, 1.0}  # the annotations arrived
    e = easyr1_compute_score([{"response": c, "response_length": 9, "ground_truth": r["answer"]}
                              for c, r in zip(comps, [r for r in easy for _ in range(3)])], judge=judge,
                             runner_options={"workers": 0})
    assert [x["overall"] for x in e] == pytest.approx([g["score"] for g in got])


def test_cli_convert_to_verl_and_easyr1(tmp_path, capsys):
    src = write_examples(examples(), tmp_path / "src.parquet", format="perception_r1")
    assert main(["data", "convert", str(src), str(tmp_path / "v.parquet"), "--to", "verl"]) == 0
    assert main(["data", "convert", str(src), str(tmp_path / "e.parquet"), "--to", "easyr1",
                 "--template", "perception_r1"]) == 0
    assert "wrote 4 examples" in capsys.readouterr().out
    v = pq.read_table(tmp_path / "v.parquet").to_pylist()
    assert v[0]["extra_info"]["visual_annotations"] == ["number on the red circle = 1", "the circle is red"]
    assert "<answer>" in pq.read_table(tmp_path / "e.parquet").to_pylist()[0]["problem"]
