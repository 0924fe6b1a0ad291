"""``perceptrl synth`` writes the canonical JSONL + images and Perception-R1 parquet."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

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
