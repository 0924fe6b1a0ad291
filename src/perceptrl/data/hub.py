"""A ``datasets`` table by local path or Hugging Face hub id: the one place that decides.

Used by the data readers (:mod:`perceptrl.data.formats.hf`, ``perceptrl data …``) and by the
benchmark loader (:mod:`perceptrl.eval.sources`), and — for :func:`looks_like_path` — by the model
loader, so that they agree on:

* whether a name is a local path or a hub id (:func:`looks_like_path`);
* which file suffix is read by which ``datasets`` builder (:data:`SUFFIX_BUILDERS`);
* what a ``save_to_disk`` folder is and how its split is picked (:func:`is_saved_dataset`,
  :func:`pick_split`, :func:`load_saved`);
* offline mode and its error: a hub id that is not in the local ``datasets`` cache is a
  :class:`PerceptrlError` at once, naming the fix (a local copy) — :func:`load_hub`;
* reading image columns undecoded (``{"bytes", "path"}``) without writing into the dataset's
  folder (:func:`undecoded`).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from perceptrl.errors import PerceptrlError

#: file suffix → the ``datasets`` packaged builder that reads it
SUFFIX_BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv", ".arrow": "arrow"}
DATA_SUFFIXES = tuple(SUFFIX_BUILDERS)


def looks_like_path(name: str) -> bool:
    """True for a name that is, or can only be, a local path: it exists, or a hub id (``name`` or
    ``org/name``) cannot be spelled that way — absolute, ``./`` or ``~`` relative, more than one
    ``/``, a backslash, or a data-file suffix."""
    name = str(name)
    return (
        Path(name).expanduser().exists()
        or name.startswith(("/", ".", "~"))
        or name.strip("/").count("/") > 1
        or "\\" in name
        or name.endswith(DATA_SUFFIXES)
    )


def is_saved_dataset(path: str | os.PathLike) -> bool:
    """A folder written by ``Dataset.save_to_disk`` (``state.json``) or ``DatasetDict.save_to_disk``
    (``dataset_dict.json``)."""
    p = Path(path)
    return p.is_dir() and ((p / "dataset_dict.json").exists() or (p / "state.json").exists())


def pick_split(ds, split: str | None, where: str, how: str = "--split / split="):
    """The split ``split`` of a ``DatasetDict`` (a ``Dataset`` is returned as is); with no split
    named, the only one. ``how``: how the user names a split, for the fix."""
    from datasets import DatasetDict

    if not isinstance(ds, DatasetDict):
        return ds
    if split in ds:
        return ds[split]
    names = ", ".join(ds)
    if split is None:
        if len(ds) == 1:
            return next(iter(ds.values()))
        raise PerceptrlError(f"the dataset has several splits: {names}", where=where, fix=f"choose one with {how}")
    raise PerceptrlError(f"split {split!r} not found (splits: {names})", where=where,
                         fix=f"pick one of the splits it has: {names} ({how})")


def load_saved(path: str | os.PathLike, split: str | None, how: str = "--split / split="):
    """The split of a ``save_to_disk`` folder."""
    import datasets

    return pick_split(datasets.load_from_disk(str(path)), split, str(path), how)


def load_files(files: list[Path] | Path, split: str = "train", where: str | None = None, **kwargs: Any):
    """Data files of one table through the builder of their suffix (all must share it)."""
    import datasets

    files = [files] if isinstance(files, (str, Path)) else list(files)
    where = where or str(files[0])
    kinds = {SUFFIX_BUILDERS.get(Path(p).suffix) for p in files}
    if None in kinds or len(kinds) != 1:
        raise PerceptrlError(
            f"cannot read {', '.join(sorted(Path(p).name for p in files))} as one table", where=where,
            fix=f"use one format per table: one of {', '.join(DATA_SUFFIXES)}",
        )
    try:
        return datasets.load_dataset(kinds.pop(), data_files=[str(p) for p in files], split=split, **kwargs)
    except PerceptrlError:
        raise
    except Exception as e:  # noqa: BLE001 - datasets wraps the cause ("An error occurred while generating")
        raise PerceptrlError(f"datasets cannot read {where}: {type(e).__name__}: {e}", where=where,
                             fix=f"check the files are complete {' / '.join(DATA_SUFFIXES)} tables") from e


def is_offline() -> bool:
    """Offline when ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE``/``TRANSFORMERS_OFFLINE`` is set."""
    import datasets

    return bool(datasets.config.HF_HUB_OFFLINE) or any(
        os.environ.get(k, "").upper() in {"1", "ON", "YES", "TRUE"}
        for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def in_cache(hub_id: str) -> bool:
    """Whether ``datasets`` has any cached build of ``hub_id`` (what offline mode can load)."""
    import datasets
    from datasets.naming import camelcase_to_snakecase

    ns = hub_id.split("/")
    ns[-1] = camelcase_to_snakecase(ns[-1])
    root = os.path.join(datasets.config.HF_DATASETS_CACHE, "___".join(ns))
    return any(os.path.isdir(p) for p in glob.glob(os.path.join(root, "*", "*", "*")))


def local_copy_fix(hub_id: str, config: str | None = None, split: str | None = None,
                   how: str = "pass DIR as the path") -> str:
    """How to give a hub dataset as a local copy (the fix of every could-not-load error)."""
    args = f"{hub_id!r}{', ' + repr(config) if config else ''}, split={split!r}"
    return (f"download it on a machine with hub access (`hf download {hub_id} --repo-type dataset --local-dir DIR`, "
            f"or `datasets.load_dataset({args}).save_to_disk(DIR)`), copy DIR here and use the local copy: {how}")


def load_hub(hub_id: str, split: str | None = None, config: str | None = None, *, offline: bool | None = None,
             how: str = "pass DIR as the path", **kwargs: Any):
    """``datasets.load_dataset(hub_id, config, split=split)`` with offline failures explained.

    ``offline`` (default: the environment, :func:`is_offline`): a hub id with no cached build is
    an error at once, without a network attempt. ``how``: how the caller passes a local path."""
    import datasets

    fix = local_copy_fix(hub_id, config, split, how)
    offline = is_offline() if offline is None else offline
    if offline and not in_cache(hub_id):
        raise PerceptrlError(f"dataset {hub_id!r} is not in the local cache and the hub is offline",
                             where=hub_id, fix=fix)
    try:
        return datasets.load_dataset(hub_id, config, split=split, **kwargs)
    except (ConnectionError, OSError) as e:
        raise PerceptrlError(f"dataset {hub_id!r} is not in the local cache and the hub cannot be reached ({e})",
                             where=hub_id, fix=fix) from e
    except Exception as e:  # noqa: BLE001 - e.g. DatasetNotFoundError, a bad config or split name
        raise PerceptrlError(f"could not load {hub_id!r} from the hub ({type(e).__name__}: {e})", where=hub_id,
                             fix=f"check the id/config/split, or {fix}") from e


def undecoded(ds) -> Iterator[dict[str, Any]]:
    """Rows with every ``Image`` column (top level or in a list) left undecoded (``{bytes, path}``),
    so that validation, not the reader, meets a corrupt image.

    Through an iterable view with decoding off: casting the columns instead would write a
    ``cache-*.arrow`` file into the user's dataset folder for list-of-image columns, and a
    read-only command must not touch the dataset it reads.
    """
    yield from ds.to_iterable_dataset().decode(False)
