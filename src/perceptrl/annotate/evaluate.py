"""Stage-1 fidelity: synthetic chains of thought whose facts are known, and extraction metrics.

:func:`synthetic_chains` writes, for synthetic problems (:mod:`perceptrl.synth`), one chain of
thought each in one of three styles — ``verbatim`` (the generator's own chain: every fact as
``name = value``), ``words`` (every fact paraphrased: "Bar A is 3 tall.", "∠B = 40°.", then the
arithmetic), ``mixed`` (half and half) — and gives a share of them a wrong final answer, so that
the answer check has something to drop. The true facts are kept in ``metadata["gold_facts"]``.

:func:`score_extraction` compares the facts stage 1 extracted with the gold facts **after
normalisation** (:func:`fact_matches`): an extracted fact matches a gold fact when the rules judge
(:func:`perceptrl.judge.rules.judge_rules`: lower case, ``∠``/``^\\circ``/"degrees" folded, numbers
compared numerically with their unit) finds the gold fact stated in it, or when it names the gold
fact's object, no other object of the problem, and no number but the gold value. Precision = matched
extracted facts / extracted facts; recall = gold facts of kept problems found / gold facts of kept
problems; kept share = problems kept / problems whose chain has the right answer (the answer check
should keep all of those and none of the others).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from perceptrl.judge.rules import judge_rules, normalize

STYLES = ("verbatim", "words", "mixed")


def _words(fact: str, rng: random.Random) -> str:
    from perceptrl.judge.fidelity.cases import _facts_of, _state

    f = _facts_of([fact])[0]
    return _state(f, f.value, rng, paraphrase=True)


def synthetic_chains(n: int = 60, *, seed: int = 0, wrong_share: float = 0.15) -> list:
    """``n`` synthetic examples with a chain of thought in ``metadata["cot"]`` (see module docstring)."""
    from dataclasses import replace

    from perceptrl.synth import generate

    rng = random.Random(f"perceptrl.annotate.evaluate:{seed}")
    out = []
    for i, ex in enumerate(generate(n, seed=seed, difficulty=1 + (seed % 3))):
        style = STYLES[i % len(STYLES)]
        facts = list(ex.visual_annotations)
        lines = []
        for k, fact in enumerate(facts):
            spoken = style == "words" or (style == "mixed" and k % 2 == 1)
            lines.append(_words(fact, rng) if spoken else fact)
        wrong = rng.random() < wrong_share
        answer = int(ex.answer) + (rng.choice([-2, -1, 1, 2]) if wrong else 0)
        cot = ("<think>\n" + "\n".join(lines) + "\n" + f"Combining these values gives {answer}.\n</think>\n"
               f"<answer>\n\\boxed{{{answer}}}\n</answer>")
        md = dict(ex.metadata, cot=cot, cot_style=style, cot_correct=not wrong, gold_facts=facts)
        out.append(replace(ex, metadata=md))
    return out


@dataclass
class ExtractionReport:
    problems: int
    correct_chains: int  # chains whose final answer is right
    passed: int  # problems whose chain passed the answer check
    passed_correct: int  # ... and was right
    kept: int  # problems written with at least one fact
    extracted: int  # facts extracted from the chains that passed
    extracted_matched: int
    gold: int  # gold facts of the problems that passed
    gold_found: int
    errors: int = 0  # rows that failed on requests

    @property
    def precision(self) -> float:
        return self.extracted_matched / self.extracted if self.extracted else float("nan")

    @property
    def recall(self) -> float:
        return self.gold_found / self.gold if self.gold else float("nan")

    @property
    def passed_share(self) -> float:
        """Share of all problems kept by the answer check."""
        return self.passed / self.problems if self.problems else float("nan")

    @property
    def wrongly_passed(self) -> int:
        return self.passed - self.passed_correct

    def lines(self) -> list[str]:
        return [
            f"problems {self.problems}: chains with the right answer {self.correct_chains}, kept by the answer check "
            f"{self.passed} ({100 * self.passed_share:.1f} %; {self.wrongly_passed} with a wrong answer, "
            f"{self.correct_chains - self.passed_correct} right ones dropped), written with facts {self.kept}, "
            f"request errors {self.errors}",
            f"extracted {self.extracted} facts, {self.extracted_matched} match a true fact "
            f"(precision {100 * self.precision:.1f} %); true facts found {self.gold_found}/{self.gold} "
            f"(recall {100 * self.recall:.1f} %)",
        ]


def _subject(gold: str) -> str:
    """The object a synthetic fact is about: ``bar a``, ``red circle``, ``ab``, ``angle abc``."""
    lhs = normalize(gold).split("=", 1)[0].strip()
    for prefix in ("height of ", "number on the "):
        if lhs.startswith(prefix):
            return lhs[len(prefix):]
    return lhs


def fact_matches(extracted: str, gold: str, subjects: Sequence[str] = ()) -> bool:
    """Does the extracted fact state the gold fact (after normalisation)?

    Either the rules judge finds the gold fact in it (``∠ABC = 40 degrees`` states
    ``angle ABC = 40°``), or it names the gold fact's object and no other object of the problem
    (``subjects``: the objects of all its gold facts) and its only number is the gold value
    (``bar A is 2 tall`` states ``height of bar A = 2``; ``bar B is 2 taller than bar A`` states
    nothing)."""
    if judge_rules([gold], extracted)[0]:
        return True
    text = normalize(extracted)
    named = [s for s in set(subjects) | {_subject(gold)}
             if re.search(r"(?<![a-z0-9])" + re.escape(s) + r"(?![a-z0-9])", text)]
    value = normalize(gold).split("=", 1)[1].strip().rstrip("°")
    return named == [_subject(gold)] and re.findall(r"\d+(?:\.\d+)?", text) in ([value], [value + ".0"])


def score_extraction(examples: Sequence, records: dict[str, dict]) -> ExtractionReport:
    """``records``: problem id → its progress record (``status``, ``cots_verified``, ``annotations``,
    as :class:`~perceptrl.annotate.pipeline.RowResult` writes them)."""
    r = ExtractionReport(len(examples), 0, 0, 0, 0, 0, 0, 0, 0)
    for ex in examples:
        gold = list(ex.metadata["gold_facts"])
        correct = bool(ex.metadata.get("cot_correct", True))
        r.correct_chains += correct
        rec = records.get(str(ex.id)) or {"status": "error"}
        if rec["status"] == "error":
            r.errors += 1
            continue
        if not rec.get("cots_verified"):
            continue
        r.passed += 1
        r.passed_correct += correct
        facts = list(rec.get("annotations") or [])
        r.kept += rec["status"] == "kept"
        r.extracted += len(facts)
        subjects = [_subject(g) for g in gold]
        r.extracted_matched += sum(any(fact_matches(f, g, subjects) for g in gold) for f in facts)
        r.gold += len(gold)
        r.gold_found += sum(any(fact_matches(f, g, subjects) for f in facts) for g in gold)
    return r
