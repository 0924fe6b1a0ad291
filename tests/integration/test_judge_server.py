"""The judge against a real OpenAI-compatible server on loopback (llama-server + SmolLM2-135M-Instruct).

SmolLM2-135M's verdicts are poor: these tests check the plumbing — requests, parsing, caching,
de-duplication, retries, the failure policy, the server's batching — not its judgement (that is
``test_judge_real.py``).
"""

import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from perceptrl.judge import ChatClient, JudgeConfig, build_perception_reward, parse_verdicts

pytestmark = pytest.mark.server

# A short prompt for SmolLM2-135M (one item per request). The hardened judge shows {response} as a
# quoted JSON string literal, so the template does not quote it again.
ECHO_TEMPLATE = """\
system: "Answer in the format <info1>1</info1>."
query: "Is '{items}' in {response}? Answer in the format <info1>1</info1> or <info1>0</info1>."
"""
ROWS = [{"visual_annotations": ["AB = 10"]}]


@pytest.fixture()
def echo_template(tmp_path):
    p = tmp_path / "echo.yaml"
    p.write_text(ECHO_TEMPLATE)
    return str(p)


def _cfg(base_url, model, tmp_path, **kw):
    kw.setdefault("cache_path", str(tmp_path / "judge.sqlite"))
    kw.setdefault("max_concurrency", 4)
    return JudgeConfig(backend="openai", base_url=base_url, model=model, max_tokens=24, timeout=120, **kw)


def test_chat_client_round_trip(llama_server, llama_server_model):
    client = ChatClient(llama_server, llama_server_model, timeout=120)
    text = asyncio.run(client.complete([{"role": "user", "content": "Say hi."}], max_tokens=4, temperature=0))
    assert isinstance(text, str) and text
    assert client.usage["requests"] == 1 and client.usage["completion_tokens"] >= 1


def test_reward_requests_parsing_dedupe_and_cache(llama_server, llama_server_model, tmp_path, echo_template):
    # grammar-constrained: the hardened prompt quotes the response, and SmolLM2 then answers in prose
    reward = build_perception_reward(_cfg(llama_server, llama_server_model, tmp_path, template_path=echo_template,
                                          constrained="grammar"))
    responses = ["AB = 10, so the area is 50.", "AB = 10, so the area is 50.", "AB = 12.", "AB = 12.", "AB = 10."]
    scores = reward.score(responses, ROWS * 5)
    m = reward.metrics()
    assert m["judge/requests"] == 3 and m["judge/deduplicated"] == 2
    # every sample ends with a score or a counted failure; none lost
    failed = [i for i, o in enumerate(reward.last_outcomes) if not o.ok]
    assert m["judge/failed_samples"] == len(failed)
    assert all((s is None) == (i in failed) for i, s in enumerate(scores))
    ok = [o for o in reward.last_outcomes if o.ok]
    assert ok, "SmolLM2 answered none of the echo prompts in the verdict format"
    for o in ok:  # the verdicts come from the judge's own answer, parsed once per index
        assert o.verdicts == parse_verdicts(o.answer, 1).verdicts
    assert scores[0] == scores[1] and scores[2] == scores[3]

    # second pass: every request the judge *answered* comes from the cache, even an unparseable
    # answer (deterministic at temperature 0); only transport failures are asked again
    first = list(reward.last_outcomes)
    answered = {responses[i] for i, o in enumerate(first) if o.answer is not None}
    again = reward.score(responses, ROWS * 5)
    m2 = reward.metrics()
    assert m2["judge/cache_hits"] == len(answered)
    assert m2.get("judge/requests", 0) == 3 - len(answered)
    for i in range(5):
        if responses[i] in answered:
            assert again[i] == scores[i] and reward.last_outcomes[i].answer == first[i].answer


def test_cache_is_shared_across_processes(llama_server, llama_server_model, tmp_path, echo_template):
    cfg = _cfg(llama_server, llama_server_model, tmp_path, template_path=echo_template, constrained="grammar")
    reward = build_perception_reward(cfg)
    reward.score(["AB = 10."], ROWS)
    assert reward.last_outcomes[0].ok
    code = (
        "import json,sys; from perceptrl.judge import JudgeConfig, build_perception_reward as b;"
        "r=b(JudgeConfig(**json.loads(sys.argv[1])));"
        "r.score(['AB = 10.'],[{'visual_annotations':['AB = 10']}]);print(json.dumps(r.metrics()))"
    )
    out = subprocess.run([sys.executable, "-c", code, json.dumps(cfg.__dict__)], capture_output=True, text=True,
                         check=True)
    m = json.loads(out.stdout.strip().splitlines()[-1])
    assert m["judge/cache_hits"] == 1 and m.get("judge/requests", 0) == 0


