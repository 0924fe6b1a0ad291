"""Benchmark sources: text that is not UTF-8 is named (row or line), never a traceback."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.eval.sources import load_rows


def test_a_parquet_string_column_that_is_not_utf8_names_its_row(tmp_path):
    values = [b"ok", b"caf\xe9"]
    offsets = pa.array([0, 2, 6], pa.int32())
    bad = pa.Array.from_buffers(pa.string(), 2, [None, offsets.buffers()[1], pa.py_buffer(b"".join(values))])
    pq.write_table(pa.table({"question": bad, "answer": ["1", "2"]}), tmp_path / "testmini.parquet")
    rows = load_rows(str(tmp_path / "testmini.parquet"))
    with pytest.raises(PerceptrlError, match="row 1 of .* not UTF-8") as e:
        list(rows)
    assert e.value.where.endswith("row 1")


def test_a_latin1_jsonl_names_its_row(tmp_path):
    path = tmp_path / "testmini.jsonl"
    path.write_bytes(b'{"question": "ok", "answer": "1"}\n{"question": "caf\xe9", "answer": "2"}\n')
    with pytest.raises(PerceptrlError, match="not UTF-8"):
        list(load_rows(str(path)))
