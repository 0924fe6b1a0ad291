"""Crash-safe JSONL log and atomic summaries."""

import json
import os

from perceptrl.eval.store import JsonlLog, read_jsonl, write_json_atomic


def key(r):
    return (r["bench"], r["id"], r["sample"])


def test_append_skips_known_keys_and_survives_reopen(tmp_path):
    p = tmp_path / "responses.jsonl"
    log = JsonlLog(p, key)
    assert log.append([{"bench": "b", "id": "1", "sample": 0, "r": "x"}, {"bench": "b", "id": "2", "sample": 0, "r": "y"}]) == 2
    assert log.append([{"bench": "b", "id": "1", "sample": 0, "r": "other"}]) == 0
    again = JsonlLog(p, key)
    assert len(again) == 2 and ("b", "1", 0) in again and again.get(("b", "1", 0))["r"] == "x"
    assert len(p.read_text().splitlines()) == 2


def test_torn_last_line_is_cut_and_rewritten(tmp_path):
    p = tmp_path / "responses.jsonl"
    full = json.dumps({"bench": "b", "id": "1", "sample": 0}) + "\n"
    torn = json.dumps({"bench": "b", "id": "2", "sample": 0})[:15]  # killed mid-write
    p.write_text(full + torn)
    assert [r["id"] for r in read_jsonl(p)] == ["1"]
    log = JsonlLog(p, key)
    assert len(log) == 1 and p.read_text() == full
    log.append([{"bench": "b", "id": "2", "sample": 0}])
    assert [r["id"] for r in read_jsonl(p)] == ["1", "2"]


def test_torn_only_line(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text('{"bench": "b", "id"')
    assert len(JsonlLog(p, key)) == 0 and p.read_text() == ""


def test_duplicate_lines_count_once(tmp_path):
    p = tmp_path / "r.jsonl"
    rec = json.dumps({"bench": "b", "id": "1", "sample": 0}) + "\n"
    p.write_text(rec + rec)
    assert len(JsonlLog(p, key)) == 1


def test_write_json_atomic_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "summary.json"
    write_json_atomic(p, {"a": 1})
    write_json_atomic(p, {"a": 2})
    assert json.loads(p.read_text()) == {"a": 2}
    assert os.listdir(tmp_path) == ["summary.json"]


def test_records_that_are_not_final_do_not_claim_their_key(tmp_path):
    p = tmp_path / "log.jsonl"
    final = lambda r: r["status"] != "error"  # noqa: E731
    log = JsonlLog(p, key=lambda r: r["id"], final=final)
    assert log.append([{"id": 1, "status": "error"}, {"id": 1, "status": "error"}, {"id": 2, "status": "ok"}]) == 3
    assert log.append([{"id": 1, "status": "ok"}, {"id": 1, "status": "ok"}, {"id": 2, "status": "ok"}]) == 1
    reread = JsonlLog(p, key=lambda r: r["id"], final=final)
    assert [r["status"] for r in reread.records()] == ["ok", "ok"] and reread.done(1)
    assert JsonlLog(p, key=lambda r: r["id"]).get(1)["status"] == "error"  # without it: first record wins


def test_eval_package_has_no_import_cycle():
    """Run loading lives in the store: ``report`` and ``compare`` read runs without importing the
    runner, so the runner may import the report (the old report ↔ runner cycle stays gone). Every
    import counts, also those inside functions."""
    import ast
    from pathlib import Path

    import graphlib

    import perceptrl.eval as pkg

    folder = Path(pkg.__file__).parent
    graph: dict[str, set[str]] = {}
    for f in folder.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("perceptrl.eval."):
                deps.add(node.module.rsplit(".", 1)[1])
            elif isinstance(node, ast.Import):
                deps |= {a.name.rsplit(".", 1)[1] for a in node.names if a.name.startswith("perceptrl.eval.")}
        graph[f.stem] = deps - {f.stem}
    list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    assert "runner" not in graph["report"] and "runner" not in graph["compare"]
