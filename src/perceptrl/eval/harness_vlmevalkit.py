"""Scoring that reproduces VLMEvalKit item by item (protocol ``vlmevalkit``; issue 16).

VLMEvalKit's math benchmarks (``vlmeval/dataset/image_vqa.py``: ``MathVista``, ``MathVerse``,
``MathVision``, ``LogicVista``; ``image_mcq.py``: ``WeMath``) score a response in two stages: a rule
check, then an LLM (GPT-4o-mini by default, any OpenAI-compatible server with ``LOCAL_LLM`` /
``--judge-base-url``). The rules are in :mod:`perceptrl.eval.vlmevalkit_rules`; this module
holds the LLM prompts (their structure, our own words and examples), the prompt template and
the scorer:

* **MathVista / MathVision**: the rule check on the whole response (option letter or text; an
  ``int``/``float`` literal equal to the gold; MathVision: equal after ``eval``/LaTeX); if it finds
  nothing, the LLM extracts an answer (few-shot: hint, question, response, "Extracted answer:");
  the verdict is the rule check on that extraction.
* **MathVerse**: the LLM always extracts first (few-shot, six examples); the extraction equal to
  the gold as text is right; otherwise an LLM judge compares question, gold and extraction (1/0).
* **WeMath**: option matching on the response, else the LLM maps the response to an option
  letter (three tries); without a judge, VLMEvalKit's ``exact_matching`` rule (first letter after
  the last ``Answer``).
* **LogicVista**: the LLM alone names the chosen letters; right if the letter set equals the gold's.

Where VLMEvalKit gives up (the LLM fails on every try) it scores wrong, except WeMath, which then
picks a random option: we count that wrong (``extracted_by: unresolved``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from perceptrl.eval import vlmevalkit_rules as R
from perceptrl.eval.harness_lmms import EXTRACT_EXAMPLES, EXTRACT_INSTRUCTION

log = logging.getLogger(__name__)

HARNESS = "VLMEvalKit e8e78f0"  # open-compass/VLMEvalKit commit read (2026-08-18)
TEMPLATE = "vlmevalkit"
TEMPLATE_SPEC = ("VLMEvalKit prompts: MathVista/MathVerse/MathVision/LogicVista the dataset's question text as "
                 "it is; MathVision options as '(A) …' lines; WeMath 'Question: …' + 'Options:' + 'A. …' lines")


def harness_problem(bench: str, problem: str, metadata: Mapping[str, Any], choices: Sequence[str] | None = None) -> str:
    """The text VLMEvalKit's dataset gives the model (its ``build_prompt``), from our item fields.

    MathVista, MathVerse, LogicVista: the question text itself (our ``problem`` holds MathVista's
    ``query``, MathVerse's ``question``). MathVision: the question, then the options as ``(A) …``
    lines. WeMath: ``Question: …`` then ``Options:`` and one ``A. …`` line per option."""
    base = bench.split(":")[0]
    opts = [str(c) for c in (choices or [])]
    if base == "wemath" and opts:
        question = metadata.get("question") or problem
        return f"Question: {question}\nOptions:\n" + "".join(f"{R.LETTERS[i]}. {o}\n" for i, o in enumerate(opts))
    if base == "mathvision" and opts:
        return problem + "\n" + "\n".join(f"({R.LETTERS[i]}) {o}" for i, o in enumerate(opts))
    return problem


# ------------------------------------------------------------------------------- prompts

def vista_extract_prompt(question: str, response: str) -> str:
    """MathVista/MathVision extraction: instruction, five worked examples, the item's question,
    ``Model response: …``, ``Extracted answer:`` (the structure VLMEvalKit uses)."""
    shots = "\n\n".join(f"{h}\n{q}\n{r}\nExtracted answer: {a}" for h, q, r, a in EXTRACT_EXAMPLES)
    return f"{EXTRACT_INSTRUCTION}\n\n{shots}\n\n{question}\nModel response: {response}\nExtracted answer:"


VERSE_EXTRACT = (
    "Below is a model's response to a math problem. Copy out only the final answer it gives, with no "
    "explanation; write null if it gives none.\n\n"
    "1.\nModel response: 'So the point where both lines meet is\\n\\n(3, -1)'\nExtracted Answer: (3, -1)\n\n"
    "2.\nModel response: 'Comparing the options, the statement that holds is:\\n\\nC. The area doubles.'\n"
    "Extracted Answer: C\n\n"
    "3.\nModel response: 'Hence the domain is [-2, 4) and the range is (0, 5].'\n"
    "Extracted Answer: Domain: [-2, 4)\\nRange: (0, 5]\n\n"
    "4.\nModel response: 'The figure does not give enough lengths to find x.'\nExtracted Answer: null\n\n"
    "5.\nModel response: 'Using the sine rule, the height is about 12.7 metres.'\nExtracted Answer: 12.7\n\n"
    "6.\nModel response: 'Collecting the terms gives g(x) = 2x^2 + 3x - 1.'\nExtracted Answer: g(x) = 2x^2 + 3x - 1\n\n"
    "7.\nModel response: '{response}'\nExtracted Answer: "
)
VERSE_JUDGE = (
    "Decide whether a model's answer to a math question agrees with the standard answer. [Question] is the "
    "question, [Standard Answer] the correct answer, [Model_answer] the answer taken from the model's output. "
    "For multiple choice only the same option agrees; for other questions the same value expressed another way "
    "agrees (for example 0.5 m and 50 cm). Reply 1 if they agree and 0 if not.\n\n"
    "[Question]: Give the solution set shown on the number line.\n[Standard Answer]: [1, 3)\n"
    "[Model_answer] : (1, 3)\nJudgement: 0\n\n"
    "[Question]: Which option is the length of AB?\nChoices:\nA:3\nB:4\nC:5\nD:6\n[Standard Answer]: C\n"
    "[Model_answer] : C:5\nJudgement: 1\n\n"
    "[Question]: {question}\n[Standard Answer]: {answer}\n[Model_answer] : {extract}\nJudgement:"
)
MATCH_OPTION = (
    "Match an answer to one option of a single-choice question: output the letter (A to G) of the option "
    "closest in meaning to the answer, or Z if no option is close. Output one uppercase letter.\n"
    "Example 1:\nQuestion: <start>\nWhich animal is shown?\nOptions: A. horse B. cow C. goat\n<end>\n"
    "Answer: <start>\nit looks like a goat\n<end>\nYour output: C\n"
    "Example 2:\nQuestion: <start>\nWhich animal is shown?\nOptions: A. horse B. cow C. goat\n<end>\n"
    "Answer: <start>\na bicycle\n<end>\nYour output: Z\n"
    "Example 3:\nQuestion: <start>\n{question}\nOptions: {options}\n<end>\nAnswer: <start>\n{response}\n<end>\n"
    "Your output: "
)
LOGIC_EXTRACT = (
    "From an answer to a multiple-choice question, write the letter or letters it chose, and nothing else. "
    "If it names no option, infer it from the options given; if it matches no option, write Z.\n"
    "Example 1:\nQuestion: <start>\nWhich shape is next?\nOptions: A. circle B. square C. star\n<end>\n"
    "Answer: <start>\nthe square comes next\n<end>\nYour output: B\n"
    "Example 2:\nQuestion: <start>\nWhich two tiles match? Select two of A-D\n<end>\n"
    "Answer: <start>\nTiles D and A are identical.\n<end>\nYour output: AD\n"
    "Example 3:\nQuestion: <start>\n{question}\n<end>\nAnswer: <start>\n{response}\n<end>\nYour output: "
)


def _option_str(options: Sequence[str]) -> str:
    return "".join(f"{R.LETTERS[i]}. {o}\n" for i, o in enumerate(options))


# -------------------------------------------------------------------------------- scorer

Ask = Callable[[str, str, Mapping[str, Any]], str]


class VlmEvalKitScorer:
    """Per-item verdicts as VLMEvalKit gives them (see the module docstring).

    ``client``: a :class:`perceptrl.judge.client.ChatClient` (async ``complete(messages, **params)``)
    for the LLM steps; ``None`` scores with the rules alone (items needing the LLM are
    ``unresolved`` and wrong). ``extract`` / ``judge``: functions ``(prompt, text, item) -> str``
    replacing the client's extraction and judging calls (the parity benchmark gives both harnesses
    the same ones)."""

    name = "vlmevalkit"
    #: VLMEvalKit's judge settings: 128 new tokens, temperature 0 (its retries raise it by 0.5 each)
    params = {"temperature": 0.0, "max_tokens": 128}

    def __init__(self, client=None, *, extract: Ask | None = None, judge: Ask | None = None):
        self.client, self.extract, self.judge = client, extract, judge

    async def _llm(self, prompt: str, text: str, item, fn: Ask | None) -> str | None:
        """One LLM call (``None``: no LLM, or it failed after the client's retries)."""
        if fn is not None:
            return str(fn(prompt, text, item))
        if self.client is None:
            return None
        try:
            reply = await self.client.complete([{"role": "user", "content": prompt}], **self.params)
        except Exception as e:  # noqa: BLE001 - the client already retried
            log.warning("vlmevalkit LLM call failed for item %s: %s", item.get("id"), e)
            return None
        return (reply or "").strip()

    async def _vista_like(self, response: str, item, check, correct) -> dict[str, Any]:
        """MathVista / MathVision: rule check on the response, else LLM extraction; then the verdict."""
        pre = check(response, item)
        if pre:  # VLMEvalKit tests truthiness: an integer answer 0 goes to the LLM too
            return {"correct": correct(pre, item), "pred": str(pre), "extracted_by": "rule"}
        prompt = vista_extract_prompt(str(item.get("problem") or ""), response)
        res = await self._llm(prompt, response, item, self.extract)
        if res is None:
            return {"correct": False, "pred": None, "extracted_by": "unresolved"}
        return {"correct": correct(res, item), "pred": res, "extracted_by": "llm"}

    async def _mathverse(self, response: str, item) -> dict[str, Any]:
        extract = await self._llm(VERSE_EXTRACT.format(response=response), response, item, self.extract)
        if extract is None:
            return {"correct": False, "pred": None, "extracted_by": "unresolved"}
        gold = str(item.get("answer")).strip()
        if extract.strip() == gold:
            return {"correct": True, "pred": extract, "extracted_by": "rule"}
        meta = item.get("metadata") or {}
        question = meta.get("question_for_eval") or item.get("problem") or ""
        prompt = VERSE_JUDGE.format(question=question, answer=gold, extract=extract)
        reply = await self._llm(prompt, extract, item, self.judge)
        if reply is None:
            return {"correct": False, "pred": extract, "extracted_by": "unresolved"}
        return {"correct": reply.strip() == "1", "pred": extract, "extracted_by": "judge"}

    async def _wemath(self, response: str, item) -> dict[str, Any]:
        options = R.item_options(item) or []
        choices = R.choices_dict(options)
        gold = str(item.get("answer")).strip()
        if self.client is None and self.extract is None:  # VLMEvalKit's exact_matching path
            opt = R.wemath_exact(response)
            return {"correct": opt == gold, "pred": opt, "extracted_by": "rule"}
        opt = R.can_infer(response, choices)
        if opt:
            return {"correct": opt == gold, "pred": opt, "extracted_by": "rule"}
        prompt = MATCH_OPTION.format(question=str(item.get("problem") or ""), options=_option_str(options),
                                     response=response)
        for _ in range(3):
            reply = await self._llm(prompt, response, item, self.extract)
            opt = R.can_infer(reply, choices) if reply is not None else False
            if opt:
                return {"correct": opt == gold, "pred": opt, "extracted_by": "llm"}
        return {"correct": False, "pred": None, "extracted_by": "unresolved"}

    async def _logicvista(self, response: str, item) -> dict[str, Any]:
        prompt = LOGIC_EXTRACT.format(question=str(item.get("problem") or ""), response=response)
        reply = await self._llm(prompt, response, item, self.extract)
        if reply is None or not (reply.isalpha() and reply.isupper()):
            return {"correct": False, "pred": reply, "extracted_by": "unresolved"}
        return {"correct": R.letter_set(reply) == R.logicvista_gold(str(item.get("answer"))), "pred": reply,
                "extracted_by": "llm"}

    async def ascore_one(self, response: str, item: Mapping[str, Any]) -> dict[str, Any]:
        bench = str((item.get("metadata") or {}).get("bench") or item.get("bench") or "").split(":")[0]
        response = str(response or "")
        if bench == "mathvista":
            return await self._vista_like(response, item, R.mathvista_check, R.mathvista_correct)
        if bench == "mathvision":
            return await self._vista_like(response, item, R.mathvision_check, R.mathvision_correct)
        if bench == "wemath":
            return await self._wemath(response, item)
        if bench == "logicvista":
            return await self._logicvista(response, item)
        return await self._mathverse(response, item)  # MathVerse, and any free-form benchmark

    async def ascore(self, responses: Sequence[str], items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(self.ascore_one(r, it) for r, it in zip(responses, items))))

    def score(self, responses: Sequence[str], items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return asyncio.run(self.ascore(responses, items))
