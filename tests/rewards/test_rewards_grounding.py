import pytest

from perceptrl.data.schema import Box, Example
from perceptrl.rewards.grounding import hungarian_iou, make_iou_reward, parse_boxes, union_iou
from bounds import LINEAR_SCAN_S


def test_parse_boxes_formats():
    assert parse_boxes('<answer>{"bbox_2d": [10, 20, 30, 40], "label": "cat"}</answer>') == [(10, 20, 30, 40)]
    assert parse_boxes("(1,2),(3,4)") == [(1, 2, 3, 4)]
    assert parse_boxes("[5, 5, 5, 9]") == []  # degenerate
    assert parse_boxes("[30, 40, 10, 20]") == [(10, 20, 30, 40)]


def test_union_iou_exact():
    gold = [(0, 0, 20, 10)]
    assert union_iou([(0, 0, 10, 10), (10, 0, 20, 10)], gold) == pytest.approx(1.0)
    assert union_iou([(0, 0, 10, 10)], gold) == pytest.approx(0.5)
    # overlapping predicted boxes are not double counted
    assert union_iou([(0, 0, 10, 10), (5, 0, 10, 10)], gold) == pytest.approx(0.5)
    assert union_iou([], gold) == 0.0


def test_hungarian_penalises_missing_and_extra():
    gold = [(0, 0, 10, 10), (20, 20, 30, 30)]
    assert hungarian_iou([(20, 20, 30, 30), (0, 0, 10, 10)], gold) == pytest.approx(1.0)
    assert hungarian_iou([(0, 0, 10, 10)], gold) == pytest.approx(0.5)
    assert hungarian_iou(gold + [(50, 50, 60, 60)], gold) == pytest.approx(2 / 3)


def test_resized_coordinates_are_mapped_back():
    ex = Example(id="1", images=[], problem="<image>where?", answer="", boxes=[Box(100, 100, 200, 200)],
                 metadata={"original_size": [1000, 800], "resized_size": [500, 400]})
    row = ex.to_row()
    resp = "<answer>[50, 50, 100, 100]</answer>"  # in the 500x400 image the model saw
    assert make_iou_reward("hungarian")(resp, row) == pytest.approx(1.0)
    assert make_iou_reward("union", coords="original")(resp, row) == pytest.approx(0.0)
    assert make_iou_reward("union")("<answer>[500, 500, 1000, 1000]</answer>",
                                    {**row, "resized_size": None}) is not None
    norm = {**row, "original_size": [1000, 1000]}
    assert make_iou_reward("union", coords="norm1000")("(100,100),(200,200)", norm) == pytest.approx(1.0)


def test_not_applicable_without_gold_and_no_prediction():
    fn = make_iou_reward()
    assert fn("[1,2,3,4]", {"boxes": []}) is None
    assert fn("", {"boxes": [{"x0": 0, "y0": 0, "x1": 1, "y1": 1}]}) == 0.0


def test_200kb_and_empty_responses():
    import time

    row = {"boxes": [{"x0": 0, "y0": 0, "x1": 10, "y1": 10}]}
    big = "[0, 0, 10, 10] " * 15_000  # 225 KB, 15,000 boxes: only max_boxes are read
    t = time.perf_counter()
    assert make_iou_reward("hungarian", coords="original")(big, row) == pytest.approx(1 / 100)
    assert make_iou_reward("union", coords="original")(big, row) == pytest.approx(1.0)
    assert time.perf_counter() - t < LINEAR_SCAN_S
    assert make_iou_reward()("", row) == 0.0
