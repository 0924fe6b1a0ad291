"""Rows -> ``datasets.Dataset`` with image columns typed as ``Image`` (so loaders decode them)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from perceptrl.errors import PerceptrlError


@contextlib.contextmanager
def quiet_datasets() -> Iterator[None]:
    """Silence ``datasets``' per-call progress bars for small writes; restores the previous state."""
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def rows_to_dataset(
    rows: Sequence[dict[str, Any]],
    *,
    image_list_columns: Sequence[str] = (),
    image_columns: Sequence[str] = (),
):
    from datasets import Dataset, Image, List

    with quiet_datasets():
        try:
            ds = Dataset.from_list(list(rows))
        except Exception as e:  # noqa: BLE001 - arrow type inference errors name the column
            raise PerceptrlError(
                f"cannot build a table from these examples: {e}",
                where="metadata columns",
                fix="make each metadata key hold one type across all examples",
            ) from e
        for col in image_list_columns:
            if col in ds.column_names:
                ds = ds.cast_column(col, List(Image()))
        for col in image_columns:
            if col in ds.column_names:
                ds = ds.cast_column(col, Image())
    return ds
