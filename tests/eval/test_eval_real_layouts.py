"""Benchmarks as downloaded from their GitHub repositories (fixtures in tests/real_layouts.py, in
the public files' exact shapes): they load, validate, render the expected prompts, and evaluate
with the tiny VLM; split names match exactly; WeMath without a complete problem says n/a."""

import json
import shutil

import pytest

from real_layouts import (
    GEO3K_ROWS,
    MATHV_TEST,
    MATHVERSE_TEXT_ONLY,
    MATHVISTA_QUERIES,
    build_geometry3k,
    build_mathv_repo,
    build_mathverse_text_only,
    build_mathvista_github,
    build_wemath_github,
)

from perceptrl.data.prompt import render_problem
from perceptrl.data.validate import validate_examples
from perceptrl.errors import PerceptrlError
from perceptrl.eval.benchmarks import load_benchmark
from perceptrl.eval.protocols import get_protocol
from perceptrl.eval.runner import run_eval
from perceptrl.eval.sources import load_rows

FAST = get_protocol("greedy_rules", max_new_tokens=4)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    root = tmp_path_factory.mktemp("downloads")
    return {
        "mathvista": build_mathvista_github(root),
        "mathvision": build_mathv_repo(root),
        "mathverse": build_mathverse_text_only(root),
        "geo3k": build_geometry3k(root),
    }


def _prompts(examples):
    return [render_problem(ex, "plain") for ex in examples]


def test_mathvista_github_testmini_json_keyed_by_pid_uses_query_json(layouts):
    exs = load_benchmark("mathvista", str(layouts["mathvista"]))  # the data/ folder: split testmini → testmini.json
    assert [e.id for e in exs] == ["1", "2", "3"]
    assert _prompts(exs) == [MATHVISTA_QUERIES[p] for p in ("1", "2", "3")]  # the official prompts, options once
    assert exs[1].answer == "8/11" and exs[1].metadata["options"] == ["3/11", "8/11", "6/11"]
    assert exs[0].metadata["precision"] == 1 and exs[2].metadata["unit"] == "g"
    assert validate_examples(exs, source="mathvista").ok


def test_mathvista_without_query_json_puts_the_options_in_the_prompt(layouts, tmp_path):
    data = build_mathvista_github(tmp_path, with_query=False)
    exs = load_benchmark("mathvista", str(data / "testmini.json"))
    assert _prompts(exs) == [
        "What is the length of segment AB?",
        "Which fraction of the shape is shaded?\nChoices:\nA. 3/11\nB. 8/11\nC. 6/11",
        "How much does the bag weigh?",
    ]
    assert validate_examples(exs, source="mathvista").ok


def test_mathv_repository_layout(layouts):
    exs = load_benchmark("mathvision", str(layouts["mathvision"]))  # data/: split test → test.jsonl only
    assert [e.id for e in exs] == [r["id"] for r in MATHV_TEST]
    assert _prompts(exs) == [
        "Which of the pictures shows the kangaroo?\n<image>\nChoices: A, B, C, D, E",
        "How many squares are grey?\n<image>",
        "When the ant <image> walks home [image 2], which colour is the cube?\nChoices:\nA. red\nB. blue\n"
        "C. green\nD. yellow\nE. This cannot be worked out for certain.",
    ]
    for ex in exs:  # images/ sits at the repository root, one level above data/
        assert ex.image_path(0).is_file()
    report = validate_examples(exs, source="mathvision")
    assert report.ok, [i.reason for i in report.errors]


def test_split_test_does_not_also_read_testmini(layouts):
    rows = load_rows(str(layouts["mathvision"]), split="test")
    assert len(rows) == len(MATHV_TEST)  # was 5: test.jsonl + testmini.jsonl merged
    mini = load_benchmark("mathvision:testmini", str(layouts["mathvision"]))
    assert [e.id for e in mini] == ["1", "3"]


def test_folder_without_the_split_names_what_it_has(tmp_path):
    (tmp_path / "testmini.jsonl").write_text(json.dumps(MATHV_TEST[0]) + "\n")
    with pytest.raises(PerceptrlError) as e:
        load_rows(str(tmp_path), split="test")
    assert "testmini.jsonl" in str(e.value) and "NAME:testmini=FOLDER" in e.value.fix


