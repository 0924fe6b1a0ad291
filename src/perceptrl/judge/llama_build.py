"""Provisioning llama.cpp's ``llama-server`` for :mod:`perceptrl.judge.local_server`: compiled once
from the llama.cpp tree vendored in the pinned ``llama-cpp-python`` sdist and cached under
``~/.cache/perceptrl`` (``$PERCEPTRL_CACHE``), or ``$PERCEPTRL_LLAMA_SERVER`` (nothing is built).
Also the shared pieces of provisioning: the cache folder, the per-artefact ``fcntl`` lock, running
a build step and ``pip download``."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
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


@contextlib.contextmanager
def scratch_dir(parent: Path, prefix: str) -> Iterator[Path]:
    """A temporary folder ``parent/prefix*`` for a build or download, deleted afterwards.

    Call it holding the lock of that build or download: then any older ``prefix*`` folder was left by
    a process that was killed mid-way (its 1 GB of chunks would otherwise stay in the cache for ever)
    and is removed first."""
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(prefix + "*"):
        if stale.is_dir():
            log.info("removing %s, left by an interrupted run", stale)
            shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=parent, prefix=prefix) as tmp:
        yield Path(tmp)


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
    t0 = time.monotonic()
    with scratch_dir(target.parent, "build-llama-server-") as tmp:
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
