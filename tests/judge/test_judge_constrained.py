"""Constrained verdicts: per-request JSON schema / GBNF grammar over a real loopback HTTP server,
and token-level forcing in the transformers backend."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.judge import JudgeConfig, build_perception_reward
from perceptrl.judge.constrained import AnswerFormat, merge_params, verdict_grammar, verdict_schema
from perceptrl.judge.parse import parse_verdicts


def test_schema_is_exactly_m_binary_verdicts():
    s = verdict_schema(3)
    assert list(s["properties"]) == ["info1", "info2", "info3"] == s["required"]
    assert s["additionalProperties"] is False
    assert all(p == {"type": "integer", "enum": [0, 1]} for p in s["properties"].values())
    r = verdict_schema(2, reasoning=True)
    assert list(r["properties"]) == ["reasoning", "info1", "info2"] and r["properties"]["reasoning"]["maxLength"] > 0


def test_grammar_admits_m_tag_lines():
    g = verdict_grammar(2)
    assert g.startswith('root ::= "<info1>" v "</info1>" "\\n" "<info2>" v "</info2>"') and 'v ::= "0" | "1"' in g


def test_openai_params_per_mode():
    p = AnswerFormat("json_schema", 2).openai_params()
    assert p["response_format"]["type"] == "json_schema"
    assert p["response_format"]["json_schema"]["strict"] is True
    assert p["response_format"]["json_schema"]["schema"] == verdict_schema(2)
    assert AnswerFormat("grammar", 1).openai_params() == {"extra_body": {"grammar": verdict_grammar(1)}}
    assert AnswerFormat("off", 3).openai_params() == {}
    # the user's extra_body (e.g. a vLLM option) survives next to the grammar
    merged = merge_params({"extra_body": {"top_k": 1}}, AnswerFormat("grammar", 1).openai_params())
    assert merged["extra_body"] == {"top_k": 1, "grammar": verdict_grammar(1)}


def test_skeletons_render_parseable_answers():
    for mode in ("grammar", "json_schema"):
        fmt = AnswerFormat(mode, 3)
        text = "".join(p if p is not None else "1" for p in fmt.skeleton())
        assert parse_verdicts(text, 3).verdicts == [1, 1, 1]
    with pytest.raises(ValueError):
        AnswerFormat("json_reasoning", 2).skeleton()


def test_bad_mode_is_a_config_error():
    with pytest.raises(PerceptrlError, match="constrained"):
        JudgeConfig(constrained="regex")
    with pytest.raises(PerceptrlError, match="json_reasoning"):
        JudgeConfig(backend="transformers", model="x", constrained="json_reasoning")


class _Server:
    """A minimal OpenAI-compatible chat server on 127.0.0.1 that records every request body and
    answers the constrained format it was asked for (all verdicts 1), or prose when unconstrained."""

    def __init__(self):
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                rf = body.get("response_format")
                if rf:
                    props = rf["json_schema"]["schema"]["properties"]
                    content = json.dumps({k: ("ok" if k == "reasoning" else 1) for k in props})
                elif "grammar" in body:
                    m = body["grammar"].count("v \"</info")
                    content = "\n".join(f"<info{k}>1</info{k}>" for k in range(1, m + 1))
                else:
                    content = "Sure! Everything looks present to me."
                data = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                   "choices": [{"index": 0, "finish_reason": "stop",
                                                "message": {"role": "assistant", "content": content}}],
                                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server():
    s = _Server()
    yield s
    s.close()


ROWS = [{"visual_annotations": ["AB = 10"]}, {"visual_annotations": ["AB = 10", "BC = 3", "CD = 4"]}]


@pytest.mark.parametrize("mode", ["json_schema", "json_reasoning", "grammar"])
def test_each_request_carries_its_own_constraint_over_http(server, mode):
    cfg = JudgeConfig(backend="openai", base_url=server.url, model="judge", cache_path=None, constrained=mode,
                      max_retries=0, extra={"extra_body": {"top_k": 1}} if mode == "grammar" else {})
    r = build_perception_reward(cfg)
    assert r.score(["AB = 10", "AB = 10, BC = 3"], ROWS) == [1.0, 1.0]
    by_m = {}
    for body in server.bodies:
        user = body["messages"][1]["content"]
        by_m[user.count("</info")] = body
        if mode == "grammar":
            assert body["top_k"] == 1  # the user's extra_body was merged, not replaced
    assert set(by_m) == {1, 3}
    for m, body in by_m.items():
        if mode == "grammar":
            assert body["grammar"] == verdict_grammar(m)
        else:
            assert body["response_format"]["json_schema"]["schema"] == verdict_schema(
                m, reasoning=mode == "json_reasoning")
    system = server.bodies[0]["messages"][0]["content"]
    assert ('"info1": 1 or 0' in system) == (mode != "grammar")  # the prompt asks for the mode's format


def test_unconstrained_requests_carry_no_constraint(server):
    r = build_perception_reward(JudgeConfig(backend="openai", base_url=server.url, model="judge", cache_path=None,
                                            max_retries=0))
    r.score(["AB = 10"], ROWS[:1])
    assert "response_format" not in server.bodies[0] and "grammar" not in server.bodies[0]


def test_constrained_mode_is_in_the_cache_key():
    base = dict(backend="openai", base_url="http://unused.invalid/v1", model="m", cache_path=None)
    versions = {build_perception_reward(JudgeConfig(**base, constrained=c)).judge.version
                for c in ("off", "json_schema", "json_reasoning", "grammar")}
    assert len(versions) == 4


@pytest.mark.parametrize("mode", ["grammar", "json_schema"])
def test_transformers_forces_the_skeleton_on_a_random_model(tiny_causal_lm, mode):
    # a random-init model answers garbage when free (test_judge_backends); constrained, every answer
    # is exactly m verdicts: 0 % unparseable
    r = build_perception_reward(JudgeConfig(backend="transformers", model=tiny_causal_lm, max_tokens=4,
                                            batch_size=2, cache_path=None, constrained=mode))
    rows = [{"visual_annotations": ["AB = 10"]}, {"visual_annotations": ["AB = 10", "BC = 3", "CD = 1"]},
            {"visual_annotations": ["x", "y"]}]
    scores = r.score(["AB = 10", "BC = 3", "zzz"], rows)
    assert all(s is not None for s in scores)
    for o, row in zip(r.last_outcomes, rows):
        m = len(row["visual_annotations"])
        v = parse_verdicts(o.answer, m)
        assert o.ok and v.missing == [] and v.conflicting == [] and v.extra == 0
        assert v.source == ("json" if mode == "json_schema" else "tags")
    assert r.metrics().get("judge/failures", 0) == 0
