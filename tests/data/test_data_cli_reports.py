"""``data validate`` on real-sized data: long reports print one line per kind with the full list in
a file; ``--model`` checks the pixel bounds of that model's processor (what training resizes
into); written files carry neither internal keys nor empty metadata."""

import json

from data_fixtures import png_bytes

from perceptrl.cli import main
from perceptrl.data.io import read_examples, write_examples
from perceptrl.data.schema import Example


def _small_images_jsonl(tmp_path, n):
    (tmp_path / "img").mkdir()
    rows = []
    for i in range(n):
        (tmp_path / "img" / f"{i}.png").write_bytes(png_bytes((20, 20)))  # 400 px < the 3,136 minimum
        rows.append({"id": f"r{i}", "images": [f"img/{i}.png"], "problem": "<image>How many?", "answer": "1"})
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_many_issues_print_one_line_per_kind_and_the_full_list_goes_to_a_file(tmp_path, capsys):
    path = _small_images_jsonl(tmp_path, 40)
    report = tmp_path / "issues.json"
    rc = main(["data", "validate", str(path), "--pixel-bounds", "warning", "--report", str(report)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "by kind" in out and "pixels_out_of_bounds" in out and "40" in out
    assert out.count("pixels_out_of_bounds") == 1 and "r39" not in out  # not one table row per warning
    assert str(report) in out.replace("\n", "")
    assert len(json.loads(report.read_text())["issues"]) == 40


def test_few_issues_keep_the_per_row_table(tmp_path, capsys):
    path = _small_images_jsonl(tmp_path, 3)
    assert main(["data", "validate", str(path), "--pixel-bounds", "warning"]) == 0
    out = capsys.readouterr().out
    assert out.count("pixels_out_of_bounds") == 3


def test_validate_with_a_model_checks_that_processors_pixel_bounds(tmp_path, tiny_qwen25vl_dir, capsys):
    (tmp_path / "big.png").write_bytes(png_bytes((300, 300)))  # 90,000 px: over the tiny model's 50,176
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "a", "images": ["big.png"], "problem": "<image>Q?", "answer": "1"}) + "\n")
    assert main(["data", "validate", str(path)]) == 0  # within Perception-R1's preset
    capsys.readouterr()
    assert main(["data", "validate", str(path), "--model", str(tiny_qwen25vl_dir), "--json"]) == 1
    issues = json.loads(capsys.readouterr().out)["issues"]
    assert [i["code"] for i in issues] == ["pixels_out_of_bounds"] and "50176" in issues[0]["reason"].replace(",", "")


def test_written_files_hold_no_internal_keys_or_empty_metadata(tmp_path):
    ex = Example(id="a", images=[png_bytes((60, 60))], problem="<image>Q?", answer="1",
                 metadata={"_image_paths": ["orig/a.png"], "unit": None, "task": "geometry"})
    out = write_examples([ex], tmp_path / "out.jsonl", format="jsonl")
    meta = json.loads(out.read_text().splitlines()[0])["metadata"]
    assert meta == {"task": "geometry"}
    pq = write_examples([ex], tmp_path / "out.parquet", format="perception_r1")
    import pyarrow.parquet as papq

    names = papq.read_schema(pq).names
    assert "unit" not in names and "_image_paths" not in names and "task" in names
    assert read_examples(out)[0].metadata == {"task": "geometry"}
