"""What makes two eval runs comparable, recorded in each run and checked by ``eval compare`` (issue 16).

Scores move by points with the harness alone (protocol, judge model, prompt, decoding, image
resolution), so every run folder records:

* ``run.json``: ``harness`` (``perceptrl X.Y.Z`` or the imported harness), ``protocol``,
  ``decoding``, ``template`` and ``template_hash`` (sha256 of the template text, so an edited
  template with the same name is caught), ``pixels`` (min/max the images were bounded to; ``None``:
  the processor's defaults);
* ``scores/PROTOCOL.json``: ``scoring_harness`` (whose scoring rules) and ``judge`` (model, server,
  temperature, max tokens; ``None`` for rules-only scoring).

:func:`setting_differences` lists every field in which two runs differ; ``eval compare`` refuses
to compare such runs unless ``--force`` is given, and then prints every difference.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

COMPARED = ("harness", "scoring_harness", "protocol", "judge", "template", "template_hash", "decoding", "pixels")


def perceptrl_version() -> str:
    try:
        from importlib.metadata import version

        return f"perceptrl {version('perceptrl')}"
    except Exception:  # noqa: BLE001 - a source checkout without metadata
        return "perceptrl (unknown version)"


def template_hash(template: str | None) -> str | None:
    """sha256 (first 16 hex digits) of the prompt template's text (a name is resolved first)."""
    if template is None:
        return None
    from perceptrl.data.prompt import PROMPT_TEMPLATES
    from perceptrl.eval.harnesses import harness_template

    found = harness_template(template)
    text = found[1] if found else PROMPT_TEMPLATES.get(template, template)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def judge_settings(judge: Any) -> dict[str, Any] | None:
    """The judge's model, server and sampling settings (``None`` without a judge)."""
    if judge is None:
        return None
    client = getattr(judge, "client", judge)
    if client is None:
        return None
    params = dict(getattr(judge, "params", None) or {})
    return {"model": getattr(client, "model", None), "base_url": getattr(client, "base_url", None), **params}


def run_settings(config: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    """The compared settings of one run (``run.json`` + the scores summary in use)."""
    return {
        "harness": config.get("harness"),
        "scoring_harness": summary.get("scoring_harness", summary.get("harness")),
        "protocol": summary.get("protocol"),
        "judge": summary.get("judge"),
        "template": config.get("template"),
        "template_hash": config.get("template_hash"),
        "decoding": config.get("decoding"),
        "pixels": config.get("pixels"),
    }


def setting_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """``["judge: {...} vs {...}", …]`` for every compared setting that differs."""
    return [f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in COMPARED if a.get(k) != b.get(k)]
