"""`perceptrl annotate` from the command line: the rules quick start, exit codes, messages."""

import json
import socket

from perceptrl.cli import main
from perceptrl.data.io import read_examples, write_examples
from perceptrl.synth import generate


def _data(tmp_path, n=4):
    exs = generate(n, seed=9)
    path = tmp_path / "data.jsonl"
    write_examples(exs, path, format="jsonl")
    return exs, path


def test_rules_extractor_without_a_server(tmp_path, capsys):
    exs, data = _data(tmp_path)
    out = tmp_path / "out.jsonl"
    assert main(["annotate", "--data", str(data), "--out", str(out), "--out-format", "jsonl",
                 "--cot-column", "cot"]) == 0
    text = capsys.readouterr().out
    assert "extractor: rules" in text and "kept 4" in text
    assert [e.visual_annotations for e in read_examples(out)] == [e.visual_annotations for e in exs]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_row_failed_exits_nonzero_and_names_the_extractor(tmp_path, capsys):
    """A real connection to a closed loopback port: every row fails on its request."""
    _, data = _data(tmp_path, 3)
    out = tmp_path / "out.parquet"
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    rc = main(["annotate", "--data", str(data), "--out", str(out), "--cot-column", "cot",
               "--extract-base-url", url, "--extract-model", "m", "--retries", "0", "--timeout", "5"])
    cap = capsys.readouterr()
    assert rc == 1
    assert "no row of 3 was kept (3 failed on requests" in cap.err
    assert "errors 3" in cap.out and not out.exists()
    recs = [json.loads(x) for x in (tmp_path / "out.parquet.progress.jsonl").read_text().splitlines()]
    assert all(r["status"] == "error" and r["reason"].startswith("extractor (LLM extractor): transport: request failed")
               for r in recs)
    assert not any("judge" in r["reason"] for r in recs)


def test_every_row_dropped_exits_nonzero(tmp_path, capsys):
    exs, _ = _data(tmp_path, 2)
    for e in exs:
        e.metadata["cot"] = "<think>no facts here</think><answer>\\boxed{12345}</answer>"
    data = tmp_path / "bad.jsonl"
    write_examples(exs, data, format="jsonl")
    assert main(["annotate", "--data", str(data), "--out", str(tmp_path / "o.parquet"), "--cot-column", "cot"]) == 1
    assert "2 x no chain of thought verifies" in capsys.readouterr().out


def test_llm_extractor_needs_an_endpoint(tmp_path, capsys):
    _, data = _data(tmp_path, 1)
    assert main(["annotate", "--data", str(data), "--out", str(tmp_path / "o.parquet"), "--cot-column", "cot",
                 "--extractor", "llm"]) == 2
    assert "--extract-base-url" in capsys.readouterr().err
