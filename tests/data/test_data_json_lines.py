from perceptrl.data.json_lines import json_objects


def test_every_bad_line_is_reported_with_its_number_and_good_objects_pass(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text('{"a": 1}\n\n{not json\n[1, 2]\n{"b": 2}\n', encoding="utf-8")
    got = list(json_objects(p))
    assert [(n, obj) for n, obj, problem in got if problem is None] == [(1, {"a": 1}), (5, {"b": 2})]
    problems = [problem for _, obj, problem in got if problem]
    assert len(problems) == 2
    assert problems[0].startswith("line 3: not JSON (") and problems[1] == "line 4: not a JSON object"
    assert all(obj is None for _, obj, problem in got if problem)
