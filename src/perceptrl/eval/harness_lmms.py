"""Scoring that reproduces lmms-eval 0.7.3 item by item (protocol ``lmms_eval``; issue 16).

Researchers report lmms-eval numbers, and the harness alone moves them by points, so a trainer
needs a protocol whose per-item verdicts are lmms-eval's, quirks included. This module restates,
in our own code, what lmms-eval's task files do (``tasks/mathvista/mathvista_evals.py`` and
``utils.py``; ``tasks/_task_utils/reasoning_utils.py``, used by ``mathverse_testmini_reasoning``).
``benchmarks/eval_parity.py`` runs their functions and these on the same responses.

**MathVista** (tasks ``mathvista_testmini_*``):

1. rule check on the *whole* stripped response: it is one of the option texts (multiple choice);
   it is an integer literal (``answer_type`` integer: Python ``int()``); a float literal (float);
2. otherwise an LLM extracts the answer from a few-shot prompt (hint, question, model response,
   "Extracted answer:"); lmms-eval asks GPT-4o, we ask the judge client (any OpenAI-compatible
   server). Without a judge the item is unresolved and counted wrong (lmms-eval gets ``""`` when
   its API fails and then picks the option nearest to ``""``: we do not reproduce that);
3. normalisation: multiple choice takes the first ``(x)`` letter, maps a letter to its option,
   else picks the option of least edit distance (Levenshtein; the first on ties); integers are
   ``str(int(float(x)))`` — so ``2.5`` counts as ``2`` (a quirk our own protocol does not share);
   floats ``str(round(float(x), precision))``; lists stay text;
4. verdict: the normalised prediction equals the gold as text (``str(...).strip()``).

**MathVerse and the other reasoning tasks** (``compute_score`` of the reasoning tasks):

1. the answer: the *first* ``<answer>…</answer>``, else the last ``\\boxed{}`` (brace-matched),
   else the number ending the last line that ends in one;
2. a trailing period is dropped; if the gold reads as an option letter (their letter parser, which
   also reads ``Area =…`` as ``A``), the prediction's letter must equal it; else a relaxed match
   (one string contains the other and is at least 90 % of its length), then equality;
3. math-verify ``parse``/``verify`` on the raw strings (no ``\\boxed{}`` wrapping);
4. with a judge (lmms-eval's ``USE_LLM_JUDGE=True``), a 0 is sent to the judge with the question,
   the gold and the prediction, which replies 1 or 0; if the response had no recognised format and
   is under 500 characters, the whole response is judged too.

The default ``mathverse_testmini`` task scores every response with a GPT judge only, no rules;
that is the ``greedy_judge`` protocol here, and parity with it is parity of judges.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from perceptrl.eval.harness_lmms_reasoning import has_answer_format, reasoning_rules

log = logging.getLogger(__name__)

HARNESS = "lmms-eval 0.7.3"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# ------------------------------------------------------------------------- prompts (template)

#: Template name of lmms-eval's prompts (``--template lmms_eval``, the ``lmms_eval`` protocol's default).
TEMPLATE = "lmms_eval"
# MathVista's own hint sentences (they are also inside the benchmark's ``query`` field); lmms-eval's
# step-by-step prompt puts the question, the choices, then the hint.
MATHVISTA_HINTS = {
    "multi_choice": "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.",
    "integer": "Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3, at the end.",
    ("float", 1): "Hint: Please answer the question requiring a floating-point number with one decimal place and provide the final value, e.g., 1.2, 1.3, 1.4, at the end.",
    ("float", 2): "Hint: Please answer the question requiring a floating-point number with two decimal places and provide the final value, e.g., 1.23, 1.34, 1.45, at the end.",
    "list": "Hint: Please answer the question requiring a Python list as an answer and provide the final list, e.g., [1, 2, 3], [1.2, 1.3, 1.4], at the end.",
}
#: What the template hash of ``lmms_eval`` covers (a change here changes the hash).
TEMPLATE_SPEC = "lmms-eval 0.7.3 prompts: mathvista step-by-step (question, unit, choices, hint); mathverse query_wo\n" + \
    "\n".join(f"{k}: {v}" for k, v in MATHVISTA_HINTS.items())


def harness_problem(bench: str, problem: str, metadata: Mapping[str, Any]) -> str:
    """The text lmms-eval's task gives the model for one item (zero-shot), from our item fields.

    MathVista (``shot_type: step-by-step``): ``Question: …`` (`` (Unit: …)``), ``Choices:`` with
    ``(A) …`` lines, then the hint of the answer type. MathVerse (``query_type: query_wo``): the
    benchmark's ``query_wo``. Other benchmarks, or items loaded without those fields: ``problem``."""
    base = bench.split(":")[0]
    if base == "mathvista" and metadata.get("question"):
        qtype, atype = metadata.get("question_type"), metadata.get("answer_type")
        key = "multi_choice" if qtype == "multi_choice" else (atype, metadata.get("precision")) if atype == "float" else atype
        hint = MATHVISTA_HINTS.get(key)
        if hint is None:  # lmms-eval has no hint for it either (its prompt builder fails there)
            return problem
        text = f"Question: {metadata['question']}" + (f" (Unit: {metadata['unit']})" if metadata.get("unit") else "")
        opts = metadata.get("options") or []
        parts = [text]
        if opts:
            parts.append("Choices:\n" + "\n".join(f"({_LETTERS[i]}) {o}" for i, o in enumerate(opts)))
        return "\n".join([*parts, hint])
    if base == "mathverse" and metadata.get("query_wo"):
        return str(metadata["query_wo"])
    return problem


