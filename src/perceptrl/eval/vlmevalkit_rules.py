"""VLMEvalKit's rule checks, restated in our own code (protocol ``vlmevalkit``; issue 16).

VLMEvalKit (open-compass/VLMEvalKit) scores the math benchmarks rule-first, LLM second; the
verdict functions here follow its ``vlmeval/utils/matching_util.py`` (``can_infer``: option
letter, then option text) and the ``post_check`` functions of ``vlmeval/dataset/utils/mathvista.py``
and ``mathv.py``; :mod:`perceptrl.eval.harness_vlmevalkit` wires them into a scorer, and
``benchmarks/eval_parity_vlmevalkit.py`` runs VLMEvalKit's own functions against these on the same
responses. Quirks are reproduced on purpose (a harness-matching protocol must give the harness's
verdicts); each is listed in docs/eval-protocols.md, "Parity with VLMEvalKit".
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Mapping, Sequence
from typing import Any

from perceptrl.eval.scoring import item_options

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
API_FAILURE = "Failed to obtain answer via API"
# phrases after which VLMEvalKit takes the answer as "Z" (no option chosen)
_REFUSALS = ("Sorry, I can't help with images of people yet.", "I can't process this file.",
             "I'm sorry, but without the image provided", "Cannot determine the answer")
_PUNCT = str.maketrans({c: " " for c in ".()[],:;!*#{}"})
# "the (correct) answer is **B**": VLMEvalKit's fallback for verbose answers (letters A-D only)
_VERBOSE_RE = re.compile(r"(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**")


def choices_dict(options: Sequence[Any] | None) -> dict[str, str]:
    """``["3/11", "8/11"]`` → ``{"A": "3/11", "B": "8/11"}``."""
    return {LETTERS[i]: str(o) for i, o in enumerate(options or [])}


def infer_option(answer: str, choices: Mapping[str, str]) -> str | bool:
    """An option letter standing as a word near the end of ``answer`` (or ``"Z"``), else ``False``.

    Punctuation ``.()[],:;!*#{}`` becomes space; exactly one letter of the choices must stand as
    a word, among the last five words; a refusal, or a lone ``Z`` with no letter, reads ``"Z"``;
    last, "answer is B" anywhere."""
    if API_FAILURE in answer:
        return False
    if any(r in answer for r in _REFUSALS):
        return "Z"
    words = answer.translate(_PUNCT).split()
    found = [c for c in choices if c in words]
    if len(found) == 1:
        # the letter's first occurrence must be among the last five words
        if words.index(found[0]) > len(words) - 5:
            return found[0]
    elif not found and "Z" in words:
        return "Z"
    m = _VERBOSE_RE.search(answer or "")
    if m and m.group(1).upper() in choices:
        return m.group(1).upper()
    return False


def infer_text(answer: str, choices: Mapping[str, str]) -> str | bool:
    """The one option whose text (lower case) occurs in ``answer`` — only for answers at most twice
    as long as all option texts together — else ``False``."""
    answer = answer.lower()
    if len(answer) > 2 * sum(len(str(v)) for v in choices.values()):
        return False
    hits = [k for k, v in choices.items() if str(v).lower() in answer]
    return hits[0] if len(hits) == 1 else False


def can_infer(answer: Any, choices: Mapping[str, str]) -> str | bool:
    """VLMEvalKit's option matcher: a letter (:func:`infer_option`), else an option text."""
    answer = str(answer)
    return infer_option(answer, choices) or infer_text(answer, choices)


# ------------------------------------------------------------------------------ MathVista

def mathvista_check(response: Any, item: Mapping[str, Any]) -> Any:
    """VLMEvalKit's MathVista ``post_check``: the matched value, or ``False``.

    Multiple choice: :func:`can_infer` over the options (any letter it returns, right or wrong, is
    the match — it is then compared with the gold letter); integer: ``int()`` of both sides; float:
    ``float()`` of both, compared exactly (no precision rounding). Other answer types (lists) never
    match: VLMEvalKit compares ``str(None)`` with the gold there (a bug we reproduce)."""
    f = mathvista_item(item)
    if f["question_type"] == "multi_choice":
        return can_infer(response, choices_dict(f["options"]))
    try:
        if f["answer_type"] == "integer":
            res, ans = int(response), int(f["answer"])
        elif f["answer_type"] == "float":
            res, ans = float(response), float(f["answer"])
        else:
            res, ans = "None", str(f["answer"])
    except (TypeError, ValueError):
        return False
    return res if res == ans else False


def mathvista_correct(extraction: Any, item: Mapping[str, Any]) -> bool:
    """The final verdict on the extracted answer (``res``): the match equals the gold."""
    f = mathvista_item(item)
    match = mathvista_check(extraction, item)
    if f["question_type"] == "multi_choice":
        return match is not False and match == f["answer_option"]
    return match is not False


