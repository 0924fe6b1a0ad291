"""Bad text in, clear error out: non-UTF-8 files, binary text columns and files that are not text,
given to ``perceptrl data validate``, ``perceptrl score`` and ``perceptrl judge``.

Each case runs the real entry point (``main``, and once per command a subprocess, so that a
traceback would show in stderr) and checks the error names the file, the line or row, and the fix.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from perceptrl.cli import main
from perceptrl.data.io import read_examples

LATIN1 = "café".encode("latin-1")  # b"caf\xe9": the commonest non-UTF-8 export


def _png(path: Path) -> Path:
    Image.new("RGB", (64, 64), (200, 30, 30)).save(path)
    return path


def _bytes_array(values: list[bytes], type_=pa.string()) -> pa.Array:
    """An Arrow array of ``type_`` holding these exact bytes (a ``string`` one may then hold bytes
    that are not UTF-8, as files from non-Arrow writers do; ``pa.array`` would refuse them)."""
    offsets = pa.array([sum(len(v) for v in values[:i]) for i in range(len(values) + 1)], pa.int32())
    return pa.Array.from_buffers(type_, len(values), [None, offsets.buffers()[1], pa.py_buffer(b"".join(values))])


def _image_structs(n: int) -> pa.Array:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 90, 200)).save(buf, format="PNG")
    return pa.array([[{"bytes": buf.getvalue(), "path": f"{i}.png"}] for i in range(n)])


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def _subprocess(argv: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "perceptrl", *argv], capture_output=True, text=True, env=env, timeout=300)


# --- perceptrl data validate -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("train.jsonl", b'{"id": "a", "images": ["img.png"], "problem": "<image>x", "answer": "1"}\n'
                        b'{"id": "b", "images": ["img.png"], "problem": "<image>' + LATIN1 + b'", "answer": "1"}\n', 2),
        ("train.json", b'[{"id": "a", "images": ["img.png"], "problem": "<image>x", "answer": "1"},\n'
                       b' {"id": "b", "images": ["img.png"], "problem": "<image>' + LATIN1 + b'", "answer": "1"}]\n', 2),
        ("train.csv", b"id,image,problem,answer\na,img.png,x,1\nb,img.png,x,1\nc,img.png," + LATIN1 + b",1\n", 4),
    ],
)
def test_validate_names_file_and_line_of_non_utf8_text(tmp_path, capsys, name, content, line):
    _png(tmp_path / "img.png")
    path = tmp_path / name
    path.write_bytes(content)
    rc, out, err = _run(["data", "validate", str(path)], capsys)
    assert rc == 2, out + err
    assert "Traceback" not in err
    assert f"where: {path}:{line}" in err and f"line {line}" in err and "0xe9" in err
    assert "re-save the file as UTF-8" in err and "iconv" in err


def test_validate_reports_binary_text_columns_and_fix_stores_them_as_text(tmp_path, capsys):
    """A parquet ``binary`` problem/answer column used to be read as the text ``"b'...'"``."""
    src = tmp_path / "train.parquet"
    pq.write_table(pa.table({
        "images": _image_structs(2),
        "problem": pa.array(["<image>What is x?".encode(), "<image>Combien fait x ?".encode()], pa.binary()),
        "answer": pa.array([b"3", "é".encode()], pa.binary()),
    }), src)
    assert all("b'" not in ex.problem + ex.answer for ex in read_examples(src))

    rc, out, err = _run(["data", "validate", str(src), "--json"], capsys)
    assert rc == 1, err
    issues = [(i["row"], i["field"], i["code"]) for i in json.loads(out)["issues"] if i["severity"] == "error"]
    assert issues == [(0, "problem", "binary_text"), (0, "answer", "binary_text"), (1, "problem", "binary_text"), (1, "answer", "binary_text")]
    first = json.loads(out)["issues"][0]
    assert "'problem'" in first["reason"] and "cast the column to string" in first["fix"] and first["fixable"]

    fixed = tmp_path / "fixed.parquet"
    rc, out, err = _run(["data", "validate", str(src), "--fix", "--out", str(fixed)], capsys)
    assert rc == 0, out + err
    schema = pq.read_schema(fixed)
    assert schema.field("problem").type == pa.string() and schema.field("answer").type == pa.string()
    assert pq.read_table(fixed, columns=["problem", "answer"]).to_pylist() == [
        {"problem": "<image>What is x?", "answer": "3"}, {"problem": "<image>Combien fait x ?", "answer": "é"}]
    rc, out, _ = _run(["data", "validate", str(fixed)], capsys)
    assert rc == 0 and "0 bad" in out


def test_validate_reports_each_row_whose_string_cells_are_not_utf8(tmp_path, capsys):
    src = tmp_path / "train.parquet"
    pq.write_table(pa.table({
        "images": _image_structs(3),
        "problem": _bytes_array([b"<image>ok", b"<image>" + LATIN1, b"<image>fine"]),
        "answer": _bytes_array([b"1", b"2", b"\xff"]),
    }), src)
    rc, out, err = _run(["data", "validate", str(src), "--json"], capsys)
    assert rc == 1, err
    errors = [i for i in json.loads(out)["issues"] if i["severity"] == "error"]
    assert [(i["row"], i["field"], i["code"]) for i in errors] == [(1, "problem", "not_utf8"), (2, "answer", "not_utf8")]
    assert "byte 0xe9 at offset 10" in errors[0]["reason"] and not errors[0]["fixable"]

    # the other readers: convert refuses to write replacement characters, hf names row and column
    rc, _, err = _run(["data", "convert", str(src), str(tmp_path / "out.jsonl"), "--to", "jsonl"], capsys)
    assert rc == 2 and "example '1'" in err and "'problem'" in err and "Traceback" not in err
    rc, _, err = _run(["data", "validate", str(src), "--format", "hf"], capsys)
    assert rc == 2 and "row 1" in err and "'problem'" in err and "Traceback" not in err

    rc, out, _ = _run(["data", "validate", str(src), "--fix", "--out", str(tmp_path / "fixed.parquet")], capsys)
    assert rc == 1 and "wrote 1 rows" in out  # the two bad rows are left out, never written with U+FFFD


def test_validate_subprocess_prints_no_traceback_for_latin1(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b'{"id": "a", "images": ["img.png"], "problem": "<image>' + LATIN1 + b'", "answer": "1"}\n')
    proc = _subprocess(["data", "validate", str(path)])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{path}:1" in proc.stderr


# --- perceptrl score -----------------------------------------------------------------------------

SCORE = ["score", "--rewards", "perception_r1_no_judge", "--workers", "0"]


def test_score_lists_every_non_utf8_line(tmp_path, capsys):
    inp = tmp_path / "responses.jsonl"
    inp.write_bytes(b'{"id": "a", "completion": "<answer>1</answer>", "answer": "1"}\n'
                    b'{"id": "b", "completion": "' + LATIN1 + b'", "answer": "1"}\n'
                    b'{"id": "c", "completion": "x", "answer": "\xff"}\n'
                    b'{"id": "d", "completion": "\\ud800", "answer": "1"}\n')
    out = tmp_path / "scores.jsonl"
    rc, _, err = _run([*SCORE, "--input", str(inp), "--output", str(out)], capsys)
    assert rc == 2 and "Traceback" not in err
    assert "3 bad line(s)" in err and str(inp) in err
    assert "line 2: not UTF-8 text (byte 0xe9" in err and "line 3: not UTF-8 text (byte 0xff" in err
    assert "line 4: not UTF-8 text (an unpaired surrogate" in err
    assert "iconv" in err and not out.exists()


@pytest.mark.parametrize("command", ["score", "judge"])
def test_a_parquet_file_given_as_jsonl_is_named(tmp_path, capsys, command):
    inp = tmp_path / "responses.parquet"
    pq.write_table(pa.table({"completion": pa.array([b"x"], pa.binary()), "annotations": [["AB = 1"]]}), inp)
    argv = [*SCORE] if command == "score" else ["judge", "--backend", "rules"]
    rc, _, err = _run([*argv, "--input", str(inp), "--output", str(tmp_path / "o.jsonl")], capsys)
    assert rc == 2 and "Traceback" not in err
    assert f"{inp} is not UTF-8 text: it is a parquet file" in err and "JSONL" in err


def test_score_subprocess_prints_no_traceback(tmp_path):
    inp = tmp_path / "responses.jsonl"
    inp.write_bytes(b'{"id": "b", "completion": "' + LATIN1 + b'", "answer": "1"}\n')
    proc = _subprocess([*SCORE, "--input", str(inp), "--output", str(tmp_path / "o.jsonl")])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "line 1: not UTF-8 text" in proc.stderr


# --- perceptrl judge -----------------------------------------------------------------------------


def test_judge_lists_every_non_utf8_line_before_any_request(tmp_path, capsys):
    inp = tmp_path / "pairs.jsonl"
    inp.write_bytes(b'{"id": "a", "annotations": ["AB = 10"], "response": "AB = 10"}\n'
                    b'{"id": "b", "annotations": ["AB = 10"], "response": "' + LATIN1 + b'"}\n'
                    b'{"id": "c", "annotations": ["\xe9"], "response": "x"}\n')
    rc, _, err = _run(["judge", "--backend", "rules", "--input", str(inp)], capsys)
    assert rc == 2 and "Traceback" not in err
    assert "2 bad row(s)" in err and "line 2: not UTF-8 text (byte 0xe9" in err and "line 3: not UTF-8 text" in err
    assert "iconv" in err and not (tmp_path / "pairs.verdicts.jsonl").exists()


def test_judge_subprocess_prints_no_traceback(tmp_path):
    inp = tmp_path / "pairs.jsonl"
    # what PowerShell's `>` writes: UTF-16 LE with a byte-order mark
    inp.write_bytes('{"id": "a", "annotations": ["AB = 10"], "response": "AB = 10"}\n'.encode("utf-16"))
    proc = _subprocess(["judge", "--backend", "rules", "--input", str(inp)])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "UTF-16" in proc.stderr and "iconv -f UTF-16" in proc.stderr

