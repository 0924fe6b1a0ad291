"""Session fixtures shared by every test package.

``tiny_qwen25vl_dir`` / ``tiny_qwen2vl_dir``: directories holding a saved tiny, random-init
Qwen2.5-VL / Qwen2-VL (model + image-only processor), loadable with
``AutoModelForImageTextToText`` / ``AutoProcessor`` (after ``import perceptrl.models``) or
``perceptrl.models.load_vlm``. Built once and cached under ``~/.cache/perceptrl/tiny/``
(``$PERCEPTRL_CACHE/tiny`` if set) by :func:`perceptrl.models.tiny_model_dir`; treat them as
read-only (copy before modifying).

Torch runs single-threaded in tests (``OMP_NUM_THREADS=1`` unless already set; inherited by
subprocesses): the tiny models gain nothing from intra-op threads, and on a shared 2-core
machine two threads per process made a tiny forward/backward ~10x slower (measured: 2.8 s vs
0.33 s per step with other test runs on the box).

The hub is off (``HF_HUB_OFFLINE=1``): tests never download, and a lookup of a missing id fails
at once instead of retrying.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before anything imports torch
# No hub access in tests (docs/architecture.md): fail fast instead of ~20 s of retries per lookup.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_qwen25vl_dir() -> Path:
    from perceptrl.models import tiny_model_dir

    return tiny_model_dir("qwen2_5_vl")


@pytest.fixture(scope="session")
def tiny_qwen2vl_dir() -> Path:
    from perceptrl.models import tiny_model_dir

    return tiny_model_dir("qwen2_vl")
