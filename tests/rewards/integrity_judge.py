"""A judge model that produces every judge outcome on demand, for the reward-integrity tests.

Each response carries a token ``zq<case>x<member>``; ``PLAN[token]`` says what the judge does for
it (default ``perfect``). Importable as ``integrity_judge:judge`` (the ``module:function`` judge
backend), so the same function serves the runner, the TRL adapter and the verl/EasyR1 adapter.
The annotations are two (``ANNOTATIONS``).
"""

from __future__ import annotations

import asyncio
import re

from perceptrl.judge.client import JudgeRequestError

ANNOTATIONS = ["AB = 10", "BC = 3"]
TOKEN = re.compile(r"zq\d+x\d+")

#: outcomes where the judge answered (a judgement)
ANSWERS = {
    "perfect": "<info1>1</info1>\n<info2>1</info2>",
    "parsed": "<info1>1</info1>\n<info2>0</info2>",
    "parsed_zero": "<info1>0</info1>\n<info2>0</info2>",
    "partly_parsed": "<info1>1</info1>",  # truncated by max_tokens
    "unparseable": "Both facts appear in the response, so it is good.",
    "conflicting": "<info1>1</info1>\n<info2>1</info2>\nOn reflection: <info1>0</info1>\n<info2>0</info2>",
    "refused": "I'm sorry, but I can't help with that.",
    "empty": "",
}
#: outcomes where no answer arrived (what ChatClient / a backend reports), plus a 4xx rejection
RAISES = {
    "rejected": "http_4xx",
    "transport": "transport",
    "timeout": "timeout",
    "bad_reply": "bad_reply",
}
OUTCOMES = [*ANSWERS, *RAISES, "backend_error", "over_budget"]
FAILURES = {"transport", "timeout", "bad_reply", "backend_error", "over_budget"}

PLAN: dict[str, str] = {}


async def judge(messages) -> str:
    text = "\n".join(str(m.get("content", "")) for m in messages)
    tokens = set(TOKEN.findall(text))
    assert len(tokens) <= 1, f"one response per request, got tokens {tokens}"
    outcome = PLAN.get(next(iter(tokens)), "perfect") if tokens else "perfect"
    if outcome in ANSWERS:
        return ANSWERS[outcome]
    if outcome in RAISES:
        raise JudgeRequestError(f"simulated {outcome}", kind=RAISES[outcome])
    if outcome == "backend_error":
        raise RuntimeError("simulated crash in a judge backend")
    if outcome == "over_budget":
        await asyncio.sleep(120)  # never answers within the step's budget
        return ANSWERS["perfect"]
    raise AssertionError(f"unknown outcome {outcome!r}")
