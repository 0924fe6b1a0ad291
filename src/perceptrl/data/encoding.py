"""UTF-8 decoding of user files and table cells, with errors that name the file, line and fix.

Every text reader of user input (JSONL, JSON, CSV, parquet string columns, the ``score`` and
``judge`` inputs) decodes through here, so that a Latin-1 export, a UTF-16 file written by a
Windows shell, or a parquet file passed where JSONL is expected stops with the file, the line (or
row and column) and how to re-encode it — never a ``UnicodeDecodeError`` traceback.

A UTF-8 byte-order mark at the start of a file is accepted (and dropped): it is valid UTF-8 that
``json.loads`` refuses, and Windows editors write it.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from perceptrl.errors import PerceptrlError

#: Marks a per-line problem about the encoding (commands add :data:`REENCODE_FIX` to their fix).
NOT_UTF8 = "not UTF-8 text"

#: Fix shown for text that is not UTF-8 (``{path}`` is filled in).
REENCODE_FIX = (
    "re-save the file as UTF-8 (e.g. `iconv -f cp1252 -t utf-8 {path} > fixed`, with the encoding "
    "it was written in instead of cp1252), or write it with encoding='utf-8'"
)

# Leading bytes of files that are not text at all; every line would be "not UTF-8", so these are
# reported once for the whole file, with the fix for what the file is.
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"PAR1", "a parquet file", "pass a JSONL file, one JSON object per line (`pandas.read_parquet(IN).to_json(OUT, orient='records', lines=True, force_ascii=False)` writes one); a parquet dataset for `perceptrl data` needs a .parquet name"),
    (b"\x1f\x8b", "gzip-compressed", "decompress it first (`gunzip FILE`)"),
    (b"PK\x03\x04", "a zip archive", "unzip it first"),
    (b"ARROW1", "an Arrow IPC file", "pass a JSONL file, one JSON object per line; an Arrow dataset for `perceptrl data` needs a .arrow name"),
    (codecs.BOM_UTF32_LE, "UTF-32 text (byte-order mark FF FE 00 00)", "re-save it as UTF-8 (`iconv -f UTF-32 -t UTF-8 FILE > fixed`)"),
    (codecs.BOM_UTF16_LE, "UTF-16 text (byte-order mark FF FE; PowerShell's `>` writes it)", "re-save it as UTF-8 (`iconv -f UTF-16 -t UTF-8 FILE > fixed`, or `Out-File -Encoding utf8`)"),
    (codecs.BOM_UTF16_BE, "UTF-16 text (byte-order mark FE FF)", "re-save it as UTF-8 (`iconv -f UTF-16 -t UTF-8 FILE > fixed`)"),
)


_HEAD = 4096  # bytes looked at to tell a binary file from text


def binary_kind(head: bytes) -> tuple[str, str] | None:
    """``(what the file is, fix)`` when its first bytes show it is not UTF-8 text, else ``None``."""
    for magic, what, fix in _MAGIC:
        if head.startswith(magic):
            return what, fix
    return None


def describe(err: UnicodeDecodeError, data: bytes) -> str:
    """``"byte 0xe9 at column 12"`` for a decode error in one line of ``data``."""
    bad = data[err.start : min(err.end, err.start + 4)]
    col = len(data[: err.start].decode("utf-8", errors="replace")) + 1
    return f"byte{'s' if len(bad) > 1 else ''} {' '.join(f'0x{b:02x}' for b in bad)} at column {col}: {err.reason}"


def not_text_error(path: str | Path, what: str, fix: str) -> PerceptrlError:
    return PerceptrlError(f"{path} is not UTF-8 text: it is {what}", where=str(path), fix=fix)


def not_utf8_error(path: str | Path, line: int, detail: str) -> PerceptrlError:
    return PerceptrlError(
        f"{path} is not UTF-8 text: line {line}: {detail}",
        where=f"{path}:{line}",
        fix=REENCODE_FIX.format(path=path),
    )


def _decodes(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes, maybe cut inside a character) is UTF-8 so far."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _check_magic(path: Path, head: bytes) -> None:
    """``head`` is the file's first bytes (up to 4 KiB). A magic number only counts when they are
    not UTF-8 anyway (a CSV whose header starts with ``PAR1`` is text); NUL bytes on the first
    line mean UTF-16 without a byte-order mark, or a binary file."""
    kind = binary_kind(head)
    if kind is not None and _decodes(head):
        kind = None
    if kind is None and b"\x00" in head.split(b"\n", 1)[0]:
        kind = ("binary or UTF-16 text (NUL bytes on line 1)", "re-save it as UTF-8 text (`iconv -f UTF-16 -t UTF-8 FILE > fixed`)")
    if kind:
        raise not_text_error(path, *kind)


def _lines(path: Path) -> Iterator[tuple[int, str | None, str | None]]:
    with path.open("rb") as fh:
        _check_magic(path, fh.read(_HEAD))
        fh.seek(0)
        for n, raw in enumerate(fh, 1):
            if n == 1:
                if raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield n, raw.decode("utf-8"), None
            except UnicodeDecodeError as e:
                yield n, None, describe(e, raw)


def text_lines(path: str | Path) -> Iterator[tuple[int, str | None, str | None]]:
    """``(line number, text, problem)`` for every line of ``path``; ``text`` is ``None`` and
    ``problem`` says why (``"line 3: not UTF-8 text (byte 0xe9 at column 12 …)"``) for a line that
    does not decode. A file that is not text at all (parquet, gzip, UTF-16…) raises
    :class:`PerceptrlError` at once."""
    for n, text, detail in _lines(Path(path)):
        yield n, text, None if detail is None else f"line {n}: {NOT_UTF8} ({detail})"


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for every line; the first line that is not UTF-8 raises
    :class:`PerceptrlError` naming ``path:line``."""
    for n, text, detail in _lines(Path(path)):
        if text is None:
            raise not_utf8_error(path, n, detail)
        yield n, text


