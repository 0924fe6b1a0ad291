"""The perception judge inside the engines, on the session's real llama-server (SmolLM2), behind a
loopback proxy that counts the requests in flight — the server-side measurement.

* verl's batch reward manager with our ``compute_score_batched`` and an ``openai`` judge gives
  RewardRunner's scores on the same rows (the judge's answers reach both through one sqlite cache
  file, as the ranks of a node share it: the second pass sends no request).
* Two processes, each with ``max_concurrency=4`` and 4 requests, share the server under
  ``PERCEPTRL_JUDGE_TOTAL_CONCURRENCY=2``: the server never has more than 2 requests in flight
  (and does reach 2); the same processes without the limit reach more (the bound is what holds it).
  The semaphore is polled, not fair: one process can take both slots and keep them for all its
  requests while the other waits, so a round may show no moment with both in flight. The limited
  phase runs up to ``LIMITED_ROUNDS`` rounds: the bound must hold in every round, and some round
  must show both processes in flight at once while at the bound.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines"))  # the engine tests' data

pytestmark = pytest.mark.server

BOUND = 2
LIMITED_ROUNDS = 8  # a round without overlap was seen about one time in three


class CountingProxy:
    """Forwards POSTs to ``upstream`` and records how many were in flight at once (per ``X-Rank``)."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.lock = threading.Lock()
        self.reset()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                rank = self.headers.get("X-Rank", "?")
                proxy.enter(rank)
                try:
                    req = urllib.request.Request(proxy.upstream + self.path.removeprefix("/v1"), data=body,
                                                 headers={"Content-Type": "application/json"})
                    with urllib.request.urlopen(req, timeout=120) as resp:
                        status, data = resp.status, resp.read()
                finally:
                    proxy.leave(rank)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def reset(self):
        with self.lock:
            self.inflight, self.max_inflight, self.requests = 0, 0, 0
            self.ranks: set[str] = set()
            self.overlap = False  # two ranks in flight at one moment
            self._by_rank: dict[str, int] = {}

    def enter(self, rank):
        with self.lock:
            self.inflight += 1
            self.requests += 1
            self.ranks.add(rank)
            self._by_rank[rank] = self._by_rank.get(rank, 0) + 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            self.overlap |= sum(1 for v in self._by_rank.values() if v) > 1

    def leave(self, rank):
        with self.lock:
            self.inflight -= 1
            self._by_rank[rank] -= 1

    def close(self):
        self.server.shutdown()


@pytest.fixture
def proxy(llama_server):
    p = CountingProxy(llama_server)
    yield p
    p.close()


# a one-line system prompt: SmolLM2 cannot judge anyway (plumbing only), and a short prompt keeps
# each request to about a second on a busy 2-core machine
TEMPLATE = "For each <infoK> item, answer <infoK>1</infoK> if the response states it, else <infoK>0</infoK>."


def _judge(base_url, model, tmp_path, **kw):
    template = tmp_path / "judge_template.txt"
    template.write_text(TEMPLATE, encoding="utf-8")
    return {"backend": "openai", "base_url": base_url, "model": model, "max_tokens": 8, "timeout": 60,
            "max_retries": 1, "template_path": str(template), **kw}


def test_verl_batch_manager_with_the_judge_server_matches_the_runner(proxy, llama_server_model,
                                                                      tiny_qwen25vl_dir, tmp_path):
    pytest.importorskip("verl", reason="verl is in the test extra (pyproject)")
    import perceptrl.models  # noqa: F401
    from engine_data import dataproto, examples, reward_rows, rlhf_dataset, rollouts, write_verl
    from omegaconf import OmegaConf
    from transformers import AutoProcessor
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.workers.reward_manager import BatchRewardManager

    from perceptrl.judge import build_perception_reward
    from perceptrl.rewards import verl_adapter
    from perceptrl.rewards.hybrid import build_hybrid
    from perceptrl.rewards.runner import RewardRunner

    judge = _judge(proxy.base_url, llama_server_model, tmp_path, cache_path=str(tmp_path / "judge.sqlite"))
    processor = AutoProcessor.from_pretrained(tiny_qwen25vl_dir)
    exs = examples(2)
    data = dataproto(rlhf_dataset(write_verl(tmp_path, exs), processor, tmp_path), processor.tokenizer, rollouts(exs))
    fn = get_custom_reward_fn(OmegaConf.create({"reward": {"custom_reward_function": {
        "path": verl_adapter.__file__, "name": "compute_score_batched",
        "reward_kwargs": {"judge": judge, "runner_options": {"workers": 0, "batch_budget": 600}}}}}))
    out = BatchRewardManager(processor.tokenizer, 0, compute_score=fn)(data, return_dict=True)
    sent = proxy.requests
    assert sent >= len(exs)  # the judge really ran, through the proxy

    with RewardRunner(build_hybrid("perception_r1", perception=build_perception_reward(judge)), workers=0,
                      batch_budget=600) as r:
        expected = r.score(rollouts(exs), reward_rows(exs))
    assert proxy.requests == sent  # every answer came from the shared cache file
    assert out["reward_tensor"].sum(-1).tolist() == pytest.approx(expected.total, abs=1e-6)
    assert out["reward_extra_info"]["perception"] == pytest.approx(expected.components["perception"], abs=1e-6)


