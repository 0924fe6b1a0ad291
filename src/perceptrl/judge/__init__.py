"""The perception judge (Perception-R1 stage 2): is each visual annotation reflected in a response?

Public API::

    from perceptrl.judge import JudgeConfig, build_perception_reward
    reward = build_perception_reward(JudgeConfig(backend="openai", base_url="http://127.0.0.1:8000/v1",
                                                 model="Qwen2.5-32B-Instruct"))
    scores = await reward.ascore(completions, rows)   # r_v per completion (None = skipped failure)
    reward.metrics()                                  # judge/requests, judge/failures, …

See ``docs/judge.md``.
"""

import importlib

#: public name -> module. Imported on first use (PEP 562), so that reading a ``JudgeConfig``
#: (every command's option parser does) does not import the OpenAI client.
_LAZY = {
    "JudgeOutcome": "backends", "LLMJudge": "backends", "RulesJudge": "backends",
    "ChatClient": "client", "JudgeRequestError": "client", "JudgeConfig": "config",
    "Verdicts": "parse", "parse_verdicts": "parse", "JudgeTemplate": "prompt",
    "PerceptionReward": "reward", "build_perception_reward": "reward", "judge_rules": "rules",
    "sanitize": "sanitize",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"perceptrl.judge.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'perceptrl.judge' has no attribute {name!r}")
