"""Loaders: each benchmark's real schema (tiny local copies from conftest) → canonical examples."""

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.eval.benchmark_rows import parse_inline_choices, parse_wemath_options
from perceptrl.eval.benchmarks import load_benchmark, parse_bench_spec


def test_mathvista_from_save_to_disk(bench_sources):
    exs = load_benchmark("mathvista", str(bench_sources["mathvista"]))
    assert [e.id for e in exs] == ["1", "2", "3"]
    f, mc = exs[0], exs[1]
    assert f.problem.startswith("Hint:") and "Question: What is the length of AB?" in f.problem  # official query
    assert f.metadata["precision"] == 1 and f.metadata["unit"] == "cm" and f.metadata["answer_type"] == "float"
    assert f.metadata["task"] == "geometry problem solving"
    assert mc.metadata["options"] == ["3/11", "8/11", "6/11"] and mc.answer == "8/11" and mc.choices is None
    assert "(B) 8/11" in mc.problem  # choices stay where the benchmark put them (in the query)
    assert exs[2].metadata["precision"] is None
    assert isinstance(f.images[0], bytes) and f.load_image(0).size == (84, 84)


def test_split_in_the_bench_name(bench_sources):
    assert len(load_benchmark("mathvista:testmini", str(bench_sources["mathvista"]))) == 3
    with pytest.raises(PerceptrlError, match="split 'test' not found") as e:
        load_benchmark("mathvista:test", str(bench_sources["mathvista"]))
    assert "testmini" in e.value.render()
    assert parse_bench_spec("mathvision:testmini=/d") == [("mathvision:testmini", "/d")]


def test_mathverse_from_parquet_five_versions(bench_sources):
    exs = load_benchmark("mathverse", str(bench_sources["mathverse"]))
    assert len(exs) == 10
    versions = {e.metadata["problem_version"] for e in exs}
    assert versions == {"Text Dominant", "Text Lite", "Vision Intensive", "Vision Dominant", "Vision Only"}
    td = exs[0]
    assert td.metadata["options"] == ["5", "6", "7", "8"] and td.answer == "A"
    vo = next(e for e in exs if e.metadata["problem_version"] == "Vision Only")
    assert vo.problem.startswith("According to the question shown in the image")  # query_wo when the text is empty
    assert vo.metadata["options"] is None


def test_mathvision_from_jsonl_and_image_folder(bench_sources):
    exs = load_benchmark("mathvision", str(bench_sources["mathvision"]))
    assert exs[0].choices == ["1", "2", "3", "4", "5"] and exs[0].answer == "C"
    assert exs[1].choices is None and exs[1].answer == "7"
    assert exs[0].images == ["images/1.jpg"] and exs[0].load_image(0).size == (84, 84)  # relative to the copy


def test_wemath_composite_structure(bench_sources):
    exs = load_benchmark("wemath", str(bench_sources["wemath"]))
    assert len(exs) == 3 + 3 + 4
    ids = [e.id for e in exs]
    assert "2steps_1|2steps_multi" in ids and "3steps_1|3steps_3" in ids
    e = exs[0]
    assert e.choices == ["31.4", "3.14", "62.8", "40", "No correct answer"] and e.answer == "A"
    assert (e.metadata["wemath_id"], e.metadata["wemath_key"]) == ("2steps_1", "2steps_1")


def test_geo3k_easyr1_schema(bench_sources):
    exs = load_benchmark("geo3k", str(bench_sources["geo3k"]), limit=2)
    assert [e.id for e in exs] == ["0", "1"] and exs[0].problem.startswith("<image>") and exs[0].answer == "5.8"
    assert len(exs[0].images) == 1


def test_synth_is_generated_offline():
    exs = load_benchmark("synth", limit=3)
    assert len(exs) == 3 and all(e.visual_annotations for e in exs) and exs[0].metadata["bench"] == "synth"


def test_hub_id_not_cached_offline_says_how_to_fix():
    with pytest.raises(PerceptrlError) as e:
        load_benchmark("mathvista", offline=True)
    msg = e.value.render()
    assert "AI4Math/MathVista" in msg and "not in the local cache" in msg and "local path" in msg


def test_wrong_schema_names_missing_columns(bench_sources):
    with pytest.raises(PerceptrlError) as e:
        load_benchmark("mathvista", str(bench_sources["geo3k"]))
    assert "missing column(s) pid" in e.value.render()


def test_missing_local_path_and_unknown_bench(tmp_path):
    with pytest.raises(PerceptrlError, match="not found"):
        load_benchmark("geo3k", str(tmp_path / "nope" / "deeper"))
    with pytest.raises(PerceptrlError, match="unknown benchmark"):
        parse_bench_spec("mathvista,foo")
    assert parse_bench_spec("mathvista, geo3k=/d/g") == [("mathvista", None), ("geo3k", "/d/g")]


def test_option_parsers():
    assert parse_wemath_options("A. 3, 5, 4; B. 3, 50, 40; C. 300, 50, 40; D. 30, 50, 40.; E. No correct answer") == [
        "3, 5, 4", "3, 50, 40", "300, 50, 40", "30, 50, 40.", "No correct answer"]
    assert parse_wemath_options("A. F;    B. D;    C. B;    D. I; E. No correct answer") == ["F", "D", "B", "I", "No correct answer"]
    assert parse_inline_choices("Find x.\nChoices:\nA:5\nB:6\nC:7.5") == ["5", "6", "7.5"]
    assert parse_inline_choices("Question: ?\nChoices:\n(A) 3/11\n(B) 8/11") == ["3/11", "8/11"]
    assert parse_inline_choices("no choices here") is None
