"""McNemar's exact test: Perception-R1's reported p-values, and the paired 2x2 table."""

import pytest

from perceptrl.eval.stats import mcnemar_exact, paired_mcnemar


@pytest.mark.parametrize(
    "b, c, reported, exact",
    [
        (1, 5, 0.22, 0.21875),  # RLVR without perception reward, model pair 1
        (2, 4, 0.69, 0.6875),  # model pair 2
        (2, 10, 0.04, 0.0386),  # with perception reward: significant
    ],
)
def test_mcnemar_reproduces_perception_r1(b, c, reported, exact):
    p = mcnemar_exact(b, c)
    assert round(p, 2) == reported
    assert p == pytest.approx(exact, abs=5e-5)
    assert mcnemar_exact(c, b) == p  # two-sided: symmetric


def test_mcnemar_edge_cases():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 10) == pytest.approx(2 * 0.5**10)
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


def test_paired_table_counts_only_shared_items():
    a = {"1": True, "2": True, "3": False, "4": False, "5": True, "only_a": True}
    b = {"1": True, "2": False, "3": True, "4": False, "5": False, "only_b": False}
    r = paired_mcnemar(a, b)
    assert (r.n, r.both_correct, r.a_only, r.b_only, r.both_wrong) == (5, 1, 2, 1, 1)
    assert r.acc_a == pytest.approx(3 / 5) and r.acc_b == pytest.approx(2 / 5)
    assert r.p_value == pytest.approx(mcnemar_exact(2, 1))
