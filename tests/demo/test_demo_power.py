"""Power of the paired McNemar comparison: sizing and the minimum detectable effect agree."""

import pytest

from perceptrl.demo.power import minimum_detectable_effect, pairs_needed, power_table
from perceptrl.errors import PerceptrlError


def test_pairs_needed_matches_connor_formula():
    # Connor (1987): delta 0.05, discordant 0.2, alpha 0.05, power 0.8 -> ~626 pairs
    assert pairs_needed(0.05, 0.2) == 626
    assert pairs_needed(0.05, 0.1) < pairs_needed(0.05, 0.2) < pairs_needed(0.05, 0.3)
    assert pairs_needed(0.10, 0.2) < pairs_needed(0.05, 0.2)
    assert pairs_needed(0.05, 0.2, power=0.9) > pairs_needed(0.05, 0.2)


def test_mde_inverts_pairs_needed():
    for delta, psi in ((0.05, 0.2), (0.05, 0.3), (0.08, 0.15)):
        n = pairs_needed(delta, psi)
        assert minimum_detectable_effect(n, psi) == pytest.approx(delta, abs=2e-3)
        assert minimum_detectable_effect(4 * n, psi) < delta


def test_mde_is_nan_when_nothing_can_be_said():
    assert minimum_detectable_effect(0, 0.2) != minimum_detectable_effect(0, 0.2)
    assert minimum_detectable_effect(100, 0.0) != minimum_detectable_effect(100, 0.0)
    assert minimum_detectable_effect(3, 0.5) != minimum_detectable_effect(3, 0.5)  # too few pairs for any effect


def test_bad_inputs_are_errors():
    with pytest.raises(PerceptrlError, match="discordant"):
        pairs_needed(0.3, 0.2)
    with pytest.raises(PerceptrlError, match="alpha"):
        pairs_needed(0.05, 0.2, alpha=1.5)


def test_power_table_rows():
    rows = power_table((0.05,), (0.02, 0.2))
    assert rows == [{"delta": 0.05, "discordant": 0.2, "pairs": 626}]
