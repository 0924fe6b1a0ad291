"""Dataset statistics behind ``perceptrl data inspect``."""

from __future__ import annotations

from perceptrl.data.inspect import dataset_stats
from perceptrl.data.schema import Box, Example


def test_dataset_stats_counts_fields_and_annotations():
    rows = [
        Example("a", ["x.png"], "<image>Q?", "1", visual_annotations=["AB = 10", "CD = 4"], metadata={"cot": "c"}),
        Example("b", [b"\x89PNG", b"\x89PNG"], "<image><image>Longer question", "22", choices=["1", "2"]),
        Example("b", ["y.png"], "<image>Q", "3", boxes=[Box(0, 0, 1, 1)], caption="cap", visual_annotations=["x < y"]),
    ]
    s = dataset_stats(rows)
    assert s["rows"] == 3 and s["unique_ids"] == 2
    assert s["fields_present"] == {"images": 3, "choices": 1, "visual_annotations": 2, "boxes": 1, "caption": 1}
    assert s["images_per_row"] == {1: 2, 2: 1}
    assert s["image_sources"] == {"path": 2, "bytes": 2}
    assert s["annotations_per_row"] == {"min": 0, "mean": 1.0, "median": 1, "max": 2}
    assert s["annotation_chars"]["max"] == 7 and s["rows_without_annotations"] == 1
    assert s["metadata_keys"] == {"cot": 1}
    assert dataset_stats([])["rows"] == 0
