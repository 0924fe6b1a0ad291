"""Held-out results by chart group: the split and the warm-chart McNemar, checked by hand on a small set."""

from perceptrl.demo.groups import by_group, chart_group, render
from perceptrl.synth import generate
from perceptrl.synth.teacher import BIASED_COLORS


def _eval(examples, correct, hits):
    return {"ids": [e.id for e in examples], "correct": correct, "fact_hits": hits}


def test_by_group_pools_cells_and_tests_warm_facts():
    exs = generate(40, seed=5, kinds=("chart",))
    groups = [chart_group(e) for e in exs]
    assert all(g.split("/")[0] == ("warm" if e.metadata["scene"]["color"] in BIASED_COLORS else "cool")
               for g, e in zip(groups, exs))
    warm = _eval(exs, [0] * 40, [[0, 0]] * 40)
    # the arm gets every warm-chart fact right and nothing else
    arm = _eval(exs, [int(g.startswith("warm")) for g in groups],
                [[1, 1] if g.startswith("warm") else [0, 0] for g in groups])
    out = by_group({5: exs}, {5: warm}, {(5, "a"): arm}, ["a"])
    n_warm = sum(g.startswith("warm") for g in groups)
    for g, cols in out["table"].items():
        assert cols["warm_start"]["n"] == groups.count(g)
        assert cols["a"]["perception"] == (1.0 if g.startswith("warm") else 0.0)
        assert cols["warm_start"]["accuracy"] == 0.0
    t = out["warm_facts_vs_warm_start"]["a"]
    assert t["n"] == 2 * n_warm and t["diff"] == 1.0
    assert t["p"] == 2 * 0.5 ** (2 * n_warm)  # exact McNemar: every discordant pair one way
    text = "\n".join(render(out, ["a"]))
    assert "warm/sum" in text or "warm/difference" in text
    assert "100.0%" in text


def test_teacher_colours_name_the_warm_group():
    exs = generate(40, seed=5, kinds=("chart",))
    from perceptrl.synth.draw import COLORS

    assert all(chart_group(e, tuple(COLORS)).startswith("warm/") for e in exs)
    blue = [chart_group(e, ("blue",)) for e in exs]
    assert all(g.startswith("warm/") == (e.metadata["scene"]["color"] == "blue") for g, e in zip(blue, exs))