# ----------------------------------------------------------------------------- MathVista

# Our own few-shot extraction prompt, in the structure lmms-eval uses: an instruction, worked
# examples of (hint, question, model response, extracted answer), then the item.
EXTRACT_INSTRUCTION = (
    "Read the examples below, then extract the final answer from the last model response and write "
    "it after the last \"Extracted answer:\"."
)
EXTRACT_EXAMPLES = (
    ("Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3, at the end.",
     "Question: How many apples are on the table?",
     "Model response: I can count three red apples and two green ones, so five apples in total.",
     "5"),
    ("Hint: Please answer the question requiring a floating-point number with one decimal place and provide the final value, e.g., 1.2, 1.3, 1.4, at the end.",
     "Question: What is the length of the blue bar?",
     "Model response: The blue bar ends between the 2 and 3 ticks, at about 2.4.",
     "2.4"),
    ("Hint: Please answer the question requiring a floating-point number with two decimal places and provide the final value, e.g., 1.23, 1.34, 1.45, at the end.",
     "Question: How much do a pencil and an eraser cost together? (Unit: $)",
     "Model response: The pencil costs $0.75 and the eraser $0.50, which makes $1.25.",
     "1.25"),
    ("Hint: Please answer the question requiring a Python list as an answer and provide the final list, e.g., [1, 2, 3], [1.2, 1.3, 1.4], at the end.",
     "Question: In which two months was the rainfall the same?",
     "Model response: The bars for months 3 and 7 have equal height.",
     "[3, 7]"),
    ("Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.",
     "Question: Which shape has the most sides?\nChoices:\n(A) triangle\n(B) square\n(C) hexagon\n(D) pentagon",
     "Model response: A hexagon has six sides, more than the others, so the answer is (C).",
     "C"),
)


def extraction_prompt(query: str, response: str) -> str:
    """The LLM extraction prompt of one item (``query``: the benchmark's query text)."""
    shots = "\n\n".join(f"{h}\n{q}\n\n{r}\n\nExtracted answer: {a}" for h, q, r, a in EXTRACT_EXAMPLES)
    return f"{EXTRACT_INSTRUCTION}\n\n{shots}\n\n{query}\n\n{response}\n\nExtracted answer: "


def mathvista_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields lmms-eval's MathVista scoring reads, from one of our item records."""
    meta = item.get("metadata") or {}
    choices = meta.get("options") or item.get("choices") or []
    qtype = meta.get("question_type") or ("multi_choice" if choices else "free_form")
    return {
        "question_type": qtype,
        "answer_type": meta.get("answer_type") or ("text" if qtype == "multi_choice" else None),
        "choices": [str(c) for c in choices],
        "precision": meta.get("precision"),
        "query": str(item.get("problem") or ""),
        "answer": item.get("answer"),
    }


def mathvista_rule_extract(response: str, f: Mapping[str, Any]) -> str | None:
    """Step 1: the extraction decided without an LLM, or ``None`` (the LLM must extract)."""
    if not response:
        return ""
    if f["question_type"] == "multi_choice" and response in f["choices"]:
        return response
    if f["answer_type"] == "integer":
        try:
            return str(int(response))
        except ValueError:
            pass
    if f["answer_type"] == "float":
        try:
            return str(float(response))
        except ValueError:
            pass
    return None


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute: cost 1). Small strings only (options)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def mathvista_normalize(extraction: Any, f: Mapping[str, Any]) -> str | None:
    """Step 3: the prediction compared with the gold (``None``: not a number where one is needed)."""
    choices, atype = f["choices"], f["answer_type"]
    if f["question_type"] == "multi_choice":
        text = extraction.strip() if isinstance(extraction, str) else str(extraction)
        paren = re.findall(r"\(([a-zA-Z])\)", text)
        if paren:
            text = paren[0].upper()
        letters = [_LETTERS[i] for i in range(len(choices))]
        if text in letters:
            return choices[letters.index(text)]
        dists = [edit_distance(text, c) for c in choices]
        return choices[dists.index(min(dists))]
    if atype == "integer":
        try:
            return str(int(float(extraction)))
        except (TypeError, ValueError, OverflowError):
            return None
    if atype == "float":
        try:
            return str(round(float(extraction), f["precision"]))
        except (TypeError, ValueError, OverflowError):
            return None
    if atype == "list":
        return str(extraction)
    return extraction


