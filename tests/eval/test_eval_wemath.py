"""WeMath's four-dimensional metrics on a hand-made set of composite problems."""

import pytest

from perceptrl.eval.wemath import wemath_metrics


def _add(correct, gid, subs, multi):
    steps = len(subs)
    for i, ok in enumerate(subs, 1):
        correct[(gid, f"{steps}steps_{i}")] = ok
    correct[(gid, f"{steps}steps_multi")] = multi


def test_strict_and_loose_scores_by_hand():
    c = {}
    # composite problem               subs            multi   strict / loose class
    _add(c, "2steps_1", [True, True], True)  # CM / CM
    _add(c, "2steps_2", [True, False], True)  # RM / CM   (some sub right)
    _add(c, "2steps_3", [False, False], True)  # RM / RM   (no sub right)
    _add(c, "2steps_4", [True, True], False)  # IG
    _add(c, "2steps_5", [False, True], False)  # IK
    _add(c, "3steps_1", [True, True, True], False)  # IG
    _add(c, "3steps_2", [True, True, False], False)  # IK
    _add(c, "3steps_3", [True, True, True], True)  # CM / CM
    m = wemath_metrics(c)
    assert m["n_composite"] == 8 and m["incomplete"] == 0
    assert (m["IK"], m["IG"], m["CM_strict"], m["RM_strict"]) == (2, 2, 2, 2)
    assert (m["CM_loose"], m["RM_loose"]) == (3, 1)
    # strict: (N - 0.5 IG - RM - IK) / N = (8 - 1 - 2 - 2) / 8
    assert m["score_strict"] == pytest.approx(3 / 8)
    assert m["score_loose"] == pytest.approx((8 - 1 - 1 - 2) / 8)
    assert m["RM_strict_rate"] == pytest.approx(2 / 4)
    assert m["RM_loose_rate"] == pytest.approx(1 / 4)
    assert m["acc_two_step"] == pytest.approx(3 / 5)
    assert m["acc_three_step"] == pytest.approx(1 / 3)
    assert m["acc_one_step"] == pytest.approx(14 / 19)  # 6 of 10 two-step subs + 8 of 9 three-step subs


def test_full_testmini_shape_uses_525():
    """With testmini's 360 two-step + 165 three-step problems the denominator is 525, as hard-coded
    in the reference; all sub-problems right and 10 multi-step problems wrong → 10 IG."""
    c = {}
    for i in range(360):
        _add(c, f"2steps_{i}", [True, True], i >= 10)
    for i in range(165):
        _add(c, f"3steps_{i}", [True, True, True], True)
    m = wemath_metrics(c)
    assert m["n_composite"] == 525 and m["IG"] == 10
    assert m["score_strict"] == pytest.approx((525 - 0.5 * 10) / 525)


def test_incomplete_groups_are_left_out_and_counted():
    c = {("2steps_1", "2steps_1"): True, ("2steps_1", "2steps_multi"): True}  # 2steps_2 missing
    _add(c, "2steps_9", [True, True], True)
    m = wemath_metrics(c)
    assert m["n_composite"] == 1 and m["incomplete"] == 1 and m["score_strict"] == 1.0
