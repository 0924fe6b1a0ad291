"""`perceptrl judge` with the rules backend (the openai backend is tested against a real server in
tests/integration/test_judge_server.py)."""

import json

from perceptrl.cli import main


def test_scores_pairs_and_writes_records(tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"id": "a", "annotations": ["AB = 10", "BC = 3"], "response": "AB = 10 and BC = 3"},
        {"id": "b", "visual_key_info": "<info1>AB = 10</info1>\n<info2>BC = 3</info2>", "response": "AB = 10"},
    ]
    pairs.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["judge", "--input", str(pairs), "--backend", "rules"]) == 0
    out = [json.loads(line) for line in (tmp_path / "pairs.verdicts.jsonl").read_text().splitlines()]
    assert [(r["id"], r["score"], r["verdicts"]) for r in out] == [("a", 1.0, [1, 1]), ("b", 0.5, [1, 0])]
    assert "mean r_v 0.7500" in capsys.readouterr().out


def test_bad_rows_are_reported_with_line_numbers_before_any_work(tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"annotations": ["a"], "response": "x"}\nnot json\n{"response": "x"}\n'
                     '{"annotations": "a", "response": "x"}\n')
    assert main(["judge", "--input", str(pairs), "--backend", "rules"]) == 2
    err = capsys.readouterr().err
    assert "line 2: not JSON" in err and "line 3: no annotations" in err and "line 4:" in err
    assert not (tmp_path / "pairs.verdicts.jsonl").exists()


def test_unreachable_server_fails_fast_with_a_fix(tmp_path, capsys):
    from perceptrl.judge.local_server import free_port

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"annotations": ["a"], "response": "x"}\n')
    code = main(["judge", "--input", str(pairs), "--base-url", f"http://127.0.0.1:{free_port()}/v1",
                 "--model", "m", "--retries", "0", "--cache", "none"])
    assert code == 2 and "judge.base_url" in capsys.readouterr().err


def test_untagged_visual_key_info_is_named_not_called_missing(tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    rows = [{"id": "a", "visual_key_info": "AB = 10\nBC = 3", "response": "AB = 10"},
            {"id": "b", "visual_key_info": "<info1>AB = 10</info1>\n<info3>BC = 3</info3>", "response": "AB = 10"}]
    pairs.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["judge", "--input", str(pairs), "--backend", "rules"]) == 2
    err = capsys.readouterr().err
    assert "line 1: visual_key_info: expected <info1>" in err and "plain text is not read as annotations" in err
    assert "line 2: visual_key_info: expected <info2>" in err and "no annotations" not in err
    assert "<info1>…</info1>" in err and "Traceback" not in err


def test_constrained_mode_reaches_the_judge_per_request(tmp_path, capsys):
    judge_py = tmp_path / "json_judge.py"
    judge_py.write_text(
        "import json\n"
        "SEEN = []\n"
        "def judge(messages, answer_format=None):\n"
        "    SEEN.append((answer_format.mode, answer_format.m))\n"
        "    assert answer_format.openai_params()['response_format']['json_schema']['strict']\n"
        "    return json.dumps({f'info{k}': 1 for k in range(1, answer_format.m + 1)})\n"
    )
    pairs = tmp_path / "pairs.jsonl"
    rows = [{"id": "a", "annotations": ["AB = 10", "BC = 3"], "response": "AB = 10 and BC = 3"},
            {"id": "b", "annotations": ["AB = 10"], "response": "AB = 10"}]
    pairs.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["judge", "--input", str(pairs), "--backend", f"{judge_py}:judge", "--constrained", "json_schema",
                 "--cache", "none"]) == 0
    out = [json.loads(line) for line in (tmp_path / "pairs.verdicts.jsonl").read_text().splitlines()]
    assert [(r["id"], r["verdicts"]) for r in out] == [("a", [1, 1]), ("b", [1])]