def test_mathverse_text_only_rows_validate_without_an_image(layouts):
    exs = load_benchmark("mathverse", str(layouts["mathverse"]))
    assert all(not e.images and e.metadata["text_only"] for e in exs)
    assert exs[0].metadata["options"] == ["40°", "60°", "120°", "140°"]
    assert _prompts(exs) == [r["question"] for r in MATHVERSE_TEXT_ONLY]  # choices already in the text
    assert _prompts(exs)[0].endswith("Choices:\nA:40°\nB:60°\nC:120°\nD:140°")
    report = validate_examples(exs, source="mathverse")
    assert report.ok, [i.code for i in report.errors]  # was no_image on every row


def test_geometry3k_intergps_layout_has_the_choices_in_the_prompt(layouts):
    exs = load_benchmark("geo3k", str(layouts["geo3k"]))  # the folder of splits: geo3k's split is test
    assert [e.id for e in exs] == [str(r["id"]) for r in GEO3K_ROWS["test"]]
    assert _prompts(exs) == [
        "<image>Find the area of the triangle.\nChoices:\nA. 12\nB. 24\nC. 36\nD. 48",
        "<image>Find y.\nChoices:\nA. 3\nB. 4\nC. 5\nD. 6",
        "<image>Find the perimeter of the rectangle.\nChoices:\nA. 10\nB. 14\nC. 20\nD. 28",
    ]
    assert exs[0].answer == "B"
    assert validate_examples(exs, source="geo3k").ok
    assert [e.id for e in load_benchmark("geo3k", str(layouts["geo3k"] / "train"))] == ["0", "1"]


def test_every_layout_evaluates_with_the_tiny_vlm(layouts, tiny_vlm, tmp_path):
    benches = [(b, str(p)) for b, p in layouts.items()]
    summary = run_eval("tiny", benches, tmp_path, protocol=FAST, batch_size=4, loaded=tiny_vlm, progress=False,
                       report=True)
    assert {b: m["n"] for b, m in summary["benches"].items()} == {"mathvista": 3, "mathvision": 3, "mathverse": 3,
                                                                  "geo3k": 3}
    prompts = [json.loads(line)["prompt"] for line in (tmp_path / "responses.jsonl").read_text().splitlines()]
    assert sum("<|image_pad|>" in p for p in prompts) == 9  # the 3 MathVerse text-only items have none


def test_image_root_option_points_at_another_folder(layouts, tmp_path):
    elsewhere = tmp_path / "pictures"
    shutil.copytree(layouts["mathvision"].parent / "images", elsewhere / "images")
    data = tmp_path / "rows"
    data.mkdir()
    shutil.copy(layouts["mathvision"] / "test.jsonl", data / "test.jsonl")
    assert not validate_examples(load_benchmark("mathvision", str(data)), source="x").ok  # missing images
    exs = load_benchmark("mathvision", str(data), image_root=str(elsewhere))
    assert validate_examples(exs, source="x").ok


def test_wemath_without_a_complete_composite_problem_says_na(capsys):
    from perceptrl.eval.cli import _print_summary
    from perceptrl.eval.report import markdown_report as markdown
    from perceptrl.eval.wemath import wemath_metrics

    m = wemath_metrics({("2steps_1", "2steps_1"): True})  # a --limit run: the multi-step part is missing
    assert m["n_composite"] == 0 and m["score_strict"] is None
    bench = {"n": 1, "accuracy": 1.0, "wemath": m}
    _print_summary({"benches": {"wemath": bench}})
    out = capsys.readouterr().out
    assert "strict score n/a (no complete composite problem)" in out and "strict score 0.0" not in out
    md = markdown({"model": "m", "protocol": "p", "scorer": "rules", "decoding": {}, "benches": {"wemath": bench}})
    assert "n/a (no complete composite problem)" in md