def test_default_template_garbage_answers_follow_failure_policy(llama_server, llama_server_model, tmp_path):
    # SmolLM2 does not follow the full judge prompt: its answers carry no verdicts
    reward = build_perception_reward(_cfg(llama_server, llama_server_model, tmp_path, failure_policy="zero",
                                          cache_path=None))
    rows = [{"visual_annotations": ["AB = 10", "angle ABC = 40°"]}] * 2
    scores = reward.score(["AB = 10 and angle ABC = 40°.", "Nothing here."], rows)
    m = reward.metrics()
    for s, o in zip(scores, reward.last_outcomes):
        if o.ok:
            assert s == sum(o.verdicts) / 2
        else:
            assert s == 0.0 and o.error == "unparseable judge answer" and o.answer is not None
    assert m["judge/failures"] == sum(not o.ok for o in reward.last_outcomes)
    assert m["judge/unparseable"] == m["judge/failures"]


def test_server_killed_and_restarted_mid_batch(llama_server_handle, llama_server_model, tmp_path, echo_template):
    """Fault run: kill -9 the server while a batch is in flight, restart it; every sample ends with a
    score or a counted failure, none lost, no exception escapes."""
    srv = llama_server_handle
    cfg = _cfg(srv.base_url, llama_server_model, tmp_path, template_path=echo_template, cache_path=None,
               max_retries=8, backoff=0.5, max_concurrency=2)
    reward = build_perception_reward(cfg)
    responses = [f"AB = {k}." for k in range(8, 20)]
    killed_after = []

    def fault():
        # kill once the batch is under way (requests sent, more queued), not at a fixed time
        deadline = time.monotonic() + 120
        while reward.client.usage["requests"] < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        killed_after.append(reward.client.usage["requests"])
        srv.kill()
        time.sleep(1.0)
        srv.start()

    t = threading.Thread(target=fault)
    t.start()
    scores = reward.score(responses, ROWS * len(responses))  # must not raise
    t.join()
    m = reward.metrics()
    assert killed_after and killed_after[0] < len(responses), "the server was not killed mid-batch"
    assert len(scores) == len(responses) == len(reward.last_outcomes)
    failed = [i for i, o in enumerate(reward.last_outcomes) if not o.ok]
    assert m["judge/failed_samples"] == len(failed)
    # none lost: each sample has a score, or a counted failure under the skip policy
    assert all((scores[i] is None) == (i in failed) for i in range(len(responses)))
    assert m["judge/retries"] >= 1, "the kill should have forced at least one retry"
    # requests after the restart were answered: the transport recovered (answers, even unparseable ones)
    answered = [o for o in reward.last_outcomes if o.answer is not None]
    assert len(answered) > killed_after[0]
    assert srv.ready()


def test_cli_judge_scores_pairs(llama_server, llama_server_model, tmp_path, echo_template):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps({"id": i, "annotations": ["AB = 10"], "response": r})
                               for i, r in enumerate(["AB = 10.", "AB = 3."])) + "\n")
    out = tmp_path / "verdicts.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "perceptrl", "judge", "--input", str(pairs), "--output", str(out),
         "--backend", "openai", "--base-url", llama_server, "--model", llama_server_model,
         "--template", echo_template, "--max-tokens", "24", "--cache", str(tmp_path / "c.sqlite")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [0, 1]
    for r in rows:
        assert ("score" in r) and (r["error"] is None) == (r["score"] is not None)


def test_server_decodes_concurrent_requests_together(llama_server_handle, llama_server_model):
    """llama-server's slots: requests in flight together are processed at the same time (continuous
    batching), which is what makes the judge's concurrency pay (llama-cpp-python's server ran one
    request at a time; this failed against it: it has no ``/slots``)."""
    srv = llama_server_handle
    client = openai.OpenAI(base_url=srv.base_url, api_key="EMPTY", timeout=300, max_retries=0)
    busy: list[int] = []
    done = threading.Event()

    def poll():
        while not done.is_set():
            with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/slots", timeout=30) as r:
                busy.append(sum(bool(s["is_processing"]) for s in json.load(r)))
            time.sleep(0.05)

    def ask(i):
        return client.chat.completions.create(
            model=llama_server_model, messages=[{"role": "user", "content": f"Count from {i} to 900."}],
            max_tokens=64, temperature=0, extra_body={"ignore_eos": True})

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with ThreadPoolExecutor(srv.parallel) as ex:
            outs = list(ex.map(ask, range(srv.parallel)))
    finally:
        done.set()
        poller.join()
    assert all(o.usage.completion_tokens == 64 for o in outs)
    assert max(busy) == srv.parallel == 4, busy
