"""Datasets as downloaded. The Geometry3K release of InterGPS (``{train,val,test}/NNN/{data.json, img_diagram.png}``) read
as training data, auto-detected; and relative image paths that start elsewhere (``image_root``,
or a parent folder found automatically as in MATH-V's repository)."""

import json
import shutil

import pytest

from real_layouts import GEO3K_ROWS, MATHV_TEST, build_geometry3k, build_mathv_repo

from perceptrl.cli import main
from perceptrl.data.io import detect_format, read_examples
from perceptrl.data.prompt import render_problem
from perceptrl.data.validate import validate_examples
from perceptrl.errors import PerceptrlError


def test_geometry3k_folder_is_detected_and_read_with_its_choices(tmp_path):
    base = build_geometry3k(tmp_path)
    assert detect_format(base) == "geometry3k" and detect_format(base / "test") == "geometry3k"
    train = read_examples(base)  # the folder of splits: train by default
    assert [e.id for e in train] == ["0", "1"]
    assert [render_problem(e, "plain") for e in train] == [
        "<image>Find x. Round to the nearest tenth.\nChoices:\nA. 5.8\nB. 6.5\nC. 14.2\nD. 44.3",
        "<image>Find m \\angle 2.\nChoices:\nA. 34\nB. 56\nC. 66\nD. 124",
    ]
    assert [e.answer for e in train] == ["A", "B"]
    assert train[0].metadata["problem_type_goal"] == ["Length"]
    assert validate_examples(train, source="g3k").ok
    test = read_examples(base, split="test")
    assert [e.id for e in test] == [str(r["id"]) for r in GEO3K_ROWS["test"]]
    with pytest.raises(PerceptrlError, match="no split 'val'"):
        read_examples(base, split="val")


def test_geometry3k_validate_and_convert_from_the_cli(tmp_path, capsys):
    base = build_geometry3k(tmp_path)
    assert main(["data", "validate", str(base / "test")]) == 0
    out = tmp_path / "g3k.jsonl"
    assert main(["data", "convert", str(base), str(out), "--to", "jsonl"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["choices"] for r in rows] == [r["choices"] for r in GEO3K_ROWS["train"]]
    assert read_examples(out)[0].load_image(0).size == (84, 84)


def test_relative_paths_resolve_against_a_parent_or_the_image_root(tmp_path):
    data = build_mathv_repo(tmp_path)  # data/test.jsonl, images/ one level up
    exs = read_examples(data / "test.jsonl")
    assert [e.id for e in exs] == [r["id"] for r in MATHV_TEST]
    assert validate_examples(exs, source="x").ok  # found in the repository root automatically
    moved = tmp_path / "rows"
    moved.mkdir()
    shutil.copy(data / "test.jsonl", moved / "test.jsonl")
    assert not validate_examples(read_examples(moved / "test.jsonl"), source="x").ok
    exs = read_examples(moved / "test.jsonl", image_root=data.parent)
    assert validate_examples(exs, source="x").ok
    assert main(["data", "validate", str(moved / "test.jsonl"), "--image-root", str(data.parent)]) == 0
    assert main(["data", "validate", str(moved / "test.jsonl"), "--image-root", str(tmp_path / "nowhere")]) == 2


def test_json_object_keyed_by_id_reads_as_rows(tmp_path):
    from real_layouts import MATHVISTA_ROWS, build_mathvista_github

    data = build_mathvista_github(tmp_path)
    exs = read_examples(data / "testmini.json")  # was: "a .json dataset must hold a list of objects"
    assert [e.id for e in exs] == list(MATHVISTA_ROWS)
    assert exs[1].choices == ["3/11", "8/11", "6/11"] and exs[0].image_path(0).is_file()
    assert validate_examples(exs, source="x").ok


def test_letter_only_choices_render_as_letters_not_a_dot_a(tmp_path):
    data = build_mathv_repo(tmp_path)
    ex = read_examples(data / "test.jsonl")[0]  # options ["A", …, "E"]: drawn in the figure
    assert render_problem(ex, "plain").endswith("\nChoices: A, B, C, D, E") and "A. A" not in render_problem(ex, "plain")
