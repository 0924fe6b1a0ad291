"""The harness-matching protocols (``lmms_eval``, ``vlmevalkit``; issue 16) in one table: their
scorer class, prompt template (name → how an item's problem is rewritten, and the text the
template hash covers). The runner and :mod:`perceptrl.eval.provenance` look them up here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

ProblemFn = Callable[[str, str, Mapping[str, Any], Sequence[str] | None], str]


def _lmms():
    from perceptrl.eval import harness_lmms as h

    return h.LmmsEvalScorer, h.TEMPLATE, (lambda bench, problem, meta, choices: h.harness_problem(bench, problem, meta)), \
        h.TEMPLATE_SPEC


def _vlmevalkit():
    from perceptrl.eval import harness_vlmevalkit as h

    return h.VlmEvalKitScorer, h.TEMPLATE, h.harness_problem, h.TEMPLATE_SPEC


#: protocol scorer name → loader of (scorer class, template name, problem rewrite, template spec)
HARNESSES = {"lmms_eval": _lmms, "vlmevalkit": _vlmevalkit}


def harness_scorer(scorer: str, judge: Any):
    """The scorer of a harness protocol, built on ``judge``'s client (or ``judge`` itself when it is
    already that scorer, as the parity tests pass it)."""
    cls = HARNESSES[scorer]()[0]
    return judge if isinstance(judge, cls) else cls(getattr(judge, "client", judge))


def harness_template(template: str | None) -> tuple[ProblemFn, str] | None:
    """``(problem rewrite, template spec)`` of a harness template name, else ``None``."""
    for load in HARNESSES.values():
        _, name, fn, spec = load()
        if name == template:
            return fn, spec
    return None
