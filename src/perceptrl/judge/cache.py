"""A persistent key → JSON cache in sqlite, safe for several processes (e.g. one per GPU rank).

WAL journal mode lets readers run while one writer commits; ``busy_timeout`` (60 s) makes
concurrent writers wait for the lock instead of failing; each write is one ``BEGIN IMMEDIATE``
transaction, so a reader never sees half a batch. That makes one file safe to share between all
the ranks and reward workers of a *node* (sqlite's locking needs a local filesystem: on NFS or
Lustre give each node its own file). Values are JSON. Keys are SHA-256 hex digests of a canonical
JSON of their parts (:func:`make_key`); the format is fixed (a test pins a digest), since changing
it would silently orphan every cache already written.

Why not ``diskcache`` (suggested in issue 13): it is sqlite with WAL underneath too, so it gives
the same cross-process guarantees, but it would add a dependency, pickle values (ours are JSON, and
readable with the ``sqlite3`` shell), and change the on-disk layout of existing caches; the ~80
lines here do exactly the two bulk operations the judge needs (``get_many``/``put_many``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def make_key(*parts: Any) -> str:
    """A stable digest of JSON-serialisable parts (order matters).

    ``surrogatepass``: a lone surrogate (``"\\ud800"``, which a JSON dataset field may carry as an escape)
    must not crash a reward step; valid text encodes to the same bytes either way, so keys are unchanged."""
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


class SqliteCache:
    """``get_many``/``put_many`` over one table; one connection per thread."""

    def __init__(self, path: str | Path, *, table: str = "cache"):
        if not table.isidentifier():
            raise ValueError(f"bad table name {table!r}")
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.table = table
        self._local = threading.local()
        conn = self._conn()
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.commit()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
        return conn

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, Any] = {}
        conn = self._conn()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            q = f"SELECT key, value FROM {self.table} WHERE key IN ({','.join('?' * len(chunk))})"
            for k, v in conn.execute(q, chunk):
                out[k] = json.loads(v)
        return out

    def get(self, key: str) -> Any | None:
        return self.get_many([key]).get(key)

    def put_many(self, items: Mapping[str, Any]) -> None:
        if not items:
            return
        conn = self._conn()
        rows = [(k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(f"INSERT OR REPLACE INTO {self.table} (key, value) VALUES (?, ?)", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def put(self, key: str, value: Any) -> None:
        self.put_many({key: value})

    def __len__(self) -> int:
        return self._conn().execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
