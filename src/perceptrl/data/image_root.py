"""Where relative image paths resolve: the data file's folder, a folder the user names, or (found
automatically) a folder above it.

Repositories often keep the rows and the images side by side under a common root, with paths
relative to that root: MATH-V ships ``data/test.jsonl`` with ``"image": "images/4.jpg"`` and the
images in ``images/`` at the repository root. Read as-is, every row would be a missing image.
:func:`apply_image_root` sets ``Example.root`` to ``image_root`` when given, else, when the
first rows' relative paths are missing beside the file but all present in a parent folder (up to
two levels up), to that parent — the only unambiguous case; otherwise nothing changes and
validation names the missing files.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError

logger = logging.getLogger(__name__)

PROBE_ROWS = 8
PARENT_LEVELS = 2


def _relative_paths(examples: Sequence[Example]) -> list[str]:
    out: list[str] = []
    for ex in examples:
        for src in ex.images:
            if isinstance(src, str) and src and not Path(src).is_absolute():
                out.append(src)
        if len(out) >= PROBE_ROWS:
            break
    return out[:PROBE_ROWS]


def apply_image_root(examples: Sequence[Example], image_root: str | Path | None = None, *, source: str = "data") -> None:
    """Set ``root`` of every example (in place): ``image_root``, or a parent found as above."""
    if image_root is not None:
        root = Path(image_root).expanduser()
        if not root.is_dir():
            raise PerceptrlError(f"image root is not a folder: {image_root}", where="--image-root",
                                 fix="give the folder that the rows' relative image paths start from")
        resolved = str(root.resolve())
        for ex in examples:
            ex.root = resolved
        return
    paths = _relative_paths(examples)
    roots = {ex.root for ex in examples if ex.root}
    if not paths or len(roots) != 1:
        return
    base = Path(next(iter(roots)))
    if all((base / p).exists() for p in paths):
        return
    candidate = base
    for _ in range(PARENT_LEVELS):
        candidate = candidate.parent
        if all((candidate / p).is_file() for p in paths):
            logger.info("%s: image paths resolve against %s (not the data file's folder %s)", source, candidate, base)
            for ex in examples:
                ex.root = str(candidate)
            return
