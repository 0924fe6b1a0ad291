"""The judge prompt: static prefix, delimiting, templates from files."""

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.judge.prompt import FENCE_CLOSE, FENCE_OPEN, JudgeTemplate, load_template


def test_static_system_message_and_fenced_response():
    t = JudgeTemplate()
    a = t.messages(["AB = 10"], "resp one {braces} $\\frac{1}{2}$")
    b = t.messages(["x", "y"], "resp two")
    assert a[0] == b[0] and a[0]["role"] == "system"  # identical prefix: servers' prefix caches hit
    user = a[1]["content"]
    assert "<info1>AB = 10</info1>" in user
    assert f"{FENCE_OPEN}\nresp one {{braces}} $\\frac{{1}}{{2}}$\n{FENCE_CLOSE}" in user
    assert "Answer with 2 lines, <info1> to <info2>" in b[1]["content"]
    assert t.system.count("Example ") == 3


def test_template_from_yaml_and_text(tmp_path):
    y = tmp_path / "t.yaml"
    y.write_text('system: Be brief.\nquery: "Facts: {items}\\nText: {response}"\n')
    t = load_template(y)
    assert t.messages(["a", "b"], "r")[1]["content"] == "Facts: a; b\nText: r"
    txt = tmp_path / "t.txt"
    txt.write_text("Plain system prompt.")
    t2 = load_template(txt)
    assert t2.system == "Plain system prompt." and t2.version != JudgeTemplate().version
    assert load_template(None) == JudgeTemplate()


def test_bad_templates_are_user_errors(tmp_path):
    with pytest.raises(PerceptrlError):
        load_template(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("system: x\nquery: 'no placeholders'\n")
    with pytest.raises(PerceptrlError, match="placeholder|lacks"):
        load_template(bad)
