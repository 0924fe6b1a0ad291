"""Readers/writers: a round trip per format, auto-detection, Hugging Face datasets (local, offline)."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from data_fixtures import jpeg_bytes, png_bytes
from datasets import Dataset, DatasetDict, Image as HFImage, List
from PIL import Image

from perceptrl.data.images import read_image_bytes
from perceptrl.data.io import detect_format, read_examples, write_examples
from perceptrl.data.prompt import build_messages
from perceptrl.data.schema import Box, Example
from perceptrl.errors import PerceptrlError

ANNOTATIONS = [
    r"GE = 10, and $\angle GED = 90^\circ$",
    "AB < CD while EF > 3\nso DE = EF",
    r"$\frac{a}{b} < 1$ <b>kept</b>",
]


def _perception_r1_parquet(path: Path, with_id: bool = False) -> Path:
    rows = [
        {
            "images": [{"bytes": png_bytes(), "path": "geo_0.png"}],
            "problem": "<image>Find $x$ if $AB < CD$.",
            "answer": "2\\sqrt{3}",
            "visual_key_info": "\n".join(f"<info{i}>{a}</info{i}>" for i, a in enumerate(ANNOTATIONS, 1)),
            "source": "geometry3k",
            "difficulty": 3,
            "tags": ["circle", "chord"],
            "score": None,
        },
        {
            "images": [{"bytes": jpeg_bytes(), "path": None}, {"bytes": png_bytes((80, 40)), "path": "b.png"}],
            "problem": "Compare <image> and <image>.",
            "answer": "A",
            "visual_key_info": "<info1> spaced </info1>  <info2>two</info2>",  # non-canonical spacing
            "source": "mathverse",
            "difficulty": None,
            "tags": [],
            "score": 0.5,
        },
        {
            "images": [{"bytes": png_bytes(), "path": None}],
            "problem": "<image>No annotations here.",
            "answer": "7",
            "visual_key_info": "<info1>broken</info2>",  # malformed: must survive untouched
            "source": "x",
            "difficulty": 1,
            "tags": ["a"],
            "score": 1.0,
        },
        {
            "images": [{"bytes": png_bytes(), "path": None}],
            "problem": "<image>Empty annotation string.",
            "answer": "8",
            "visual_key_info": "",
            "source": None,
            "difficulty": 2,
            "tags": None,
            "score": 2.0,
        },
        {
            "images": [{"bytes": png_bytes(), "path": None}],
            "problem": "<image>Null annotation.",
            "answer": "9",
            "visual_key_info": None,
            "source": "y",
            "difficulty": 2,
            "tags": ["b"],
            "score": None,
        },
    ]
    if with_id:
        for i, r in enumerate(rows):
            r["id"] = 100 + i
    ds = Dataset.from_list(rows).cast_column("images", List(HFImage()))
    ds.to_parquet(str(path))
    return path


def _canon(ex: Example) -> dict:
    """Everything an example carries, images as their encoded bytes."""
    return {
        "id": ex.id,
        "images": [read_image_bytes(s, ex.root) for s in ex.images],
        "problem": ex.problem,
        "answer": ex.answer,
        "choices": ex.choices,
        "visual_annotations": ex.visual_annotations,
        "boxes": ex.boxes,
        "caption": ex.caption,
        "metadata": {k: v for k, v in ex.metadata.items() if k != "_image_paths"},
    }


def _rich_examples(tmp_path: Path) -> list[Example]:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "p.png").write_bytes(png_bytes((90, 70)))
    return [
        Example(
            id="count-0001",
            images=["p.png"],
            problem="<image>How many circles? Is $a<b$?",
            answer="3",
            choices=["2", "3", "4"],
            visual_annotations=ANNOTATIONS,
            boxes=[Box(1, 2, 30, 40, label="circle", image_index=0)],
            caption="three red circles",
            metadata={"precision": 1, "question_type": "multi_choice", "cot": "<think>…</think>"},
            root=str(tmp_path / "src"),
        ),
        Example(
            id="chart-0002",
            images=[jpeg_bytes(), png_bytes((50, 60))],
            problem="Bars <image> vs <image>",
            answer="12.5",
            metadata={"precision": 2, "question_type": "free_form", "cot": "c"},
        ),
    ]


def test_perception_r1_parquet_round_trip_preserves_every_field(tmp_path):
    src = _perception_r1_parquet(tmp_path / "train.parquet")
    assert detect_format(src) == "perception_r1"
    examples = read_examples(src)
    assert [e.id for e in examples] == ["0", "1", "2", "3", "4"]
    assert examples[0].visual_annotations == ANNOTATIONS
    assert examples[1].visual_annotations == ["spaced", "two"]
    assert examples[2].visual_annotations == []  # malformed: validation reports it
    assert examples[0].metadata["tags"] == ["circle", "chord"]
    out = write_examples(examples, tmp_path / "out.parquet", format="perception_r1")
    before, after = pq.read_table(src), pq.read_table(out)
    assert after.column_names == before.column_names  # no id column invented
    assert after.to_pylist() == before.to_pylist()  # bytes, paths, annotations, extras: all equal
    # what EasyR1 sees: ``images`` decodes to PIL images through datasets
    loaded = datasets.load_dataset("parquet", data_files=str(out), split="train")
    assert isinstance(loaded[1]["images"][1], Image.Image) and loaded[1]["images"][1].size == (80, 40)


def test_perception_r1_keeps_typed_ids_and_reformats_edited_annotations(tmp_path):
    src = _perception_r1_parquet(tmp_path / "train.parquet", with_id=True)
    examples = read_examples(src)
    assert [e.id for e in examples] == ["100", "101", "102", "103", "104"]
    out = write_examples(examples, tmp_path / "same.parquet")
    assert pq.read_table(out).to_pylist() == pq.read_table(src).to_pylist()  # int ids stay ints
    examples[1].visual_annotations = ["edited < 3"]
    examples[2].visual_annotations = ["fixed"]
    rows = pq.read_table(write_examples(examples, tmp_path / "edited.parquet")).to_pylist()
    assert rows[1]["visual_key_info"] == "<info1>edited < 3</info1>"
    assert rows[2]["visual_key_info"] == "<info1>fixed</info1>"


def test_perception_r1_image_paths_relative_to_the_parquet(tmp_path):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_bytes(png_bytes())
    pq.write_table(
        __import__("pyarrow").table({"images": [["imgs/a.png"]], "problem": ["<image>?"], "answer": ["1"]}),
        tmp_path / "paths.parquet",
    )
    (ex,) = read_examples(tmp_path / "paths.parquet")
    assert ex.images == ["imgs/a.png"] and ex.root == str(tmp_path.resolve())
    assert read_image_bytes(ex.images[0], ex.root) == png_bytes()
    (row,) = pq.read_table(write_examples([ex], tmp_path / "embedded.parquet")).to_pylist()
    assert row["images"] == [{"bytes": png_bytes(), "path": "a.png"}]


def test_hub_style_folder_of_shards_needs_a_split(tmp_path):
    data = tmp_path / "geometry3k" / "data"
    data.mkdir(parents=True)
    for split, answer in (("train", "1"), ("test", "2")):
        ex = Example(split, [png_bytes()], "<image>?", answer)
        write_examples([ex], data / f"{split}-00000-of-00001.parquet")
    with pytest.raises(PerceptrlError, match="several splits: test, train"):
        read_examples(tmp_path / "geometry3k")
    assert [e.answer for e in read_examples(tmp_path / "geometry3k", split="test")] == ["2"]


def test_missing_required_column_is_a_clear_error(tmp_path):
    Dataset.from_list([{"question": "q", "answer": "a"}]).to_parquet(str(tmp_path / "x.parquet"))
    with pytest.raises(PerceptrlError, match="missing column"):
        read_examples(tmp_path / "x.parquet", format="perception_r1")
    with pytest.raises(PerceptrlError, match="no such file"):
        read_examples(tmp_path / "nope.parquet", format="perception_r1")


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("jsonl", "out/data.jsonl"), ("trl", "out.parquet"), ("trl", "out.jsonl"), ("trl", "trl_disk"), ("hf", "hf_disk"), ("perception_r1", "pr1.parquet")],
)
def test_round_trip_per_format(tmp_path, fmt, name):
    examples = _rich_examples(tmp_path)
    path = write_examples(examples, tmp_path / name, format=fmt)
    assert detect_format(path) == fmt
    back = read_examples(path)
    if fmt == "perception_r1":  # ids are not row indices, so an id column is written
        assert [e.id for e in back] == ["count-0001", "chart-0002"]
    for a, b in zip(examples, back, strict=True):
        ca, cb = _canon(a), _canon(b)
        for meta_key in set(cb["metadata"]) - set(ca["metadata"]):  # columns other rows carry
            assert cb["metadata"].pop(meta_key) is None
        assert ca == cb


def test_trl_rows_are_what_grpo_trainer_consumes(tmp_path):
    examples = _rich_examples(tmp_path)
    path = write_examples(examples, tmp_path / "t.parquet", format="trl", template="perception_r1")
    ds = datasets.load_dataset("parquet", data_files=str(path), split="train")
    row = ds[0]
    assert {"prompt", "images", "solution"} <= set(ds.column_names)
    assert isinstance(row["images"][0], Image.Image)
    expected = build_messages(examples[0], "perception_r1")
    parts = row["prompt"][0]["content"]
    assert [p["type"] for p in parts] == [p["type"] for p in expected[0]["content"]]
    assert parts[1]["text"] == expected[0]["content"][1]["text"]
    assert row["solution"] == "3"


def test_trl_rows_written_by_others(tmp_path):
    rows = [
        {
            "prompt": [
                {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
                {"role": "user", "content": [{"type": "image", "text": None}, {"type": "text", "text": "Count the dots."}]},
            ],
            "image": {"bytes": png_bytes(), "path": None},
            "solution": "4",
        }
    ]
    ds = Dataset.from_list(rows).cast_column("image", HFImage())
    ds.to_parquet(str(tmp_path / "trl.parquet"))
    assert detect_format(tmp_path / "trl.parquet") == "trl"
    (ex,) = read_examples(tmp_path / "trl.parquet")
    assert ex.problem == "<image>Count the dots."
    assert ex.answer == "4" and ex.images == [png_bytes()]
    assert ex.metadata["system_prompt"] == "Be brief."
    (row,) = pq.read_table(write_examples([ex], tmp_path / "again.parquet", format="trl")).to_pylist()
    assert row["prompt"][0] == {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
    assert [p["type"] for p in row["prompt"][1]["content"]] == ["image", "text"]


def test_jsonl_images_copied_verbatim_and_variants_read(tmp_path):
    examples = _rich_examples(tmp_path)
    path = write_examples(examples, tmp_path / "j" / "data.jsonl", format="jsonl")
    first = json.loads(path.read_text().splitlines()[0])
    assert first["images"] == ["images/count-0001_0.png"]
    assert (path.parent / first["images"][0]).read_bytes() == (tmp_path / "src" / "p.png").read_bytes()
    # another project's JSONL: single ``image``, ``question``/``solution``, a visual_key_info string
    (tmp_path / "other.jsonl").write_text(
        json.dumps({"image": "j/images/count-0001_0.png", "question": "<image>Q", "solution": "5",
                    "visual_key_info": "<info1>a < b</info1>", "extra": {"k": 1}}) + "\n"
    )
    (ex,) = read_examples(tmp_path / "other.jsonl")
    assert (ex.id, ex.problem, ex.answer, ex.visual_annotations) == ("0", "<image>Q", "5", ["a < b"])
    assert ex.metadata == {"extra": {"k": 1}}
    assert read_image_bytes(ex.images[0], ex.root) == (tmp_path / "src" / "p.png").read_bytes()


def test_hf_local_dataset_with_column_mapping_and_splits(tmp_path):
    rows = [
        {"pid": "7", "question": "What is the value?", "query": "Hint: ... What is the value?",
         "decoded_image": {"bytes": png_bytes(), "path": None}, "answer": "12", "choices": None,
         "unit": "cm", "precision": 1.0, "question_type": "free_form"},
    ]
    ds = Dataset.from_list(rows).cast_column("decoded_image", HFImage())
    DatasetDict({"testmini": ds, "test": ds}).save_to_disk(str(tmp_path / "mathvista"))
    assert detect_format(tmp_path / "mathvista") == "hf"
    with pytest.raises(PerceptrlError, match="several splits"):
        read_examples(tmp_path / "mathvista")
    (ex,) = read_examples(tmp_path / "mathvista", split="testmini", column_mapping={"problem": "query"})
    assert (ex.id, ex.problem, ex.answer) == ("7", "Hint: ... What is the value?", "12")
    assert ex.images == [png_bytes()]
    assert ex.metadata["unit"] == "cm" and ex.metadata["question"] == "What is the value?"
    assert ex.to_row()["precision"] == 1.0
    with pytest.raises(PerceptrlError, match="not in the data"):
        read_examples(tmp_path / "mathvista", split="test", column_mapping={"problem": "nope"})


def test_uncached_hub_id_offline_says_so_and_how_to_fix(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(PerceptrlError) as err:
        read_examples("perceptrl-test/definitely-not-cached", split="test")
    msg = str(err.value)
    assert "not in the local cache" in msg and "local copy" in msg and "--local-dir" in msg


def test_reading_a_saved_dataset_with_image_lists_leaves_its_folder_untouched(tmp_path):
    # regression: casting a list-of-Image column to decode=False wrote cache-*.arrow files into it
    ds = Dataset.from_list([{"images": [{"bytes": png_bytes(), "path": None}], "problem": "<image>Q", "answer": "3"}])
    ds = ds.cast_column("images", datasets.List(HFImage()))
    ds.save_to_disk(str(tmp_path / "saved"))
    before = sorted(p.name for p in (tmp_path / "saved").iterdir())
    (ex,) = read_examples(tmp_path / "saved")
    assert ex.images == [png_bytes()] and ex.answer == "3"
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == before


def _binary_prompt_trl_parquet(path: Path) -> Path:
    """TRL rows whose whole ``prompt`` column is binary (every string in it bytes)."""
    import pyarrow as pa

    from perceptrl.data.encoding import _text_as_binary

    rows = [{"prompt": [{"role": "user", "content": [{"type": "image", "text": None}, {"type": "text", "text": "Combien ?"}]}],
             "images": [{"bytes": png_bytes(), "path": None}], "solution": "4"}]
    table = pa.Table.from_pylist(rows)
    schema = table.schema.set(0, table.schema.field(0).with_type(_text_as_binary(table.schema.field(0).type)))
    pq.write_table(table.cast(schema), path)
    return path


def test_binary_text_columns_are_decoded_and_marked_by_every_reader(tmp_path):
    """Never the text "b'...'": the bytes are decoded and the row carries the mark validation reports."""
    import pyarrow as pa

    from perceptrl.data.formats._rows import BINARY_TEXT_KEY
    from perceptrl.data.validate import validate_examples

    pq.write_table(pa.table({
        "images": pa.array([[{"bytes": png_bytes(), "path": "a.png"}]]),
        "problem": pa.array(["<image>Combien ?".encode()], pa.binary()),
        "answer": pa.array([b"4"], pa.binary()),
        "choices": pa.array([[b"4", b"5"]], pa.list_(pa.binary())),
        "visual_key_info": pa.array([b"<info1>AB = 10</info1>"], pa.binary()),
    }), tmp_path / "pr1.parquet")
    for path, fmt in ((tmp_path / "pr1.parquet", "perception_r1"), (tmp_path / "pr1.parquet", "hf")):
        (ex,) = read_examples(path, fmt)
        assert (ex.problem, ex.answer, ex.choices, ex.visual_annotations) == ("<image>Combien ?", "4", ["4", "5"], ["AB = 10"]), fmt
        assert set(ex.metadata[BINARY_TEXT_KEY]) == {"problem", "answer", "choices[0]", "choices[1]", "visual_key_info"}
        codes = {(i.field, i.code) for i in validate_examples([ex]).errors}
        assert ("problem", "binary_text") in codes and ("visual_key_info", "binary_text") in codes
        back = write_examples([ex], tmp_path / f"back_{fmt}.parquet")  # written as text, without the mark
        assert pq.read_schema(back).field("problem").type == pa.string()
        assert BINARY_TEXT_KEY not in pq.read_schema(back).names

    (ex,) = read_examples(_binary_prompt_trl_parquet(tmp_path / "trl.parquet"))
    assert ex.problem == "<image>Combien ?" and ex.metadata[BINARY_TEXT_KEY] == {"problem": ["prompt", None]}


def test_jsonl_reader_names_an_unpaired_surrogate(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "a", "images": [], "problem": "ok \\ud83d\\ude00", "answer": "1"}\n'
                    '{"id": "b", "images": [], "problem": "bad \\ud800", "answer": "1"}\n', encoding="utf-8")
    with pytest.raises(PerceptrlError, match="unpaired surrogate") as e:
        read_examples(path)
    assert e.value.where == f"{path}:2"
    (tmp_path / "d.json").write_text('[{"id": "b", "images": [], "problem": "bad \\udc00", "answer": "1"}]', encoding="utf-8")
    with pytest.raises(PerceptrlError, match="row 0"):
        read_examples(tmp_path / "d.json")


def test_image_files_never_overwrite_other_bytes(tmp_path):
    """Writing beside the input must not replace the input's images (--fix writes repaired bytes)."""
    (tmp_path / "images").mkdir()
    original = png_bytes(color=(1, 2, 3))
    (tmp_path / "images" / "a_0.png").write_bytes(original)  # the input's image, same name
    repaired = Example("a", [png_bytes(color=(9, 9, 9))], "<image>x", "1", root=str(tmp_path))
    out = write_examples([repaired], tmp_path / "out.jsonl", format="jsonl")
    assert json.loads(out.read_text())["images"] == ["images/a_0-1.png"]
    assert (tmp_path / "images" / "a_0.png").read_bytes() == original
    assert (tmp_path / "images" / "a_0-1.png").read_bytes() == png_bytes(color=(9, 9, 9))
    again = write_examples([repaired], tmp_path / "out.jsonl", format="jsonl")  # idempotent: same bytes reused
    assert json.loads(again.read_text())["images"] == ["images/a_0-1.png"]
    same = Example("a", [original], "<image>x", "1", root=str(tmp_path))
    assert json.loads(write_examples([same], tmp_path / "o2.jsonl", format="jsonl").read_text())["images"] == ["images/a_0.png"]
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["a_0-1.png", "a_0.png"]


@pytest.mark.parametrize("fmt", ["jsonl", "trl"])
def test_a_json_file_is_written_as_the_list_the_reader_expects(tmp_path, fmt):
    """Both writers used to write JSON Lines into a ``.json`` file, which the reader then refused."""
    examples = [Example("a", [png_bytes()], "<image>x", "1"), Example("b", [png_bytes(color=(1, 1, 1))], "<image>y", "2")]
    path = write_examples(examples, tmp_path / "out.json", format=fmt)
    assert [r["id"] for r in json.loads(path.read_text())] == ["a", "b"]
    assert [(e.id, e.problem, e.answer) for e in read_examples(path)] == [("a", "<image>x", "1"), ("b", "<image>y", "2")]