def test_the_eval_validation_fix_names_the_file_not_the_benchmark(tmp_path):
    from perceptrl.data.schema import Example

    bad = [Example(id="1", images=["missing.png"], problem="<image>x", answer="1", root=str(tmp_path))]
    err = validate_examples(bad, source="mathvista", path=str(tmp_path / "my copy")).to_error()
    assert f"perceptrl data validate '{tmp_path / 'my copy'}' --fix" in err.fix


def test_eval_error_fix_is_a_command_that_runs_and_writes_what_eval_loads(layouts, tiny_vlm, tmp_path, capsys):
    import shlex

    from perceptrl.cli import main

    repo = tmp_path / "MATH-V"
    shutil.copytree(layouts["mathvision"].parent, repo)
    (repo / "images" / "2.jpg").write_bytes(b"not a jpeg")  # one corrupt image
    data = str(repo / "data")
    with pytest.raises(PerceptrlError) as e:
        run_eval("tiny", [("mathvision", data)], tmp_path / "run", protocol=FAST, loaded=tiny_vlm, progress=False)
    fix = e.value.fix
    assert f"perceptrl data validate {shlex.quote(data)} --bench mathvision --fix --out FIXED.jsonl" in fix
    fixed = tmp_path / "fixed.jsonl"
    cmd = fix.split("`")[1].replace("FIXED.jsonl", str(fixed))
    assert main(shlex.split(cmd)[1:]) == 1  # the corrupt row cannot be repaired: left out, and said
    assert "left out 1 rows" in capsys.readouterr().out
    exs = load_benchmark("mathvision", str(fixed))
    assert [x.id for x in exs] == ["1", "3"]
    assert _prompts(exs) == [_prompts(load_benchmark("mathvision", str(layouts["mathvision"])))[i] for i in (0, 2)]
    summary = run_eval("tiny", [("mathvision", str(fixed))], tmp_path / "run2", protocol=FAST, loaded=tiny_vlm,
                       progress=False, report=False)
    assert summary["benches"]["mathvision"]["n"] == 2


def test_a_generic_perceptrl_copy_is_refused_with_the_command_that_writes_a_loadable_one(layouts, tmp_path):
    from perceptrl.data.io import read_examples, write_examples

    generic = write_examples(read_examples(layouts["mathvision"] / "test.jsonl"), tmp_path / "g.jsonl", format="jsonl")
    with pytest.raises(PerceptrlError) as e:
        load_benchmark("mathvision", str(generic))
    assert "--bench mathvision --fix --out FIXED.jsonl" in e.value.fix


def test_wemath_github_testmini_json_loads_and_a_limited_run_says_na(tiny_vlm, tmp_path, capsys):
    from perceptrl.eval.cli import _print_summary

    data = build_wemath_github(tmp_path)
    exs = load_benchmark("wemath", str(data))  # data/: testmini.json, not json/Two-steps.json
    assert [e.id for e in exs] == ["2steps_1|2steps_1", "2steps_1|2steps_2", "2steps_1|2steps_multi"]
    assert _prompts(exs) == [
        "As shown in the diagram, the radius is 5 cm. The diameter is ( ) cm.\nChoices:\nA. 10\nB. 5\nC. 2.5\nD. 20"
        "\nE. No correct answer",
        "As shown in the diagram, the diameter is 10 cm. The circumference is ( ) cm.\nChoices:\nA. 31.4\nB. 3.14"
        "\nC. 62.8\nD. 40\nE. No correct answer",
        "As shown in the diagram, the radius is 5 cm. The circumference is ( ) cm.\nChoices:\nA. 31.4\nB. 15.7"
        "\nC. 62.8\nD. No correct answer",
    ]
    assert validate_examples(exs, source="wemath").ok
    summary = run_eval("tiny", [("wemath", str(data))], tmp_path / "run", protocol=FAST, limit=2, loaded=tiny_vlm,
                       progress=False, report=True)
    w = summary["benches"]["wemath"]["wemath"]
    assert w["n_composite"] == 0 and w["incomplete"] == 1 and w["score_strict"] is None
    _print_summary(summary)
    assert "strict score n/a (no complete composite problem)" in capsys.readouterr().out
    assert "n/a (no complete composite problem)" in (tmp_path / "run" / "report.md").read_text()
