"""``perceptrl model build-tiny``."""

from __future__ import annotations

from perceptrl.cli import main
from perceptrl.models import load_vlm


def test_build_tiny_cli_builds_a_loadable_model(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the frobnicated heptagon = 12\n" * 50, encoding="utf-8")
    out = tmp_path / "tiny"
    rc = main(
        ["model", "build-tiny", "--arch", "qwen2_vl", "--out", str(out), "--hidden-size", "64", "--layers", "1",
         "--heads", "2", "--kv-heads", "1", "--corpus", str(corpus)]
    )
    assert rc == 0
    assert "saved tiny qwen2_vl" in capsys.readouterr().out
    model, proc = load_vlm(out)
    assert model.config.text_config.hidden_size == 64 and model.config.text_config.num_hidden_layers == 1
    assert len(proc.tokenizer.tokenize(" frobnicated")) <= 2  # the extra corpus reached the tokenizer


def test_build_tiny_cli_user_errors(tmp_path, capsys):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "f").write_text("x")
    assert main(["model", "build-tiny", "--out", str(tmp_path / "busy")]) == 2
    err = capsys.readouterr().err
    assert "not an empty directory" in err and "Traceback" not in err
    assert main(["model", "build-tiny", "--out", str(tmp_path / "a"), "--hidden-size", "100"]) == 2
    assert "head dim" in capsys.readouterr().err
    assert main(["model", "build-tiny", "--out", str(tmp_path / "b"), "--corpus", str(tmp_path / "nope.txt")]) == 2
    assert "corpus" in capsys.readouterr().err