def mathvista_item(item: Mapping[str, Any]) -> dict[str, Any]:
    meta = item.get("metadata") or {}
    options = [str(o) for o in (meta.get("options") or item.get("choices") or [])]
    qtype = meta.get("question_type") or ("multi_choice" if options else "free_form")
    answer = item.get("answer")
    letter = meta.get("answer_option") or (LETTERS[options.index(str(answer))] if str(answer) in options else None)
    return {"question_type": qtype, "answer_type": meta.get("answer_type"), "options": options,
            "answer": answer, "answer_option": letter}


# ----------------------------------------------------------------------------- MathVision

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow, ast.BitXor: operator.xor,
           ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.LShift: operator.lshift, ast.RShift: operator.rshift}
_UNOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert, ast.Not: operator.not_}


def arithmetic(text: str, names: Mapping[str, Any] | None = None) -> Any:
    """What Python's ``eval`` gives for a numeric expression (``2/3``, ``2^3`` is XOR, ``1e3``),
    without evaluating anything else: calls, tuples, unknown names raise ``ValueError``.

    ``names``: the variables VLMEvalKit's ``eval`` happens to see. It calls ``eval`` inside its
    comparison function, so the function's own locals are in scope: an answer ``a`` (any answer
    ``A``, lower-cased) evaluates to the gold parsed just before, and counts as equal to every
    numeric gold. We reproduce that, since the protocol must give VLMEvalKit's verdicts."""
    scope = dict(names or {})

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex)):
            return node.value
        if isinstance(node, ast.Name) and node.id in scope:
            return scope[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > 1000:
                raise ValueError("exponent too large")  # VLMEvalKit's 30 s timeout would end it
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNOPS:
            return _UNOPS[type(node.op)](ev(node.operand))
        raise ValueError(f"not arithmetic: {type(node).__name__}")

    try:
        return ev(ast.parse(text.strip(), mode="eval"))
    except (SyntaxError, TypeError, ZeroDivisionError, OverflowError, RecursionError, MemoryError) as e:
        raise ValueError(str(e)) from e


def _close(a: Any, b: Any) -> bool:
    return bool(abs(a - b) < 1e-6)


def mathvision_equal(answer: Any, gold: Any) -> bool:
    """VLMEvalKit's MathVision ``is_equal``: equal after lower-casing and stripping; else both
    ``eval`` to numbers within 1e-6; else both parse as LaTeX (latex2sympy) to expressions whose
    printed forms ``eval`` to numbers within 1e-6, or whose difference is below 1e-6. The names in
    scope of each ``eval`` are those of VLMEvalKit's function at that point (see :func:`arithmetic`)."""
    asw, gt = str(answer).lower().strip(), str(gold).lower().strip()
    if asw == gt:
        return True
    scope: dict[str, Any] = {"asw": asw, "gt_asw": gt}
    try:
        a = arithmetic(gt, scope)
        scope["a"] = a
        if _close(a, arithmetic(asw, scope)):
            return True
    except (ValueError, TypeError):
        pass
    try:
        from latex2sympy2_extended import latex2sympy

        a, b = latex2sympy(gt), latex2sympy(asw)
        scope.update(a=a, b=b)
        if _close(arithmetic(str(a), scope), arithmetic(str(b), scope)):
            return True
        return _close(a, b)
    except Exception:  # noqa: BLE001 - VLMEvalKit counts any parse/compare failure as unequal
        return False


def mathvision_check(response: Any, item: Mapping[str, Any]) -> Any:
    """VLMEvalKit's MathVision ``post_check`` on the model's response (its "prefetch"): with
    options, whatever letter :func:`can_infer` finds (right or wrong); without, the whole response
    when it is :func:`mathvision_equal` to the gold; else ``False`` (the LLM must extract)."""
    options = item_options(item)
    if options:
        return can_infer(response, choices_dict(options))
    return str(response) if mathvision_equal(str(response), item.get("answer")) else False


def mathvision_correct(extraction: Any, item: Mapping[str, Any]) -> bool:
    """The final verdict on the extracted answer (``res``)."""
    options = item_options(item)
    res = can_infer(extraction, choices_dict(options)) if options else str(extraction)
    return mathvision_equal(res, item.get("answer"))


# --------------------------------------------------------------------- WeMath, LogicVista

_ANSWER_MARKS = re.compile(r"[><:.]")


def wemath_exact(response: str) -> str | None:
    """VLMEvalKit's WeMath rule without a judge (``exact_matching``): the text after the last
    ``Answer``, stripped of ``<>:.``; its first character if it is a letter A–H."""
    tail = _ANSWER_MARKS.sub("", str(response).split("Answer")[-1].strip()).strip()
    return tail[0] if tail and tail[0] in "ABCDEFGH" else None


def letter_set(text: str) -> str:
    """LogicVista: letters lower-cased and sorted (``"C, A"`` gold → ``"ac"``; reply ``"CA"`` → ``"ac"``)."""
    return "".join(sorted(x.lower() for x in text))


def logicvista_gold(answer: str) -> str:
    return "".join(sorted(p.lower() for p in str(answer).split(", ")))