RANK_SCRIPT = r"""
import os, sys, time
from pathlib import Path
from perceptrl.rewards import verl_adapter
sync, rank, base_url, model, template = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
OPTIONS = {"workers": 0, "batch_budget": 600}
JUDGE = {"backend": "openai", "base_url": base_url, "model": model, "max_tokens": 8, "timeout": 120,
         "max_retries": 1, "cache_path": None, "max_concurrency": 4, "template_path": template,
         "extra": {"extra_headers": {"X-Rank": rank}}}

def phase(name, n=4):
    resp = [f"<think>The number on the red circle = {i}. {name} {rank}</think>" for i in range(n)]
    rows = [{"id": f"{rank}-{i}", "answer": "1", "visual_annotations": ["number on the red circle = 1"]} for i in range(n)]
    out = verl_adapter.compute_score_batched(["x"] * n, resp, ["1"] * n, rows, judge=JUDGE, runner_options=OPTIONS)
    assert len(out) == n

# build the limited phase's runner now (imports, math-verify warm-up), so both ranks start sending at "go"
verl_adapter._runner(*verl_adapter.resolve(None, JUDGE), OPTIONS, verl_adapter._total_concurrency(None))
(sync / f"ready{rank}").touch()
# the parent starts rounds "limited-0", "limited-1", ... until it has seen what it needs, then "free"
k = 0
while True:
    while not (sync / f"go-limited-{k}").exists() and not (sync / "go-free").exists():
        time.sleep(0.01)
    name = f"limited-{k}" if (sync / f"go-limited-{k}").exists() else "free"
    if name == "free":
        os.environ.pop("PERCEPTRL_JUDGE_TOTAL_CONCURRENCY")  # a new client is built without the limit
    phase(name)
    (sync / f"done-{name}{rank}").touch()
    if name == "free":
        break
    k += 1
"""


def _wait(paths, procs, timeout=180):
    t0 = time.monotonic()
    while not all(p.exists() for p in paths):
        for pr in procs:
            if pr.poll() not in (None, 0):
                raise AssertionError(f"rank process failed: {pr.stderr.read().decode()[-3000:]}")
        assert time.monotonic() - t0 < timeout, "rank processes did not get there in time"
        time.sleep(0.02)


def test_two_processes_share_one_judge_server_within_the_bound(proxy, llama_server_model, tmp_path):
    env = {**os.environ, "PERCEPTRL_JUDGE_TOTAL_CONCURRENCY": str(BOUND),
           "PERCEPTRL_JUDGE_LIMIT_DIR": str(tmp_path / "limits")}
    template = _judge(proxy.base_url, llama_server_model, tmp_path)["template_path"]
    procs = [subprocess.Popen([sys.executable, "-c", RANK_SCRIPT, str(tmp_path), str(r), proxy.base_url,
                               llama_server_model, template], env=env, stderr=subprocess.PIPE) for r in range(2)]
    try:
        _wait([tmp_path / f"ready{r}" for r in range(2)], procs)
        stats = {}

        def run(name):
            proxy.reset()
            (tmp_path / f"go-{name}").touch()
            _wait([tmp_path / f"done-{name}{r}" for r in range(2)], procs)
            stats[name] = (proxy.max_inflight, proxy.requests, set(proxy.ranks), proxy.overlap)

        for k in range(LIMITED_ROUNDS):
            run(f"limited-{k}")
            if stats[f"limited-{k}"][3] and stats[f"limited-{k}"][0] == BOUND:
                break
        run("free")
        for pr in procs:
            assert pr.wait(60) == 0, pr.stderr.read().decode()[-3000:]
    finally:
        for pr in procs:
            if pr.poll() is None:
                pr.kill()
    print(json.dumps({k: [v[0], v[1], sorted(v[2]), v[3]] for k, v in stats.items()}))
    limited = [v for k, v in stats.items() if k.startswith("limited")]
    for max_limited, n_limited, ranks, _ in limited:
        assert n_limited == 8 and ranks == {"0", "1"}
        assert max_limited <= BOUND  # never above the bound, in any round
    # in some round both processes had requests in flight at one moment and together they were at
    # the bound: one shared bound, not one per process
    assert any(overlap and max_limited == BOUND for max_limited, _, _, overlap in limited)
    assert stats["free"][0] > BOUND  # without the limit the same load goes past it
