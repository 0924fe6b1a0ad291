"""Fixtures for the data tests (helpers live in ``data_fixtures.py``, importable by test modules)."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_fixtures import write_seeded_jsonl


@pytest.fixture
def seeded_jsonl(tmp_path: Path) -> Path:
    """A JSONL + image folder dataset with one row per bad-input kind, plus good rows."""
    return write_seeded_jsonl(tmp_path)
