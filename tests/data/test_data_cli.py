"""``perceptrl data validate | convert | inspect`` through the real entry point."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from data_fixtures import GOOD_IDS, MAX_PIXELS, MIN_PIXELS, SEEDED_ERRORS, png_bytes
from PIL import Image

from perceptrl.cli import main
from perceptrl.data.io import read_examples, write_examples
from perceptrl.data.schema import Example

BOUNDS = ["--min-pixels", str(MIN_PIXELS), "--max-pixels", str(MAX_PIXELS)]


def _tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def test_validate_lists_every_bad_row_and_exits_non_zero(seeded_jsonl, capsys):
    before = _tree_hashes(seeded_jsonl.parent)
    rc = main(["data", "validate", str(seeded_jsonl), *BOUNDS, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 1
    errors: dict[str, set[str]] = {}
    for i in report["issues"]:
        if i["severity"] == "error":
            errors.setdefault(i["id"], set()).add(i["code"])
    assert errors == SEEDED_ERRORS
    assert _tree_hashes(seeded_jsonl.parent) == before  # validation never writes

    rc = main(["data", "validate", str(seeded_jsonl), *BOUNDS])
    out = capsys.readouterr().out
    assert rc == 1
    for bad_id in SEEDED_ERRORS:
        assert bad_id in out
    assert "23 rows, 16 bad" in out


def test_validate_good_file_exits_zero(tmp_path, capsys):
    ex = Example("ok", [png_bytes()], "<image>What is x?", "1")
    path = write_examples([ex], tmp_path / "ok.parquet")
    assert main(["data", "validate", str(path)]) == 0
    assert "1 rows, 0 bad" in capsys.readouterr().out


@pytest.mark.slow
def test_validate_subprocess_prints_no_traceback(seeded_jsonl):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "perceptrl", "data", "validate", str(seeded_jsonl), *BOUNDS],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for bad_id in SEEDED_ERRORS:
        assert bad_id in proc.stdout


def test_validate_fix_writes_a_repaired_copy(seeded_jsonl, tmp_path, capsys):
    before = _tree_hashes(seeded_jsonl.parent)
    out = tmp_path / "fixed" / "data.jsonl"
    rc = main(["data", "validate", str(seeded_jsonl), *BOUNDS, "--fix", "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 1  # the input had rows --fix cannot repair
    assert "fixed 6 rows; wrote 9 rows" in printed and "left out 14 rows" in printed
    assert _tree_hashes(seeded_jsonl.parent) == before  # input untouched
    src = {e.id: e for e in read_examples(seeded_jsonl)}
    dst = {e.id: e for e in read_examples(out)}
    assert set(dst) == set(GOOD_IDS) | {"too-small", "too-big"}
    for good in ("good-png", "good-jpeg", "long-prompt"):  # good rows: bytes copied verbatim
        assert (Path(dst[good].root) / dst[good].images[0]).read_bytes() == (Path(src[good].root) / src[good].images[0]).read_bytes()
    small = Image.open(Path(dst["too-small"].root) / dst["too-small"].images[0])
    assert small.width * small.height >= MIN_PIXELS
    assert main(["data", "validate", str(out), *BOUNDS]) == 0  # the copy is clean, warnings included
    assert "0 bad (0 errors), 0 warnings" in capsys.readouterr().out

    clean = tmp_path / "clean.parquet"
    assert main(["data", "validate", str(out), *BOUNDS, "--fix", "--out", str(clean), "--to", "perception_r1"]) == 0
    assert [e.id for e in read_examples(clean)] == [e.id for e in read_examples(out)]


def test_convert_refuses_to_copy_files_from_outside_the_dataset(seeded_jsonl, tmp_path, capsys):
    lines = [ln for ln in seeded_jsonl.read_text().splitlines() if json.loads(ln)["id"] in ("good-png", "dotdot")]
    only = seeded_jsonl.parent / "escape.jsonl"
    only.write_text("\n".join(lines) + "\n")
    assert main(["data", "convert", str(only), str(tmp_path / "x.parquet"), "--to", "perception_r1"]) == 2
    err = capsys.readouterr().err
    assert "example 'dotdot'" in err and "outside the dataset folder" in err


def test_validate_with_model_checks_prompt_length(seeded_jsonl, tiny_qwen25vl_dir, capsys):
    rc = main(["data", "validate", str(seeded_jsonl), *BOUNDS, "--model", str(tiny_qwen25vl_dir), "--max-prompt-length", "300", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 1
    too_long = {i["id"] for i in report["issues"] if i["code"] == "prompt_too_long"}
    assert too_long == {"long-prompt"}


def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    assert main(["data", "validate", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["data", "validate", str(tmp_path), "--max-prompt-length", "10"]) == 2
    assert main(["data", "validate", str(tmp_path), "--fix"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 3


def test_convert_and_inspect(tmp_path, capsys):
    ex = [
        Example("a", [png_bytes()], "<image>Q1", "1", visual_annotations=["AB = 1", "x < y"]),
        Example("b", [png_bytes((70, 70))], "<image>Q2", "2"),
    ]
    src = write_examples(ex, tmp_path / "src.parquet")
    assert main(["data", "convert", str(src), str(tmp_path / "t.parquet"), "--to", "trl", "--template", "perception_r1"]) == 0
    assert main(["data", "convert", str(tmp_path / "t.parquet"), str(tmp_path / "j" / "d.jsonl"), "--to", "jsonl"]) == 0
    assert main(["data", "convert", str(tmp_path / "j" / "d.jsonl"), str(tmp_path / "back.parquet"), "--to", "perception_r1"]) == 0
    rows = pq.read_table(tmp_path / "back.parquet").to_pylist()
    original = pq.read_table(src).to_pylist()
    for a, b in zip(original, rows, strict=True):
        assert a["visual_key_info"] == b["visual_key_info"] and a["images"][0]["bytes"] == b["images"][0]["bytes"]
    # the trl copy carries the Perception-R1 instruction in its prompt
    trl_row = pq.read_table(tmp_path / "t.parquet").to_pylist()[0]
    assert "\\boxed{}" in trl_row["prompt"][0]["content"][-1]["text"]
    capsys.readouterr()

    assert main(["data", "inspect", str(src), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["format"] == "perception_r1" and stats["rows"] == 2
    assert stats["fields_present"]["visual_annotations"] == 1
    assert stats["annotations_per_row"] == {"min": 0, "mean": 1.0, "median": 1.0, "max": 2}
    assert main(["data", "inspect", str(src)]) == 0
    assert "AB = 1" in capsys.readouterr().out


@pytest.mark.parametrize("out_rel", ["elsewhere/fixed.jsonl", "ds/fixed.jsonl"])
def test_validate_fix_of_a_trl_jsonl_writes_a_file_that_validates(tmp_path, capsys, out_rel):
    """--fix on TRL JSONL used to write absolute image paths, which then failed path_escape."""
    ds = tmp_path / "ds"
    (ds / "images").mkdir(parents=True)
    (ds / "images" / "a_0.png").write_bytes(png_bytes())
    (ds / "images" / "b_0.png").write_bytes(png_bytes(mode="RGBA"))  # --fix stores it as RGB
    examples = [Example("a", ["images/a_0.png"], "<image>x?", "1", root=str(ds)),
                Example("b", ["images/b_0.png"], "<image>y?", "2", root=str(ds))]
    src = write_examples(examples, ds / "train.jsonl", format="trl")
    assert main(["data", "validate", str(src)]) == 0
    capsys.readouterr()
    before = _tree_hashes(ds)

    out = tmp_path / out_rel
    assert main(["data", "validate", str(src), "--fix", "--out", str(out)]) == 0
    assert "fixed 1 rows; wrote 2 rows" in capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    for row in rows:
        (path,) = row["images"]
        assert not os.path.isabs(path) and (out.parent / path).is_file()
    assert main(["data", "validate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["issues"] == []  # no path_escape, no image_mode
    for name, digest in before.items():  # beside the input, the input's own images are never overwritten
        assert _tree_hashes(ds)[name] == digest
    assert Image.open(out.parent / rows[1]["images"][0]).mode == "RGB"
