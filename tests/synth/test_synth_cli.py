"""``perceptrl synth`` writes the canonical JSONL + images and Perception-R1 parquet."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from perceptrl.cli import main


def test_cli_writes_both_formats(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["synth", "--n", "6", "--out", str(out), "--seed", "5", "--difficulty", "2"]) == 0
    rows = [json.loads(line) for line in (out / "synth.jsonl").read_text().splitlines()]
    assert len(rows) == 6
    for row in rows:
        assert (out / row["images"][0]).is_file()
        assert row["visual_annotations"] and row["answer"]
    table = pq.read_table(out / "synth.parquet").to_pylist()
    assert [r["problem"] for r in table] == [r["problem"] for r in rows]
    assert table[0]["visual_key_info"].startswith("<info1>")
    assert table[0]["images"][0]["bytes"][:4] == b"\x89PNG"


def test_cli_same_seed_same_files(tmp_path):
    for name in ("a", "b"):
        assert main(["synth", "--n", "4", "--out", str(tmp_path / name)]) == 0
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert files_a and all(
        (tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes() for p in files_a)


def test_cli_bad_kind_is_a_clean_error(tmp_path, capsys):
    assert main(["synth", "--n", "2", "--out", str(tmp_path), "--kinds", "maze"]) == 2
    assert "unknown synthetic kind" in capsys.readouterr().err


def test_cli_choice_share_and_shortcut_round_trip(tmp_path):
    from perceptrl.data.io import read_examples

    out = tmp_path / "mc"
    assert main(["synth", "--n", "8", "--out", str(out), "--kinds", "chart", "--choice-share", "1",
                 "--shortcut", "0.5"]) == 0
    back = read_examples(out / "synth.jsonl")
    assert all(len(e.choices) == 4 and e.answer in "ABCD" for e in back)
    assert {e.metadata["shortcut"] for e in back} == {True, False}
    table = pq.read_table(out / "synth.parquet").to_pylist()
    assert [r["answer"] for r in table] == [e.answer for e in back]
    assert [list(r["choices"]) for r in table] == [e.choices for e in back]


@pytest.mark.parametrize(("args", "needle"), [
    (["--choice-share", "1.5"], "--choice-share must be a share between 0 and 1"),
    (["--shortcut", "-1"], "--shortcut must be a share between 0 and 1"),
    (["--choice-share", "nan"], "--choice-share must be a share"),
    (["--shortcut", "0.5"], "--shortcut 0.5 is larger than --choice-share 0.0"),
])
def test_cli_bad_shares_are_clean_errors(tmp_path, capsys, args, needle):
    assert main(["synth", "--n", "2", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err
