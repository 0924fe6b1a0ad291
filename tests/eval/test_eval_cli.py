"""``perceptrl eval`` and its actions, in-process through the real entry point."""

import json

from perceptrl.cli import main


def test_run_rescore_report_compare(bench_sources, tiny_qwen25vl_dir, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["eval", "--model", str(tiny_qwen25vl_dir), "--bench", f"geo3k={bench_sources['geo3k']},synth",
            "--limit", "2", "--max-new-tokens", "4", "--out", str(run)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "geo3k" in out and "synth" in out and "accuracy" in out
    assert (run / "report.md").exists() and (run / "report.png").exists()
    assert len((run / "responses.jsonl").read_text().splitlines()) == 4

    assert main(["eval", "rescore", str(run), "--protocol", "avg_at_k"]) == 0
    assert json.loads((run / "scores" / "avg_at_k.json").read_text())["decoding_mismatch"] is True
    assert (run / "report-avg_at_k.md").exists()

    capsys.readouterr()
    assert main(["eval", "report", str(run)]) == 0
    assert "| geo3k | 2 |" in capsys.readouterr().out

    assert main(["eval", "compare", str(run), str(run), "--json", str(tmp_path / "cmp.json")]) == 0
    cmp = json.loads((tmp_path / "cmp.json").read_text())
    assert cmp["correctness"]["overall"]["n"] == 4 and cmp["correctness"]["overall"]["p_value"] == 1.0


def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    assert main(["eval", "--model", "x", "--bench", "mathvista", "--offline", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "not in the local cache" in err and "fix:" in err and "Traceback" not in err
    assert main(["eval", "--bench", "geo3k"]) == 2
    assert "--model and --bench are required" in capsys.readouterr().err
    assert main(["eval", "report", str(tmp_path)]) == 2
    assert "not a perceptrl eval run" in capsys.readouterr().err
    assert main(["eval", "--model", "x", "--bench", "nope"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err
