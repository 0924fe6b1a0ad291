"""Text-only predictors: how far the question text and options alone get, without the image.

The synthetic world is meant to make perception the bottleneck: without the shortcut, no rule that
reads only the text should beat a guess by much; with it, a simple rule should always find the
answer. These predictors are fitted on one set of problems (the gold answers are visible there)
and scored on another, and :func:`text_only_accuracy` reports each one's accuracy:

* ``letter`` — the most frequent gold letter per question template;
* ``value_prior`` — the option whose value was most often the gold answer for the template;
* ``option_pattern`` — the most frequent gold value for the same template *and* the same set of
  option values (falls back to ``value_prior`` for a set not seen in fitting);
* ``in_range`` — the shortcut rule: the option whose value lies between the smallest and the
  largest gold value seen for the template (the range the question's answers take); when several
  options do, ``value_prior`` among them;
* ``open_majority`` — for open problems, the most frequent gold answer per template.

A *template* is the question with the names of the objects masked (``bar _``, ``the _ _``), so
"the sum of bar A and bar C" and "the sum of bar B and bar D" share one.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from perceptrl.data.schema import IMAGE_PLACEHOLDER, Example
from perceptrl.synth.draw import COLORS
from perceptrl.synth.shapes import SHAPES

_NAME_RE = re.compile(r"\b(?:[A-D]|" + "|".join(sorted(COLORS) + list(SHAPES)) + r")\b")


def template(example: Example) -> str:
    """The question text with object names masked."""
    return _NAME_RE.sub("_", example.problem.replace(IMAGE_PLACEHOLDER, "")).strip()


def _value(example: Example) -> str:
    """The gold answer as a value (the gold option's text for multiple choice)."""
    if example.choices:
        return example.choices["ABCD".index(example.answer)]
    return example.answer


class _Fitted:
    def __init__(self, train: Sequence[Example]):
        self.letters: dict[str, Counter] = defaultdict(Counter)
        self.values: dict[str, Counter] = defaultdict(Counter)
        self.patterns: dict[tuple, Counter] = defaultdict(Counter)
        for ex in train:
            t = template(ex)
            self.values[t][_value(ex)] += 1
            if ex.choices:
                self.letters[t][ex.answer] += 1
                self.patterns[(t, tuple(sorted(ex.choices)))][_value(ex)] += 1

    def _best_option(self, t: str, options: Sequence[str]) -> str:
        freq = self.values[t]
        return max(options, key=lambda v: freq[v])  # first of the best on ties (max is stable)

    def _in_range(self, t: str, option: str) -> bool:
        seen = [int(v) for v in self.values[t] if re.fullmatch(r"-?\d+", v)]
        return bool(seen) and re.fullmatch(r"-?\d+", option) is not None and min(seen) <= int(option) <= max(seen)

    def predict(self, ex: Example, rule: str) -> str:
        """A predicted answer in the example's own form (a letter for multiple choice)."""
        t = template(ex)
        if not ex.choices:
            common = self.values[t].most_common(1)
            return common[0][0] if common else ""
        opts = list(ex.choices)
        if rule == "letter":
            common = self.letters[t].most_common(1)
            return common[0][0] if common else "A"
        if rule == "value_prior":
            value = self._best_option(t, opts)
        elif rule == "option_pattern":
            seen = self.patterns.get((t, tuple(sorted(opts))))
            value = seen.most_common(1)[0][0] if seen else self._best_option(t, opts)
        elif rule == "in_range":
            inside = [v for v in opts if self._in_range(t, v)]
            value = self._best_option(t, inside or opts)
        else:
            raise ValueError(f"unknown text-only rule {rule!r}")
        return "ABCD"[opts.index(value)]


CHOICE_RULES = ("letter", "value_prior", "option_pattern", "in_range")


def text_only_accuracy(train: Sequence[Example], test: Sequence[Example]) -> dict[str, float]:
    """Accuracy of each text-only rule fitted on ``train`` and scored on ``test``.

    Multiple-choice test problems are scored with :data:`CHOICE_RULES`, open ones with
    ``open_majority``; a rule with no test problem of its form is left out.
    """
    fitted = _Fitted(train)
    choice = [ex for ex in test if ex.choices]
    open_ = [ex for ex in test if not ex.choices]
    out: dict[str, float] = {}
    if choice:
        for rule in CHOICE_RULES:
            out[rule] = sum(fitted.predict(ex, rule) == ex.answer for ex in choice) / len(choice)
    if open_:
        out["open_majority"] = sum(fitted.predict(ex, "open") == ex.answer for ex in open_) / len(open_)
    return out
