"""Validation of the VOGUE and GRPO-CARE options of ``MethodConfig`` (kept apart from config.py's structure)."""

from __future__ import annotations

from typing import Any

from perceptrl.errors import PerceptrlError


def check_new_methods(m, trl: dict[str, Any], where: str) -> None:
    """Raise :class:`PerceptrlError` naming the option and the paper's value for an invalid VOGUE/CARE setting."""
    for name in ("vogue_alpha", "vogue_bonus_max", "vogue_u_max", "vogue_entropy_coef"):
        if getattr(m, name) < 0:
            raise PerceptrlError(f"method.{name}={getattr(m, name)} must be >= 0", where=f"{where}: method.{name}",
                                 fix="see docs/methods.md, VOGUE, for the values")
    if not 0.0 <= m.care_ema_decay <= 1.0:
        raise PerceptrlError(f"method.care_ema_decay={m.care_ema_decay} must be in [0, 1]",
                             where=f"{where}: method.care_ema_decay", fix="GRPO-CARE uses 0.995")
    if m.care_ema_every < 1:
        raise PerceptrlError(f"method.care_ema_every={m.care_ema_every} must be >= 1",
                             where=f"{where}: method.care_ema_every", fix="GRPO-CARE uses 10")
    if m.care_bonus_coef < 0 or m.care_margin < 0:
        raise PerceptrlError("method.care_bonus_coef and method.care_margin must be >= 0",
                             where=f"{where}: method.care_*", fix="GRPO-CARE uses 0.5 and 0.01")
    if m.care_confidence_upper is not None and not 0.0 < m.care_confidence_upper <= 1.0:
        raise PerceptrlError(f"method.care_confidence_upper={m.care_confidence_upper} must be in (0, 1] or null",
                             where=f"{where}: method.care_confidence_upper", fix="GRPO-CARE uses 0.95")
    if "grpo_care" in m.parts and (trl.get("beta") or 0.0) != 0.0:
        raise PerceptrlError(f"method grpo_care replaces the reference KL, but trl.beta={trl['beta']}",
                             where=f"{where}: trl.beta", fix="set trl.beta: 0 (GRPO-CARE trains without KL)")
