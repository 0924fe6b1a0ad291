"""Write the parquet files verl and EasyR1 train from (``perceptrl data convert --to verl|easyr1``).

**verl** (columns read by ``verl.utils.dataset.rl_dataset.RLHFDataset`` and its reward managers,
verl 0.9.1): ``data_source``; ``prompt`` — chat messages whose ``content`` is a *string* with one
``<image>`` placeholder per image (verl splits it into image/text parts itself); ``images`` — a list
of images (``{"bytes", "path"}``, typed as ``Image`` so they load as PIL images); ``ability``;
``reward_model`` — ``{"style": "rule", "ground_truth": <gold answer>}``; ``extra_info`` — the
reward row fields of :func:`perceptrl.engines.rows.reward_fields` (index, id, problem, choices,
visual annotations, boxes, caption, precision, tolerance, the other metadata as JSON), which verl
hands to ``compute_score`` as ``extra_info``.

**EasyR1** (``verl/utils/dataset.py`` of hiyouga/EasyR1, with its default keys ``prompt_key:
problem``, ``answer_key: answer``, ``image_key: images``): ``problem`` (the text with ``<image>``
placeholders; EasyR1 adds its own instruction through ``data.format_prompt``, so the default
template here is ``plain``), ``images``, and ``answer`` — the *structured ground truth*
(:func:`perceptrl.engines.rows.encode_ground_truth`), since EasyR1 passes only ``ground_truth`` to a
reward function; :func:`perceptrl.rewards.verl_adapter.easyr1_compute_score` decodes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perceptrl.data.formats._hfwrite import quiet_datasets, rows_to_dataset
from perceptrl.data.formats._rows import check_text_writable, image_structs
from perceptrl.data.prompt import render_problem
from perceptrl.data.schema import IMAGE_PLACEHOLDER, Example
from perceptrl.engines.rows import encode_ground_truth, reward_fields
from perceptrl.errors import PerceptrlError

ENGINE_FORMATS = ("verl", "easyr1")


def prompt_text(ex: Example, template: str) -> str:
    """The problem rendered with ``template``, with one ``<image>`` per image (images first when
    the problem has no placeholders, as :func:`perceptrl.data.prompt.build_messages` places them)."""
    text = render_problem(ex, template)
    if ex.images and IMAGE_PLACEHOLDER not in text:
        text = IMAGE_PLACEHOLDER * len(ex.images) + text
    return text


def data_source(ex: Example) -> str:
    src = ex.metadata.get("source") or ex.metadata.get("data_source")
    return str(src) if src else "perceptrl"


def verl_rows(examples: Sequence[Example], template: str = "perception_r1") -> list[dict[str, Any]]:
    rows = []
    for i, ex in enumerate(examples):
        check_text_writable(ex)
        messages = []
        if ex.metadata.get("system_prompt"):
            messages.append({"role": "system", "content": str(ex.metadata["system_prompt"])})
        messages.append({"role": "user", "content": prompt_text(ex, template)})
        rows.append({
            "data_source": data_source(ex),
            "prompt": messages,
            "images": image_structs(ex),
            "ability": "perception",
            "reward_model": {"style": "rule", "ground_truth": ex.answer},
            "extra_info": reward_fields(ex, i),
        })
    return rows


def easyr1_rows(examples: Sequence[Example], template: str = "plain") -> list[dict[str, Any]]:
    rows = []
    for i, ex in enumerate(examples):
        check_text_writable(ex)
        rows.append({"problem": prompt_text(ex, template), "images": image_structs(ex),
                     "answer": encode_ground_truth(ex, i)})
    return rows


def write(examples: Sequence[Example], path: str | Path, *, engine: str = "verl", template: str | None = None,
          **_: Any) -> Path:
    """Write ``examples`` as ``engine``'s parquet (``.parquet`` only: both engines read parquet)."""
    path = Path(path)
    if engine not in ENGINE_FORMATS:
        raise PerceptrlError(f"unknown engine {engine!r}", where="--to", fix=f"use one of {', '.join(ENGINE_FORMATS)}")
    if path.suffix != ".parquet":
        raise PerceptrlError(f"{engine} reads parquet files, not {path.suffix or 'a folder'}", where=str(path),
                             fix=f"name the output <name>.parquet, e.g. {path.with_suffix('.parquet')}")
    try:
        if engine == "verl":
            rows = verl_rows(examples, template or "perception_r1")
        else:
            rows = easyr1_rows(examples, template or "plain")
    except OSError as e:
        raise PerceptrlError(f"cannot read an image: {e}", where=str(path),
                             fix="run `perceptrl data validate` on the source first") from e
    if not rows:
        raise PerceptrlError("no examples to write", where=str(path), fix="check the input (and --limit)")
    ds = rows_to_dataset(rows, image_list_columns=("images",))
    path.parent.mkdir(parents=True, exist_ok=True)
    with quiet_datasets():
        ds.to_parquet(str(path))
    return path
