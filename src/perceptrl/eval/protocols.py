"""The three evaluation protocols of the field (docs/eval-protocols.md); numbers are comparable only within one.

=============  ===============================  ================================  ===================
protocol       decoding                         judging                           used by
=============  ===============================  ================================  ===================
greedy_judge   temperature 0, 4096 new tokens   answer, then an LLM says true/false  Perception-R1
greedy_rules   temperature 0, 4096 new tokens   rule cascade                      lmms-eval / EasyR1
avg_at_k       k = 8 samples, temperature 1.0   rule cascade, mean accuracy       PAPO, VPPO
lmms_eval      temperature 0, 16384 new tokens  lmms-eval 0.7.3's own rules, LLM  lmms-eval reports
                                                extraction / judge fallback
vlmevalkit     temperature 0, 2048 new tokens   VLMEvalKit's rules, then LLM      VLMEvalKit reports
                                                extraction / judge (GPT-4o-mini)
=============  ===============================  ================================  ===================

``lmms_eval`` (:mod:`perceptrl.eval.harness_lmms`) reproduces lmms-eval's per-item verdicts on
MathVista (``mathvista_testmini_cot``: 16,384 new tokens) and on MathVerse and the other reasoning
tasks; it also records the pixel bounds lmms-eval's Qwen2.5-VL wrapper uses (min 256·28·28, max
1,605,632), so that a run states them. ``vlmevalkit`` (:mod:`perceptrl.eval.harness_vlmevalkit`)
does the same for VLMEvalKit (MathVista, MathVerse, MathVision, WeMath, LogicVista).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from perceptrl.errors import PerceptrlError
from perceptrl.eval.generate import Decoding


@dataclass(frozen=True)
class Protocol:
    name: str
    decoding: Decoding
    scorer: str  # "rules" | "judge" | "lmms_eval" | "vlmevalkit"
    harness: str = "perceptrl"  # whose scoring rules the verdicts follow
    min_pixels: int | None = None  # image bounds the harness uses (None: the processor's own)
    max_pixels: int | None = None
    template: str = "perception_r1"  # default prompt template of runs under this protocol


PROTOCOLS: dict[str, Protocol] = {
    "greedy_judge": Protocol("greedy_judge", Decoding(temperature=0.0, max_new_tokens=4096), "judge"),
    "greedy_rules": Protocol("greedy_rules", Decoding(temperature=0.0, max_new_tokens=4096), "rules"),
    # PAPO / VPPO: avg@8 at temperature 1.0
    "avg_at_k": Protocol("avg_at_k", Decoding(temperature=1.0, top_p=1.0, max_new_tokens=4096, num_samples=8), "rules"),
    "lmms_eval": Protocol("lmms_eval", Decoding(temperature=0.0, max_new_tokens=16384), "lmms_eval",
                          harness="lmms-eval 0.7.3", min_pixels=256 * 28 * 28, max_pixels=1605632,
                          template="lmms_eval"),
    # VLMEvalKit's Qwen2.5-VL-7B-Instruct entry (vlmeval/config.py): top_k=1 sampling (greedy),
    # 2,048 new tokens, 1280·28·28 – 16384·28·28 pixels, the datasets' own prompts
    "vlmevalkit": Protocol("vlmevalkit", Decoding(temperature=0.0, max_new_tokens=2048), "vlmevalkit",
                           harness="VLMEvalKit e8e78f0", min_pixels=1280 * 28 * 28, max_pixels=16384 * 28 * 28,
                           template="vlmevalkit"),
}


def get_protocol(name: str, *, k: int | None = None, max_new_tokens: int | None = None, seed: int | None = None) -> Protocol:
    """A protocol by name, with optional overrides (k for avg@k, response length, seed)."""
    if name not in PROTOCOLS:
        raise PerceptrlError(f"unknown protocol {name!r}", where="--protocol", fix=f"use one of: {', '.join(PROTOCOLS)}")
    p = PROTOCOLS[name]
    d = p.decoding
    if k is not None:
        if d.greedy and k != 1:
            raise PerceptrlError(f"{name} decodes greedily: one sample per item", where="--k", fix="use --protocol avg_at_k for k > 1")
        if k < 1:
            raise PerceptrlError("k must be >= 1", where="--k", fix="e.g. --k 8")
        d = replace(d, num_samples=k)
    if max_new_tokens is not None:
        d = replace(d, max_new_tokens=max_new_tokens)
    if seed is not None:
        d = replace(d, seed=seed)
    return replace(p, decoding=d)