def read_text(path: str | Path) -> str:
    """The whole file as text; a decoding error names its line and column."""
    path = Path(path)
    data = path.read_bytes()
    _check_magic(path, data[:_HEAD])
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        line_end = data.find(b"\n", e.start)
        line = data[line_start : line_end if line_end >= 0 else len(data)]
        shifted = UnicodeDecodeError(e.encoding, line, e.start - line_start, e.end - line_start, e.reason)
        raise not_utf8_error(path, data.count(b"\n", 0, e.start) + 1, describe(shifted, line)) from None


def first_invalid_line(path: str | Path) -> PerceptrlError | None:
    """The named error for the first line of ``path`` that is not UTF-8 (or for a non-text file),
    ``None`` when it all decodes. For readers that hand the file to a library (``datasets``' CSV and
    JSON builders) and only learn that *something* failed."""
    try:
        for _ in read_lines(path):
            pass
    except PerceptrlError as e:
        return e
    return None


def decode_cell(value: bytes | bytearray | memoryview) -> tuple[str, str | None]:
    """``(text, problem)`` for a bytes cell meant to hold text: the UTF-8 text and ``None``, or, for
    bytes that are not UTF-8, the text with U+FFFD replacement characters and what is wrong."""
    data = bytes(value)
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as e:
        bad = data[e.start : min(e.end, e.start + 4)]
        return (
            data.decode("utf-8", errors="replace"),
            f"byte{'s' if len(bad) > 1 else ''} {' '.join(f'0x{b:02x}' for b in bad)} at offset {e.start}: {e.reason}",
        )


def _text_as_binary(t):
    """``t`` with every ``string`` (``large_string``) inside it made ``binary`` (``large_binary``)."""
    import pyarrow as pa

    if pa.types.is_string(t):
        return pa.binary()
    if pa.types.is_large_string(t):
        return pa.large_binary()
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_text_as_binary(t.value_type)))
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_text_as_binary(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(_text_as_binary(t.field(i).type)) for i in range(t.num_fields)])
    return t


def _restore(value, t):
    """``value`` (read with ``t``'s strings as binary) with every cell that *is* UTF-8 decoded
    back to ``str``, guided by the original type ``t`` (so genuine binary fields, such as image
    bytes inside a struct, stay bytes). Only the cells that are not UTF-8 remain bytes."""
    import pyarrow as pa

    if value is None:
        return None
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return [_restore(v, t.value_type) for v in value]
    if pa.types.is_struct(t):
        return {k: _restore(v, t.field(k).type) for k, v in value.items()}
    return value


def arrow_rows(table) -> list[dict]:
    """``table.to_pylist()``, except that a string cell that is not valid UTF-8 (parquet writers
    other than Arrow do not check) comes back as *bytes*, instead of one ``UnicodeDecodeError``
    for the whole file: the row reader then marks that cell and validation names its row and
    column (see :func:`perceptrl.data.formats._rows.text_cell`). Every valid cell is a ``str``."""
    import pyarrow as pa

    schema = table.schema
    bad: dict[str, object] = {}
    for i, fld in enumerate(table.schema):
        binary = _text_as_binary(fld.type)
        if binary == fld.type:
            continue
        try:
            table.column(i).validate(full=True)
        except pa.ArrowInvalid:
            schema = schema.set(i, fld.with_type(binary))
            bad[fld.name] = fld.type
    if not bad:
        return table.to_pylist()
    rows = table.cast(schema).to_pylist()
    for row in rows:
        for name, t in bad.items():
            row[name] = _restore(row[name], t)
    return rows


def text_value(value: object, where: str) -> str:
    """A cell as text for readers that take any column as a string (benchmark adapters): ``""`` for
    ``None``, bytes decoded as UTF-8 (``str(b"x")`` would give the text ``"b'x'"``), bytes that are
    not UTF-8 a :class:`PerceptrlError` naming ``where``, anything else ``str(value)``."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        text, problem = decode_cell(value)
        if problem is not None:
            raise PerceptrlError(
                f"{where} holds bytes that are not UTF-8 text: {problem}",
                where=where,
                fix="decode that column with the encoding it was written in and store UTF-8 strings",
            )
        return text
    return str(value)
