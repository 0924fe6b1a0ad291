"""The sqlite cache: persistence, keys, and concurrent writers in separate processes."""

import multiprocessing as mp

from perceptrl.judge.cache import SqliteCache, make_key


def test_round_trip_and_persistence(tmp_path):
    p = tmp_path / "c.sqlite"
    c = SqliteCache(p)
    c.put_many({"a": {"v": [1, 0]}, "b": "text"})
    assert c.get("a") == {"v": [1, 0]} and c.get("zz") is None
    assert SqliteCache(p).get_many(["a", "b", "c"]) == {"a": {"v": [1, 0]}, "b": "text"}


# Digests written down once (sha256 of the parts' canonical JSON): a cache filled by an earlier
# version, another process or another machine must keep hitting, so the key function may not drift
# (a change of JSON separators, key sorting, ASCII escaping or hash would show here).
FIXED_KEYS = [
    (("m", ["a", "b"], "r"), "788515ac2878cc768362b65f6860d2b2e753f26ebc383096c225b1330b8f6982"),
    (("judge-1", [{"role": "user", "content": "Is the circle red? é"}], {"temperature": 0, "max_tokens": 64}),
     "7379c7c0e94038d5a8938fb7fd0098467cacdbc2670463c29c5b384b3a2dee7a"),
]


def test_keys_match_the_fixed_digests():
    for parts, digest in FIXED_KEYS:
        assert make_key(*parts) == digest, parts


def test_keys_ignore_dict_order_and_keep_list_order():
    a = make_key("m", [{"role": "user", "content": "x"}], {"temperature": 0, "max_tokens": 64})
    b = make_key("m", [{"content": "x", "role": "user"}], {"max_tokens": 64, "temperature": 0})
    assert a == b  # the same request, whatever the order its dicts were built in
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
