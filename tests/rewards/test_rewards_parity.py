"""Parity with the published Perception-R1 reward (METHODS.md §1) on a fixed corpus.

The reference is re-implemented here from its published description, with the reference code's
own regexes:

    r = 0.9·r_acc + 0.1·r_fmt + 0.7·r_v + r_rep

* r_fmt: ``re.fullmatch(r"^<think>\\n.*?\\n</think>\\n<answer>\\n.*?\\\\boxed{.+?}.*?\\n</answer>$", s, re.DOTALL)``
  on the raw response;
* r_acc: the answer is ``re.search(r"<answer>(.*?)</answer>", s)`` (first block, no DOTALL),
  stripped, else the whole response; ``verify(parse(gold), parse(answer))`` (gold in ``$…$``);
* r_rep: lower-cased whitespace words, 20-grams, −2.0·(1 − unique/total), 0 under 20 words.

Every corpus case must agree with perceptrl's ``perception_r1_no_judge`` preset on each of
r_acc, r_fmt, r_rep and the total — except the cases marked with an intended difference, which
must differ (on the component named), and whose id must be listed in docs/rewards.md.
(r_v is the judge's: see the judge tests; the preset's weights are checked below.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perceptrl.rewards.runner import RewardRunner

ROOT = Path(__file__).resolve().parents[2]

_REF_FORMAT = re.compile(r"^<think>\n.*?\n</think>\n<answer>\n.*?\\boxed{.+?}.*?\n</answer>$", re.DOTALL)
_REF_ANSWER = re.compile(r"<answer>(.*?)</answer>")


def ref_format(s: str) -> float:
    return 1.0 if _REF_FORMAT.fullmatch(s) else 0.0


def ref_accuracy(s: str, gold: str) -> float:
    from math_verify import parse, verify

    m = _REF_ANSWER.search(s)
    given = m.group(1).strip() if m else s.strip()
    try:
        return 1.0 if verify(parse("$" + gold.strip() + "$"), parse(given)) else 0.0
    except Exception:
        return 0.0


def ref_repetition(s: str) -> float:
    words = s.lower().split()
    if len(words) < 20:
        return 0.0
    grams = [tuple(words[i : i + 20]) for i in range(len(words) - 19)]
    return -2.0 * (1 - len(set(grams)) / len(grams))


def ref_total(s: str, gold: str) -> dict[str, float]:
    acc, fmt, rep = ref_accuracy(s, gold), ref_format(s), ref_repetition(s)
    return {"accuracy": acc, "format": fmt, "repetition": rep, "total": 0.9 * acc + 0.1 * fmt + rep}


def S(think: str, answer: str) -> str:
    """The strict reference shape."""
    return f"<think>\n{think}\n</think>\n<answer>\n{answer}\n</answer>"


T = "From the figure, AB = 10 and DE = 4, which fixes x."
REPEAT = " ".join(["so the value stays the same and we repeat the same step again"] * 6)
UNIQUE = " ".join(f"step{i} holds" for i in range(40))

# (case id, response, gold, intended difference id or None, components that differ)
CORPUS: list[tuple[str, str, str, str | None, tuple[str, ...]]] = [
    # --- agreement: well-formed responses
    ("strict-correct", S(T, "\\boxed{3}"), "3", None, ()),
    ("strict-wrong", S(T, "\\boxed{5}"), "3", None, ()),
    ("strict-sentence", S(T, "The answer is $\\boxed{3}$."), "3", None, ()),
    ("strict-frac", S(T, "\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}", None, ()),
    ("strict-frac-decimal", S(T, "\\boxed{0.5}"), "\\frac{1}{2}", None, ()),
    ("strict-sqrt", S(T, "\\boxed{2\\sqrt{3}}"), "2\\sqrt{3}", None, ()),
    ("strict-sqrt-equiv", S(T, "\\boxed{\\sqrt{12}}"), "2\\sqrt{3}", None, ()),
    ("strict-degrees", S(T, "\\boxed{60^\\circ}"), "60", None, ()),
    ("strict-pi", S(T, "\\boxed{4\\pi}"), "4\\pi", None, ()),
    ("strict-negative", S(T, "\\boxed{-7}"), "-7", None, ()),
    ("strict-decimal", S(T, "\\boxed{2.50}"), "2.5", None, ()),
    ("strict-equation", S(T, "\\boxed{x=3}"), "3", None, ()),
    ("strict-nested-groups", S(T, "\\boxed{\\frac{\\sqrt{2}}{2}}"), "\\frac{\\sqrt{2}}{2}", None, ()),
    ("strict-two-boxes-same", S(T, "\\boxed{3} so \\boxed{3}"), "3", None, ()),
    ("strict-empty-think", S("", "\\boxed{3}"), "3", None, ()),
    ("strict-doubled-backslash", S(T, "\\\\boxed{3}"), "3", None, ()),
    ("strict-escaped-braces", S(T, "\\boxed{\\{1, 2\\}}"), "\\{1, 2\\}", None, ()),
    ("strict-long-think", S(UNIQUE, "\\boxed{3}"), "3", None, ()),
    ("strict-unicode", S("∠ABC = 40°, so x = 3", "\\boxed{3}"), "3", None, ()),
    # --- agreement: format failures both reject
    ("shared-newline", "<think>\n</think>\n<answer>\n\\boxed{3}\n</answer>", "3", None, ()),
    ("no-newline-after-think", f"<think>{T}\n</think>\n<answer>\n\\boxed{{3}}\n</answer>", "3", None, ()),
    ("no-newline-before-close", f"<think>\n{T}\n</think>\n<answer>\n\\boxed{{3}}</answer>", "3", None, ()),
    ("space-between-blocks", f"<think>\n{T}\n</think> <answer>\n\\boxed{{3}}\n</answer>", "3", None, ()),
    ("empty-box", S(T, "\\boxed{}"), "3", None, ()),
    ("no-box", S(T, "3"), "3", None, ()),
    ("spaced-box", S(T, "\\boxed {3}"), "3", "lenient-box-reading", ("accuracy", "total")),
    ("braceless-box", S(T, "\\boxed 3"), "3", None, ()),
    ("fbox", S(T, "\\fbox{3}"), "3", "lenient-box-reading", ("accuracy", "total")),
    ("answer-before-think", f"<answer>\n\\boxed{{3}}\n</answer>\n<think>\n{T}\n</think>", "3", None, ()),
    ("no-think", "<answer>\n\\boxed{3}\n</answer>", "3", None, ()),
    ("loose-tags", f"<think>{T}</think> <answer>\\boxed{{3}}</answer>", "3", None, ()),
    ("text-after-answer", S(T, "\\boxed{3}") + " Hope this helps.", "3", None, ()),
    ("truncated-answer", f"<think>\n{T}\n</think>\n<answer>\n\\boxed{{3", "3", None, ()),
    # --- agreement: no tags
    ("untagged-box", f"{T} So the answer is \\boxed{{3}}.", "3", None, ()),
    ("untagged-box-wrong", f"{T} So the answer is \\boxed{{4}}.", "3", None, ()),
    ("untagged-phrase", "So the final answer is 42.", "42", None, ()),
    ("untagged-prose", "Looking at the figure, x equals 3", "3", None, ()),
    ("untagged-prose-is", "Looking at the figure, x is 3", "3", None, ()),
    ("untagged-prose-wrong", "Looking at the figure, x equals 4", "3", None, ()),
    ("untagged-inline-math", "Therefore $x = 3$.", "3", None, ()),
    ("empty", "", "3", None, ()),
    ("whitespace-only", "   \n  ", "3", None, ()),
    ("just-number", "3", "3", None, ()),
    ("one-line-answer-block", f"{T} <answer>3</answer>", "3", None, ()),
    ("one-line-answer-block-wrong", f"{T} <answer>5</answer>", "3", None, ()),
    # --- agreement: repetition
    ("repetitive-strict", S(REPEAT, "\\boxed{3}"), "3", None, ()),
    ("repetitive-wrong", S(REPEAT, "\\boxed{7}"), "3", None, ()),
    ("repetitive-untagged", REPEAT + " \\boxed{3}", "3", None, ()),
    ("nineteen-words", S(" ".join(["same"] * 19), "\\boxed{3}"), "3", None, ()),
    ("twenty-one-same-words", S(" ".join(["same"] * 21), "\\boxed{3}"), "3", None, ()),
    ("case-folded-repeat", S(" ".join(["Same", "SAME", "same"] * 20), "\\boxed{3}"), "3", None, ()),
    ("code-like-answer", S(T, "\\boxed{__import__('os').system('true')}"), "0", None, ()),
    # --- intended differences (each listed in docs/rewards.md)
    ("multiline-answer", S("a first guess is \\boxed{5}", "Therefore\nthe area is 12"), "12",
     "multiline-answer", ("accuracy", "total")),
    ("multiline-empty-box", S("so x = 3", "\\boxed{}"), "3", "multiline-answer", ("accuracy", "total")),
    ("last-answer-block", f"<answer>5</answer> no wait <answer>12</answer>", "12",
     "last-answer-block", ("accuracy", "total")),
    ("choice-letter", S(T, "\\boxed{B. 8/11}"), "B", "choice-letter", ("accuracy", "total")),
    ("bare-latex-answer", f"{T} <answer>2\\sqrt{{3}}</answer>", "2\\sqrt{3}", "bare-latex-answer", ("accuracy", "total")),
    ("surrounding-whitespace", S(T, "\\boxed{3}") + "\n", "3", "format-whitespace", ("format", "total")),
    ("leading-whitespace", "  " + S(T, "\\boxed{3}"), "3", "format-whitespace", ("format", "total")),
    ("tags-twice", S(T + " <think> again", "\\boxed{3}"), "3", "tags-once", ("format", "total")),
    ("two-strict-blocks", S(T, "\\boxed{3}") + "\n" + S(T, "\\boxed{3}"), "3", "tags-once", ("format", "total")),
    ("blank-box", S(T, "\\boxed{ } so 3"), "3", "blank-box", ("format", "total")),
    ("unbalanced-box", S(T, "\\boxed{\\frac{1}{2}"), "\\frac{1}{2}", "unbalanced-box", ("format", "total")),
    ("deep-nesting", S(T, "\\boxed{" + "{" * 9 + "3" + "}" * 9 + "}"), "3", "deep-nesting", ("accuracy", "total")),
    ("over-cap", S(" ".join(f"fact{i} holds" for i in range(7_000)), "\\boxed{3}"), "3", "over-cap",
     ("format", "repetition", "total")),
    ("hedge-two-boxes", S(T, "\\boxed{3} or maybe \\boxed{5}"), "5", "last-box", ("accuracy", "total")),
    ("hedge-two-boxes-first", S(T, "\\boxed{3} or maybe \\boxed{5}"), "3", None, ()),
]


def test_corpus_is_big_and_named_uniquely():
    assert len(CORPUS) >= 50
    assert len({c[0] for c in CORPUS}) == len(CORPUS)


@pytest.fixture(scope="module")
def ours():
    with RewardRunner("perception_r1_no_judge", workers=0) as r:
        out = r.score([c[1] for c in CORPUS], [{"id": c[0], "answer": c[2]} for c in CORPUS])
    return {
        case[0]: {**{k: v[i] for k, v in out.components.items()}, "total": out.total[i]}
        for i, case in enumerate(CORPUS)
    }


@pytest.mark.parametrize("case", CORPUS, ids=[c[0] for c in CORPUS])
def test_agrees_with_the_published_reward_except_where_intended(case, ours):
    name, response, gold, diff, differing = case
    ref, got = ref_total(response, gold), ours[name]
    for k in ("accuracy", "format", "repetition", "total"):
        same = got[k] == pytest.approx(ref[k], abs=1e-9)
        if k in differing:
            assert not same, f"{name}: intended difference {diff!r} on {k} no longer differs ({got[k]} vs {ref[k]})"
        else:
            assert same, f"{name}: {k} is {got[k]}, the published reward gives {ref[k]}"


def test_every_intended_difference_is_documented():
    docs = (ROOT / "docs" / "rewards.md").read_text(encoding="utf-8")
    section = re.split(r"\n#{2,3} ", docs.split("### Intended differences from the reference", 1)[1], maxsplit=1)[0]
    listed = set(re.findall(r"^\| `([a-z-]+)` \|", section, re.M))
    used = {c[3] for c in CORPUS if c[3]}
    assert used <= listed, f"undocumented: {sorted(used - listed)}"
    assert listed == used, f"documented but not in the corpus: {sorted(listed - used)}"


def test_preset_weights_are_the_published_formula():
    from perceptrl.judge import JudgeConfig, build_perception_reward
    from perceptrl.rewards.hybrid import build_hybrid

    judge = build_perception_reward(JudgeConfig(backend="rules", cache_path=None))
    h = build_hybrid("perception_r1", perception=judge)
    assert [(t.name, t.weight, t.gate) for t in h.terms] == [
        ("accuracy", 0.9, None), ("format", 0.1, None), ("perception", 0.7, None), ("repetition", 1.0, None)
    ]
