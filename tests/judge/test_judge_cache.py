"""The sqlite cache: persistence, keys, and concurrent writers in separate processes."""

import multiprocessing as mp

from perceptrl.judge.cache import SqliteCache, make_key


def test_round_trip_and_persistence(tmp_path):
    p = tmp_path / "c.sqlite"
    c = SqliteCache(p)
    c.put_many({"a": {"v": [1, 0]}, "b": "text"})
    assert c.get("a") == {"v": [1, 0]} and c.get("zz") is None
    assert SqliteCache(p).get_many(["a", "b", "c"]) == {"a": {"v": [1, 0]}, "b": "text"}


def test_keys_are_stable_and_order_sensitive():
    assert make_key("m", ["a", "b"], "r") == make_key("m", ["a", "b"], "r")
    assert make_key("m", ["a", "b"], "r") != make_key("m", ["b", "a"], "r")


def _writer(path, start):
    c = SqliteCache(path)
    for i in range(start, start + 200, 10):
        c.put_many({str(j): j for j in range(i, i + 10)})


def test_concurrent_processes(tmp_path):
    p = str(tmp_path / "c.sqlite")
    SqliteCache(p)
    procs = [mp.get_context("spawn").Process(target=_writer, args=(p, k * 200)) for k in range(3)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(60)
        assert pr.exitcode == 0
    assert len(SqliteCache(p)) == 600
