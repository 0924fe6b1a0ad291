"""Constrained verdicts: make the judge's answer exactly m verdicts and nothing else.

A judge that may write free text can write a malformed tag, a preamble, a verdict for a wrong
index, or copy text it was shown. With constrained decoding the server (or the local model) can
only emit tokens that keep the answer inside a grammar, so every answer parses (unparseable rate
0 by construction) and holds exactly one verdict per annotation.

Modes (``JudgeConfig.constrained``):

* ``off`` — free decoding; the prompt asks for ``<infoK>0|1</infoK>`` lines.
* ``json_schema`` — OpenAI-style structured outputs, accepted by llama.cpp's ``llama-server``,
  vLLM, SGLang and OpenAI::

      response_format={"type": "json_schema",
                       "json_schema": {"name": "verdicts", "strict": true, "schema": {...}}}

  with properties ``info1`` … ``infom``, each ``{"type": "integer", "enum": [0, 1]}``, all required,
  ``additionalProperties: false``. The answer is ``{"info1": 1, "info2": 0}``.
* ``json_reasoning`` — the same object led by a ``"reasoning"`` string of at most
  :data:`REASONING_MAX_CHARS` characters (reason first, then decide; the verdicts still come only
  from the ``infoK`` keys).
* ``grammar`` — a llama.cpp GBNF grammar sent as ``extra_body={"grammar": ...}`` that admits
  exactly the lines ``<info1>0|1</info1>`` … ``<infom>0|1</infom>``.

The schema depends on m, so it is built *per request* (:meth:`AnswerFormat.openai_params`);
generators receive one :class:`AnswerFormat` per request. The ``transformers`` backend forces the
same skeletons token by token (:meth:`AnswerFormat.skeleton`; ``json_reasoning`` needs free text
inside a JSON string and is not offered there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MODES = ("off", "json_schema", "json_reasoning", "grammar")
#: Upper bound of the ``reasoning`` string in ``json_reasoning`` (characters).
REASONING_MAX_CHARS = 600


def answer_kind(mode: str) -> str:
    """The answer the prompt asks for: ``tags`` (off, grammar), ``json`` or ``json_reasoning``."""
    return {"off": "tags", "grammar": "tags", "json_schema": "json", "json_reasoning": "json_reasoning"}[mode]


def verdict_schema(m: int, *, reasoning: bool = False) -> dict[str, Any]:
    """The JSON schema of an answer with ``m`` verdicts (optionally led by a bounded reasoning)."""
    props: dict[str, Any] = {}
    if reasoning:
        props["reasoning"] = {"type": "string", "maxLength": REASONING_MAX_CHARS}
    for k in range(1, m + 1):
        props[f"info{k}"] = {"type": "integer", "enum": [0, 1]}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def verdict_grammar(m: int) -> str:
    """A llama.cpp GBNF grammar for exactly ``m`` lines ``<infoK>0|1</infoK>``."""
    lines = [f'"<info{k}>" v "</info{k}>"' for k in range(1, m + 1)]
    return "root ::= " + ' "\\n" '.join(lines) + '\nv ::= "0" | "1"\n'


@dataclass(frozen=True)
class AnswerFormat:
    """The answer format of one judge request: the decoding mode and the number of verdicts."""

    mode: str
    m: int

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown constrained mode {self.mode!r}; use one of {', '.join(MODES)}")

    @property
    def kind(self) -> str:
        return answer_kind(self.mode)

    def schema(self) -> dict[str, Any]:
        return verdict_schema(self.m, reasoning=self.mode == "json_reasoning")

    def grammar(self) -> str:
        return verdict_grammar(self.m)

    def openai_params(self) -> dict[str, Any]:
        """Request parameters for an OpenAI-compatible server (empty when ``off``)."""
        if self.mode in ("json_schema", "json_reasoning"):
            return {"response_format": {"type": "json_schema", "json_schema": {
                "name": "verdicts", "strict": True, "schema": self.schema()}}}
        if self.mode == "grammar":
            return {"extra_body": {"grammar": self.grammar()}}
        return {}

    def skeleton(self) -> list[str | None]:
        """The answer as fixed text pieces and verdict slots (``None``: one of ``0``/``1``), for
        token-level forcing. ``off`` has none; ``json_reasoning`` is not expressible this way."""
        if self.mode == "grammar":
            out: list[str | None] = []
            for k in range(1, self.m + 1):
                out += [("\n" if k > 1 else "") + f"<info{k}>", None, f"</info{k}>"]
            return out
        if self.mode == "json_schema":
            out = []
            for k in range(1, self.m + 1):
                out += [("{" if k == 1 else ", ") + json.dumps(f"info{k}") + ": ", None]
            return out + ["}"]
        raise ValueError(f"no token skeleton for constrained mode {self.mode!r}")


def merge_params(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra``, with ``extra_body`` dictionaries merged rather than replaced."""
    out = {**base, **extra}
    if isinstance(base.get("extra_body"), dict) and isinstance(extra.get("extra_body"), dict):
        out["extra_body"] = {**base["extra_body"], **extra["extra_body"]}
    return out
