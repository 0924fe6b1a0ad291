"""perceptrl.data.hub: the one path-vs-hub-id rule, split picking and offline error, shared by the
data readers, the benchmark loader and the model loader."""

from __future__ import annotations

import datasets
import pytest
from data_fixtures import png_bytes
from datasets import Dataset, DatasetDict, Image as HFImage

from perceptrl.data import hub
from perceptrl.data.io import read_examples
from perceptrl.errors import PerceptrlError


@pytest.mark.parametrize("name, is_path", [
    ("AI4Math/MathVista", False), ("gpt2", False), ("Qwen/Qwen2.5-VL-3B-Instruct", False),
    ("./data", True), ("/abs/x", True), ("~/x", True), ("a/b/c", True), ("a\\b", True),
    ("rows.jsonl", True), ("org/name.parquet", True),
])
def test_looks_like_path(name, is_path):
    assert hub.looks_like_path(name) is is_path


def test_an_existing_name_is_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "org" / "model").mkdir(parents=True)
    assert hub.looks_like_path("org/model")


def test_every_loader_uses_the_one_implementation():
    """The twins stay gone: eval's benchmark loader, the hf reader, data.io and the model loader
    read these decisions from :mod:`perceptrl.data.hub` and keep no copy of their own."""
    from perceptrl.data import io
    from perceptrl.data.formats import hf
    from perceptrl.eval import sources
    from perceptrl.models import loading

    assert io.looks_like_path is sources.looks_like_path is loading.looks_like_path is hub.looks_like_path
    assert hf.load_hub is sources.load_hub is hub.load_hub and hf.pick_split is hub.pick_split
    assert io.is_saved_dataset is hf.is_saved_dataset is sources.is_saved_dataset is hub.is_saved_dataset
    for mod in (io, hf, sources, loading):
        assert not {"_looks_like_path", "_pick_split", "_cached", "is_offline", "_undecoded"} & set(vars(mod)), mod
    assert set(sources.DATA_SUFFIXES) <= set(hub.SUFFIX_BUILDERS) and not hasattr(io, "DATA_SUFFIXES")


@pytest.fixture
def two_splits(tmp_path):
    ds = Dataset.from_list([{"id": "1", "images": [{"bytes": png_bytes(), "path": None}], "problem": "<image>Q",
                             "answer": "3"}]).cast_column("images", datasets.List(HFImage()))
    DatasetDict({"testmini": ds, "test": ds}).save_to_disk(str(tmp_path / "saved"))
    return tmp_path / "saved"


def test_the_data_reader_and_the_benchmark_loader_pick_splits_alike(two_splits):
    from perceptrl.eval.sources import load_rows

    for read in (lambda s: read_examples(two_splits, split=s), lambda s: load_rows(str(two_splits), split=s)):
        with pytest.raises(PerceptrlError, match="split 'val' not found") as e:
            read("val")
        assert "testmini, test" in e.value.render()
        with pytest.raises(PerceptrlError, match="several splits: testmini, test"):
            read(None)
    assert len(load_rows(str(two_splits), split="test")) == 1


def test_benchmark_rows_are_read_undecoded_without_touching_the_copy(two_splits):
    """The benchmark loader now reads images as the data reader does: undecoded, through an
    iterable view (casting the column wrote ``cache-*.arrow`` files into the user's folder)."""
    from perceptrl.eval.sources import load_rows

    before = sorted(p.name for p in two_splits.rglob("*"))
    (row,) = list(load_rows(str(two_splits), split="test"))
    assert row["images"] == [{"bytes": png_bytes(), "path": None}]
    assert sorted(p.name for p in two_splits.rglob("*")) == before


def test_offline_uncached_hub_id_names_the_local_copy_fix():
    with pytest.raises(PerceptrlError) as e:
        hub.load_hub("perceptrl-test/not-cached", "test", offline=True, how="--bench NAME=DIR")
    msg = e.value.render()
    assert "not in the local cache" in msg and "--local-dir" in msg and "--bench NAME=DIR" in msg