def mathvista_verdict(prediction: Any, answer: Any) -> bool:
    return answer is not None and str(prediction).strip() == str(answer).strip()


# --------------------------------------------------------------------------------- the scorer

JUDGE_TEMPLATE = (
    "You check whether a model's answer to a question is correct. Reply 1 if it is fully correct and 0 "
    "otherwise.\n\nQuestion:\n```\n{question}\n```\n\nGround truth answer:\n```\n{answer}\n```\n\n"
    "Model prediction:\n```\n{prediction}\n```\n\nRules: for multiple choice, the option letter or the "
    "option's content both count. For open questions the prediction must mean the same as the ground "
    "truth, in any format; partly correct answers, or answers with extra wrong content, score 0. Ignore "
    "small differences of formatting, case and spacing. Numbers may differ within reasonable precision. "
    "Where a unit is asked for, value and unit must both be right.\n\nReply with 1 or 0 only."
)


def _judge_int(reply: str) -> int:
    try:
        return int(reply.strip())
    except ValueError:
        return 0


class LmmsEvalScorer:
    """Per-item verdicts as lmms-eval 0.7.3 gives them (see the module docstring).

    ``client``: a :class:`perceptrl.judge.client.ChatClient` (or anything with an async
    ``complete(messages, **params)``) for MathVista's LLM extraction and the reasoning tasks'
    judge; ``None`` scores with the rules alone. ``extract``: instead of the client, a function
    ``(prompt, response, item) -> str`` (the parity benchmark gives both harnesses the same one).
    """

    name = "lmms_eval"

    #: sampling settings of the two LLM calls (lmms-eval's: greedy, 256 tokens to extract, 5 to judge)
    params = {"temperature": 0.0, "max_tokens_extract": 256, "max_tokens_judge": 5}

    def __init__(self, client=None, *, extract=None, judge=None):
        self.client = client
        self.extract = extract
        self.judge = judge

    async def _ask(self, prompt: str, max_tokens: int) -> str:
        reply = await self.client.complete([{"role": "user", "content": prompt}], temperature=self.params["temperature"],
                                           max_tokens=max_tokens)
        return (reply or "").strip()

    async def _mathvista(self, response: str, item: Mapping[str, Any]) -> dict[str, Any]:
        f = mathvista_fields(item)
        response = (response or "").strip()
        extraction = mathvista_rule_extract(response, f)
        how = "rule"
        if extraction is None:
            prompt = extraction_prompt(f["query"], response)
            if self.extract is not None:
                extraction, how = self.extract(prompt, response, item), "llm"
            elif self.client is not None:
                try:
                    extraction, how = await self._ask(prompt, self.params["max_tokens_extract"]), "llm"
                except Exception as e:  # noqa: BLE001 - the client already retried
                    log.warning("lmms_eval extraction failed for item %s: %s", item.get("id"), e)
                    return {"correct": False, "pred": None, "extracted_by": "unresolved", "judge_error": str(e)}
            else:
                return {"correct": False, "pred": None, "extracted_by": "unresolved"}
        pred = mathvista_normalize(extraction, f)
        return {"correct": mathvista_verdict(pred, f["answer"]), "pred": pred, "extraction": extraction,
                "extracted_by": how}

    async def _reasoning(self, response: str, item: Mapping[str, Any]) -> dict[str, Any]:
        response = (response or "").strip()
        gold = str(item.get("answer"))
        ok, pred = reasoning_rules(response, gold)
        out = {"correct": ok, "pred": pred, "extracted_by": "rule"}
        if ok or (self.client is None and self.judge is None):
            return out
        question = str(item.get("problem") or "")
        tries = [pred]
        if has_answer_format(response) == 0.0 and len(response) < 500:
            tries.append(response)
        for what in tries:
            prompt = JUDGE_TEMPLATE.format(question=question, answer=gold, prediction=what)
            if self.judge is not None:
                reply = self.judge(prompt, what, item)
            else:
                try:
                    reply = await self._ask(prompt, self.params["max_tokens_judge"])
                except Exception as e:  # noqa: BLE001
                    return {**out, "judge_error": str(e)}
            if _judge_int(reply) == 1:
                return {**out, "correct": True, "extracted_by": "judge"}
        return {**out, "extracted_by": "judge"}

    async def ascore_one(self, response: str, item: Mapping[str, Any]) -> dict[str, Any]:
        bench = str((item.get("metadata") or {}).get("bench") or item.get("bench") or "")
        if bench.split(":")[0] == "mathvista":
            return await self._mathvista(response, item)
        return await self._reasoning(response, item)

    async def ascore(self, responses: Sequence[str], items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(self.ascore_one(r, it) for r, it in zip(responses, items))))

    def score(self, responses: Sequence[str], items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return asyncio.run(self.ascore(responses, items))
