"""The perception judge (Perception-R1 stage 2): is each visual annotation reflected in a response?

Public API::

    from perceptrl.judge import JudgeConfig, build_perception_reward
    reward = build_perception_reward(JudgeConfig(backend="openai", base_url="http://127.0.0.1:8000/v1",
                                                 model="Qwen2.5-32B-Instruct"))
    scores = await reward.ascore(completions, rows)   # r_v per completion (None = skipped failure)
    reward.metrics()                                  # judge/requests, judge/failures, …

See ``docs/judge.md``.
"""

from perceptrl.judge.backends import JudgeOutcome, LLMJudge, RulesJudge
from perceptrl.judge.client import ChatClient, JudgeRequestError
from perceptrl.judge.config import JudgeConfig
from perceptrl.judge.parse import Verdicts, parse_verdicts
from perceptrl.judge.prompt import JudgeTemplate
from perceptrl.judge.reward import PerceptionReward, build_perception_reward
from perceptrl.judge.rules import judge_rules
from perceptrl.judge.sanitize import sanitize

__all__ = [
    "ChatClient", "JudgeConfig", "JudgeOutcome", "JudgeRequestError", "JudgeTemplate", "LLMJudge",
    "PerceptionReward", "RulesJudge", "Verdicts", "build_perception_reward", "judge_rules",
    "parse_verdicts", "sanitize",
]
