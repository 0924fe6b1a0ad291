"""JudgeConfig validation: user errors name the key and the fix."""

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.judge import JudgeConfig, build_perception_reward


def test_defaults_are_valid_and_rules():
    assert JudgeConfig().backend == "rules"


@pytest.mark.parametrize(
    "kw,where",
    [
        ({"backend": "vllm"}, "judge.backend"),
        ({"failure_policy": "crash"}, "judge.failure_policy"),
        ({"backend": "openai"}, "judge.base_url"),
        ({"backend": "transformers"}, "judge.model"),
        ({"max_concurrency": 0}, "judge"),
    ],
)
def test_invalid(kw, where):
    with pytest.raises(PerceptrlError) as e:
        JudgeConfig(**kw)
    assert where in e.value.render()


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(PerceptrlError, match="unknown judge option"):
        JudgeConfig.from_dict({"backend": "rules", "temprature": 0})


def test_function_backend_from_file(tmp_path):
    f = tmp_path / "myjudge.py"
    f.write_text("def judge(messages):\n    return '<info1>1</info1>'\n")
    r = build_perception_reward({"backend": f"{f}:judge", "cache_path": None})
    assert r.score(["x"], [{"visual_annotations": ["a"]}]) == [1.0]
    with pytest.raises(PerceptrlError):
        build_perception_reward({"backend": f"{f}:missing", "cache_path": None})
