"""UTF-8 decoding of user files and cells: every failure names the file, line (or offset) and fix."""

from __future__ import annotations

import codecs

import pyarrow as pa
import pytest

from perceptrl.data.encoding import arrow_rows, decode_cell, read_lines, read_text, text_lines
from perceptrl.errors import PerceptrlError


def latin1_string_array(values: list[bytes]) -> pa.Array:
    """A ``string`` array holding arbitrary bytes, as a non-Arrow parquet writer can store them
    (``pa.array`` would refuse them)."""
    offsets, pos = [0], 0
    for v in values:
        pos += len(v)
        offsets.append(pos)
    return pa.Array.from_buffers(
        pa.string(), len(values), [None, pa.py_buffer(pa.array(offsets, pa.int32()).buffers()[1]), pa.py_buffer(b"".join(values))]
    )


def test_text_lines_reports_each_bad_line_and_decodes_the_rest(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_bytes(codecs.BOM_UTF8 + b'{"a": 1}\n{"b": "caf\xe9"}\n{"c": "\xc3\xa9"}\n\xff\n')
    got = list(text_lines(p))
    assert got[0] == (1, '{"a": 1}\n', None)  # the UTF-8 byte-order mark is dropped
    assert got[1][1] is None and got[1][2].startswith("line 2: not UTF-8 text (byte 0xe9 at column 11")
    assert got[2] == (3, '{"c": "é"}\n', None)
    assert got[3][2].startswith("line 4: not UTF-8 text (byte 0xff at column 1")


def test_read_lines_and_read_text_raise_with_path_line_and_fix(tmp_path):
    p = tmp_path / "x.json"
    p.write_bytes(b'[{"a": 1},\n {"b": "ok"},\n {"c": "na\xefve"}]\n')
    with pytest.raises(PerceptrlError) as e:
        read_text(p)
    assert e.value.where == f"{p}:3" and "byte 0xef at column 11" in e.value.what and "iconv" in e.value.fix
    with pytest.raises(PerceptrlError) as e:
        list(read_lines(p))
    assert e.value.where == f"{p}:3"


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"PAR1\x15\x04", "a parquet file"),
        (codecs.BOM_UTF16_LE + '{"a": 1}'.encode("utf-16-le"), "UTF-16"),
        ('{"a": 1}\n'.encode("utf-16-le"), "NUL bytes"),  # UTF-16 without a byte-order mark
        (b"\x1f\x8b\x08\x00", "gzip"),
    ],
)
def test_files_that_are_not_text_are_named_once(tmp_path, head, what):
    p = tmp_path / "x.jsonl"
    p.write_bytes(head + b"\n" + b"\xff" * 20)
    with pytest.raises(PerceptrlError, match=what) as e:
        list(text_lines(p))
    assert e.value.where == str(p) and e.value.fix
    with pytest.raises(PerceptrlError, match=what):
        read_text(p)


def test_decode_cell():
    assert decode_cell(b"caf\xc3\xa9") == ("café", None)
    text, problem = decode_cell(b"caf\xe9!")
    assert text == "caf\ufffd!" and problem.startswith("byte 0xe9 at offset 3")


def test_arrow_rows_keeps_only_the_invalid_string_cells_as_bytes():
    table = pa.table({
        "problem": latin1_string_array([b"ok", b"caf\xe9"]),
        "answer": ["1", "2"],
        "choices": pa.array([["a"], ["b"]]),
    })
    with pytest.raises(UnicodeDecodeError):
        table.to_pylist()  # what the parquet reader did: one error for the whole file
    assert arrow_rows(table) == [
        {"problem": "ok", "answer": "1", "choices": ["a"]},
        {"problem": b"caf\xe9", "answer": "2", "choices": ["b"]},
    ]
    structs = pa.StructArray.from_arrays([latin1_string_array([b"\xe9", b"ok"]), pa.array([b"ok", b"\xe9"], pa.binary())], ["text", "data"])
    nested = pa.table({"prompt": pa.ListArray.from_arrays(pa.array([0, 1, 2], pa.int32()), structs)})
    assert arrow_rows(nested) == [{"prompt": [{"text": b"\xe9", "data": b"ok"}]}, {"prompt": [{"text": "ok", "data": b"\xe9"}]}]


def test_a_text_file_that_starts_like_a_magic_number_is_text(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("PAR1,PK\nok,1\n", encoding="utf-8")
    assert [text for _, text in read_lines(p)] == ["PAR1,PK\n", "ok,1\n"]


def test_text_value_never_gives_the_repr_of_bytes():
    from perceptrl.data.encoding import text_value

    assert text_value(b"caf\xc3\xa9", "q") == "café" and text_value(None, "q") == "" and text_value(3, "q") == "3"
    with pytest.raises(PerceptrlError, match="row 2, column 'question' holds bytes that are not UTF-8"):
        text_value(b"caf\xe9", "row 2, column 'question'")
