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


def test_a_lone_surrogate_gets_a_key_of_its_own():
    k = make_key("rules", ["height of bar A = 3"], "\ud800 \\boxed{3}")
    assert len(k) == 64 and k != make_key("rules", ["height of bar A = 3"], " \\boxed{3}")


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


def test_key_format_is_pinned():
    """The digest of fixed parts never changes: a new key format would orphan every existing cache
    (SHA-256 of the compact, key-sorted, non-ASCII-preserving JSON of the parts list)."""
    import hashlib
    import json

    parts = ["openai:Qwen2.5-32B-Instruct", [{"role": "user", "content": "Is x = 1 stated? é"}],
             {"temperature": 0, "max_tokens": 512}]
    assert make_key(*parts) == "cf4adc7e7b73f031ddb936eba02973c30e4f447a3b26317831dcb8a4aed2ae3d"
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    assert make_key(*parts) == hashlib.sha256(blob).hexdigest()
    assert make_key("rules", 1, ["AB = 10"], "AB = 10.") == (
        "d418148158558005a6abbb3d3db934b2145e5ce9c865dad98db5fa148c10a792")


def _reader_writer(path, start, out):
    c = SqliteCache(path)
    seen = 0
    for i in range(start, start + 100, 5):
        c.put_many({f"k{j}": {"v": j} for j in range(i, i + 5)})
        got = c.get_many([f"k{j}" for j in range(0, 300)])
        assert all(v == {"v": int(k[1:])} for k, v in got.items())  # never a torn or foreign value
        seen = max(seen, len(got))
    out.put(seen)


def test_processes_read_while_others_write(tmp_path):
    """Three processes (like three ranks of a node) write and read one file at once: no 'database
    is locked', every value read back whole, all writes kept."""
    p = str(tmp_path / "shared.sqlite")
    SqliteCache(p)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_reader_writer, args=(p, k * 100, out)) for k in range(3)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(120)
        assert pr.exitcode == 0
    assert len(SqliteCache(p)) == 300
    assert max(out.get(timeout=5) for _ in procs) >= 100
