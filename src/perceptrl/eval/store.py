"""Crash-safe result files.

* :class:`JsonlLog`: one JSON record per line, appended and ``fsync``-ed one record at a time, so a
  ``kill -9`` loses at most the record being written. On open, a torn last line (no trailing
  newline) is cut off — that record was never acknowledged and is produced again by the rerun.
  Records are keyed (for responses: bench, item id, sample index); reading keeps the first
  record of a key, so nothing is ever counted twice. A record that is not *final* (``final``
  predicate, e.g. stage 1's transport ``error`` rows) does not claim its key: the next record of
  that key is appended and replaces it, so a rerun retries it.
* the layout of an eval run folder (``run.json``, ``items.jsonl``, ``responses.jsonl``,
  ``scores/PROTOCOL.{json,jsonl}``) and its readers :func:`load_run` and :func:`load_scores`
  (here, not in the runner, so that reports and comparisons read runs without importing it);
* :func:`write_json_atomic`: summaries are written to a temporary file in the same folder,
  ``fsync``-ed, then ``os.replace``-d over the target: readers see the old or the new file,
  never half of one.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any

from perceptrl.errors import PerceptrlError

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
ITEMS_FILE = "items.jsonl"
RESPONSES_FILE = "responses.jsonl"


def _repair_tail(path: Path) -> None:
    """Truncate a torn last line (written when the process died mid-``write``)."""
    with open(path, "rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        # find the last newline; everything after it is a partial record
        pos = size - 1
        chunk = 4096
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            buf = f.read(pos - start)
            nl = buf.rfind(b"\n")
            if nl >= 0:
                cut = start + nl + 1
                break
            pos = start
        else:
            cut = 0
        log.warning("%s: dropping a partial last record (%d bytes) left by an interrupted run", path, size - cut)
        f.truncate(cut)
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    """Complete records of a JSONL file (a torn last line is skipped, not repaired)."""
    p = Path(path)
    if not p.exists():
        return
    with open(p, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.endswith("\n"):
                return  # torn tail
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    log.warning("%s:%d: unreadable record skipped", p, lineno)


class JsonlLog:
    """An append-only, fsync-per-record JSONL file of keyed records (used by eval runs and by
    stage-1 annotation progress)."""

    def __init__(self, path: str | os.PathLike, key: Callable[[dict], Hashable],
                 final: Callable[[dict], bool] | None = None):
        self.path = Path(path)
        self.key = key
        self.final = final
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _repair_tail(self.path)
        self._records: dict[Hashable, dict] = {}
        for rec in read_jsonl(self.path):
            k = self.key(rec)
            if self._claimed(k):
                continue
            self._records[k] = rec

    def _claimed(self, k: Hashable) -> bool:
        """Whether key ``k`` already has a record that a later one must not replace."""
        old = self._records.get(k)
        return old is not None and (self.final is None or self.final(old))

    def __contains__(self, k: Hashable) -> bool:
        return k in self._records

    def done(self, k: Hashable) -> bool:
        """Whether ``k`` has a final record (one a rerun skips)."""
        return self._claimed(k)

    def __len__(self) -> int:
        return len(self._records)

    def records(self) -> list[dict]:
        return list(self._records.values())

    def get(self, k: Hashable) -> dict | None:
        return self._records.get(k)

    def append(self, records: Iterable[dict]) -> int:
        """Append records whose key has no final record yet; each is flushed and fsync-ed before
        the next."""
        n = 0
        with open(self.path, "a", encoding="utf-8") as f:
            for rec in records:
                k = self.key(rec)
                if self._claimed(k):
                    continue
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
                self._records[k] = rec
                n += 1
        return n


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def response_key(rec: dict) -> tuple[str, str, int]:
    return (rec["bench"], str(rec["id"]), int(rec["sample"]))


def item_key(rec: dict) -> tuple[str, str]:
    return (rec["bench"], str(rec["id"]))


def first_by_key(records: Iterable[dict], key: Callable[[dict], Hashable]) -> list[dict]:
    """The first record of each key, in order (the rule :class:`JsonlLog` reads with)."""
    out: dict = {}
    for r in records:
        out.setdefault(key(r), r)
    return list(out.values())


def load_run(run_dir: str | os.PathLike) -> tuple[dict, list[dict], list[dict]]:
    """``(run config, items, responses)`` of a run folder."""
    run = Path(run_dir)
    if not (run / RUN_FILE).exists():
        raise PerceptrlError("not a perceptrl eval run (no run.json)", where=str(run),
                             fix="pass the --out folder of a `perceptrl eval --model …` run")
    config = json.loads((run / RUN_FILE).read_text())
    return config, first_by_key(read_jsonl(run / ITEMS_FILE), item_key), first_by_key(
        read_jsonl(run / RESPONSES_FILE), response_key)


def load_scores(run_dir: str | os.PathLike, protocol: str | None = None) -> tuple[dict, list[dict]]:
    """``(summary, per-response rows)`` of a scored run (default: the run's own protocol)."""
    run = Path(run_dir)
    config, _, _ = load_run(run)
    name = protocol or config.get("protocol")
    path = run / "scores" / f"{name}.json"
    if not path.exists():
        raise PerceptrlError(f"run has no scores under protocol {name!r}", where=str(run),
                             fix=f"run `perceptrl eval rescore {run} --protocol {name}` first")
    return json.loads(path.read_text()), list(read_jsonl(run / "scores" / f"{name}.jsonl"))
