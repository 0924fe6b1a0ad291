"""Validation that fails early: every bad row, with file, row, field, reason and the fix.

Checks, per example (codes in brackets; ``warning`` rows are handled automatically by
:func:`perceptrl.data.images.load_rgb_images` and do not block training):

- images: none at all [no_image] (unless ``metadata["text_only"]``: a benchmark's text-only version); empty entry or missing file [missing_image]; path escaping the
  dataset folder through ``..``, an absolute path or a symlink [path_escape] (never opened);
  undecodable [corrupt_image] or cut short [truncated_image] bytes — every image is fully decoded
  with ``Image.load()``; more pixels than PIL's ``MAX_IMAGE_PIXELS`` [decompression_bomb];
  CMYK / palette / alpha / 16-bit modes [image_mode, warning]; EXIF rotation [exif_rotated,
  warning]; pixel count outside ``[min_pixels, max_pixels]`` [pixels_out_of_bounds: a warning from
  the API, an error from the CLI, see ``pixel_bounds``]; aspect ratio
  over 200, which Qwen-VL's ``smart_resize`` refuses [aspect_ratio];
- text: ``<image>`` placeholders ≠ images [placeholder_mismatch] (none at all is a warning: perceptrl
  puts the images first, EasyR1 would crash) [no_placeholder]; vision special tokens such as
  ``<|image_pad|>`` typed into the text [vision_token_in_text]; empty answer [empty_answer];
  duplicate ids [duplicate_id];
- text stored as bytes: a text field (problem, answer, id, choices, caption, annotations) read from
  a ``binary`` column [binary_text; ``--fix`` stores it as text], or holding bytes that are not
  UTF-8 [not_utf8] — never turned into ``"b'...'"`` text;
- annotations / boxes: malformed ``visual_key_info`` or annotation items [malformed_annotations];
  unreadable or impossible boxes [malformed_boxes];
- with a processor: the prompt is built exactly as training builds it
  (:func:`perceptrl.data.prompt.build_messages` → ``processor.apply_chat_template`` with the images,
  as TRL's GRPOTrainer does) and its ``input_ids`` counted [prompt_too_long]; the processor failing
  [processor_error]; image tokens in ``input_ids`` ≠ image features from ``image_grid_thw``
  [image_token_mismatch] — the "image features and image tokens do not match" crash, caught here.

``fix_examples`` repairs what is mechanical (resize into bounds, convert mode, EXIF transpose),
returning new examples for the repaired rows and the *same objects* for every other row.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from PIL import Image

from perceptrl.data.annotations import VISUAL_KEY_INFO_FIX, AnnotationFormatError, annotation_problem, parse_visual_key_info
from perceptrl.data.formats._rows import BINARY_TEXT_KEY
from perceptrl.data.image_checks import image_issues
from perceptrl.data.images import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, encode_image, fit_pixels, to_rgb
from perceptrl.data.prompt import build_messages
from perceptrl.data.schema import IMAGE_PLACEHOLDER, Example
from perceptrl.data.validation_report import Issue, ValidationReport
from perceptrl.errors import PerceptrlError

logger = logging.getLogger(__name__)

# Special tokens that must never appear as text: each one the processor expands or counts.
VISION_TOKENS = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>")


def _text_issues(ex: Example, row: int, vision_tokens: Sequence[str]) -> list[Issue]:
    issues = []
    n_ph = ex.problem.count(IMAGE_PLACEHOLDER)
    n_img = len(ex.images)
    if n_ph and n_img and n_ph != n_img:
        issues.append(
            Issue(
                row, ex.id, "problem", "placeholder_mismatch",
                f"{n_ph} <image> placeholder(s) for {n_img} image(s)",
                "put exactly one <image> in the problem per image (or none: images then go first)",
            )
        )
    elif n_img and not n_ph:
        issues.append(
            Issue(
                row, ex.id, "problem", "no_placeholder",
                f"no <image> placeholder for {n_img} image(s); perceptrl puts the images before the text",
                "add <image> where the image belongs (EasyR1/verl need it)",
                "warning",
            )
        )
    for fld, text in (("problem", ex.problem), ("answer", ex.answer)):
        found = [t for t in vision_tokens if t in text]
        if found:
            issues.append(
                Issue(
                    row, ex.id, fld, "vision_token_in_text",
                    f"contains the special token(s) {', '.join(found)}, which the processor would expand or count as image tokens",
                    "remove them (write <image> for an image position)",
                )
            )
    if not ex.answer.strip():
        issues.append(Issue(row, ex.id, "answer", "empty_answer", "the answer is empty", "fill in the gold answer or drop the row"))
    if not ex.problem.strip().replace(IMAGE_PLACEHOLDER, ""):
        issues.append(Issue(row, ex.id, "problem", "empty_problem", "the problem text is empty", "fill in the question or drop the row"))
    return issues


def _encoding_issues(ex: Example, row: int) -> list[Issue]:
    """Text fields that arrived as bytes (see :data:`perceptrl.data.formats._rows.BINARY_TEXT_KEY`)."""
    issues = []
    for fld, (column, problem) in (ex.metadata.get(BINARY_TEXT_KEY) or {}).items():
        if problem is None:
            issues.append(
                Issue(
                    row, ex.id, fld, "binary_text",
                    f"column {column!r} is binary (bytes), not a string column; it is valid UTF-8 text",
                    f"cast the column to string (pyarrow: `table.cast(...)` with pa.string() for {column!r}; "
                    f"pandas: `df[{column!r}].str.decode('utf-8')`); `--fix` stores it as text",
                )
            )
        else:
            issues.append(
                Issue(
                    row, ex.id, fld, "not_utf8",
                    f"column {column!r} holds bytes that are not UTF-8 text: {problem}",
                    f"decode {column!r} with the encoding it was written in (pandas: "
                    f"`df[{column!r}].str.decode('cp1252')`) and store UTF-8 strings",
                )
            )
    return issues


def _annotation_issues(ex: Example, row: int) -> list[Issue]:
    issues = []
    raw = ex.metadata.get("visual_key_info")
    if isinstance(raw, str) and not ex.visual_annotations:
        try:
            parse_visual_key_info(raw)
        except AnnotationFormatError as e:
            issues.append(
                Issue(
                    row, ex.id, "visual_key_info", "malformed_annotations", str(e),
                    VISUAL_KEY_INFO_FIX,
                )
            )
    for i, a in enumerate(ex.visual_annotations, 1):
        problem = annotation_problem(a, i)
        if problem:
            issues.append(
                Issue(row, ex.id, f"visual_annotations[{i - 1}]", "malformed_annotations", problem, "make each annotation one non-empty statement")
            )
    return issues


def _box_issues(ex: Example, row: int, sizes: dict[int, tuple[int, int]]) -> list[Issue]:
    if "boxes" in ex.metadata:
        return [Issue(row, ex.id, "boxes", "malformed_boxes", f"unreadable boxes: {str(ex.metadata['boxes'])[:80]}", "give boxes as [x0, y0, x1, y1] or {x0, y0, x1, y1}")]
    issues = []
    for j, b in enumerate(ex.boxes):
        reason = None
        if not (b.x1 > b.x0 and b.y1 > b.y0):
            reason = f"box {b.as_list()} has no area (need x1 > x0 and y1 > y0)"
        elif not 0 <= b.image_index < len(ex.images):
            reason = f"box refers to image {b.image_index}, the row has {len(ex.images)}"
        elif b.image_index in sizes:
            w, h = sizes[b.image_index]
            if b.x0 < 0 or b.y0 < 0 or b.x1 > w or b.y1 > h:
                reason = f"box {b.as_list()} lies outside the {w}x{h} image"
        if reason:
            issues.append(Issue(row, ex.id, f"boxes[{j}]", "malformed_boxes", reason, "use original-image pixel coordinates x0 < x1, y0 < y1"))
    return issues


def count_prompt_tokens(processor: Any, example: Example, images: Sequence[Image.Image], template: str = "perception_r1") -> tuple[int, int | None, int | None]:
    """(prompt tokens, image tokens in input_ids, image features expected) as TRL's GRPOTrainer
    tokenizes the prompt: ``apply_chat_template(..., add_generation_prompt=True, tokenize=True)``
    with the images inside the messages. The last two are ``None`` when the processor does not
    expose ``image_token_id`` / ``image_grid_thw``."""
    messages = build_messages(example, template)
    it = iter(images)
    for msg in messages:
        msg["content"] = [{**p, "image": next(it)} if p.get("type") == "image" else p for p in msg["content"]]
    out = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
    ids = out["input_ids"]
    ids = ids[0] if len(ids) and not isinstance(ids[0], int) else ids
    ids = [int(t) for t in ids]
    token_id = getattr(processor, "image_token_id", None)
    n_img_tokens = sum(1 for t in ids if t == token_id) if token_id is not None else None
    expected = None
    grid = out.get("image_grid_thw") if hasattr(out, "get") else None
    merge = getattr(getattr(processor, "image_processor", None), "merge_size", None)
    if grid is not None and merge:
        expected = int(sum(int(t) * int(h) * int(w) for t, h, w in grid)) // (merge * merge)
    return len(ids), n_img_tokens, expected


def _processor_issues(ex: Example, row: int, processor: Any, images: list[Image.Image], max_prompt_length: int | None, template: str, lengths: dict[int, int]) -> list[Issue]:
    try:
        n, n_img_tokens, expected = count_prompt_tokens(processor, ex, images, template)
    except Exception as e:  # noqa: BLE001 - whatever the processor raises is this row's problem
        return [Issue(row, ex.id, "problem", "processor_error", f"the processor fails on this row: {type(e).__name__}: {e}", "fix the text/images named in the message")]
    lengths[row] = n
    issues = []
    if n_img_tokens is not None and expected is not None and n_img_tokens != expected:
        issues.append(
            Issue(
                row, ex.id, "problem", "image_token_mismatch",
                f"{n_img_tokens} image tokens in the prompt but {expected} image features: training would crash with 'image features and image tokens do not match'",
                "check the <image> placeholders and remove special tokens from the text",
            )
        )
    if max_prompt_length is not None and n > max_prompt_length:
        issues.append(
            Issue(
                row, ex.id, "problem", "prompt_too_long",
                f"prompt is {n} tokens with its images ({n_img_tokens if n_img_tokens is not None else '?'} image tokens) > max_prompt_length {max_prompt_length}",
                f"raise max_prompt_length to >= {n}, lower max_pixels, or drop the row",
            )
        )
    return issues


def validate_examples(
    examples: Sequence[Example],
    *,
    processor: Any = None,
    min_pixels: int | None = DEFAULT_MIN_PIXELS,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_prompt_length: int | None = None,
    source: str = "file",
    template: str = "perception_r1",
    pixel_bounds: str = "warning",
    progress: bool = False,
    path: str | None = None,
) -> ValidationReport:
    """Check every example; never raises for bad data (see the module doc for the checks).

    ``min_pixels``/``max_pixels`` default to the Perception-R1 recipe's bounds (3,136..1,806,336).
    ``pixel_bounds``: how an image outside them counts — ``"warning"`` (default: training and
    eval resize it, as Qwen-VL processors do between their own bounds; benchmarks must score every
    row), ``"error"`` (the data must already match the recipe; ``perceptrl data validate`` uses this
    so that ``--fix`` stores resized images) or ``"off"``.
    The prompt-length check needs ``processor``; images are fed to it as training feeds them,
    through :func:`load_rgb_images` with the same ``min_pixels``/``max_pixels``.
    """
    if pixel_bounds not in ("error", "warning", "off"):
        raise PerceptrlError(f"pixel_bounds must be error, warning or off, not {pixel_bounds!r}", where="pixel_bounds", fix="use one of: error, warning, off")
    report = ValidationReport(source=source, n_rows=len(examples), path=path)
    vision_tokens = list(VISION_TOKENS)
    if processor is not None and getattr(processor, "image_token", None) and processor.image_token not in vision_tokens:
        vision_tokens.append(processor.image_token)
    id_counts = Counter(ex.id for ex in examples)
    rows = range(len(examples))
    if progress:
        from tqdm.auto import tqdm

        rows = tqdm(rows, desc=f"validating {source}", unit="row")
    for row in rows:
        ex = examples[row]
        issues: list[Issue] = []
        if id_counts[ex.id] > 1:
            issues.append(Issue(row, ex.id, "id", "duplicate_id", f"id {ex.id!r} appears {id_counts[ex.id]} times", "give every row a unique id"))
        if not ex.images and not ex.metadata.get("text_only"):  # text-only rows (MathVerse "Text Only") are meant so
            issues.append(Issue(row, ex.id, "images", "no_image", "the row has no image", "add the image or drop the row"))
        decoded: dict[int, Image.Image] = {}
        for k in range(len(ex.images)):
            img_issues, img = image_issues(ex, row, k, min_pixels, max_pixels, pixel_bounds)
            issues.extend(img_issues)
            if img is not None:
                decoded[k] = img
        images_ok = (bool(ex.images) or bool(ex.metadata.get("text_only"))) and len(decoded) == len(ex.images)
        sizes = {k: img.size for k, img in decoded.items()}
        issues.extend(_encoding_issues(ex, row))
        issues.extend(_text_issues(ex, row, vision_tokens))
        issues.extend(_annotation_issues(ex, row))
        issues.extend(_box_issues(ex, row, sizes))
        if processor is not None and images_ok and not any(i.code in ("placeholder_mismatch", "aspect_ratio") for i in issues):
            # what load_rgb_images(ex, min_pixels=..., max_pixels=...) returns, without decoding again
            images = [fit_pixels(to_rgb(decoded[k]), min_pixels, max_pixels) for k in range(len(ex.images))]
            issues.extend(_processor_issues(ex, row, processor, images, max_prompt_length, template, report.prompt_lengths))
        report.issues.extend(issues)
    return report


def ensure_valid(examples: Sequence[Example], **kwargs: Any) -> ValidationReport:
    """:func:`validate_examples`, raising one :class:`PerceptrlError` that lists every bad row.

    Train and eval call this before any expensive work. Warnings are logged, not raised.
    """
    report = validate_examples(examples, **kwargs)
    by_code: dict[str, list[Issue]] = {}
    for w in report.warnings:
        by_code.setdefault(w.code, []).append(w)
    for code, ws in by_code.items():  # one line per kind: a benchmark without placeholders is 1,000 rows
        ids = ", ".join(repr(w.id) for w in ws[:5]) + (", …" if len(ws) > 5 else "")
        logger.warning("%s: %d rows [%s] %s (ids %s)", report.source, len(ws), code, ws[0].reason, ids)
    if not report.ok:
        raise report.to_error()
    return report


def fix_examples(
    examples: Sequence[Example],
    report: ValidationReport,
    *,
    min_pixels: int | None = DEFAULT_MIN_PIXELS,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> tuple[list[Example], list[int]]:
    """Repair the mechanical problems in ``report`` (resize into bounds, convert mode, EXIF
    transpose, binary text columns that are valid UTF-8 stored as text). Returns (examples, rows
    changed): repaired rows are new :class:`Example` objects whose repaired images are re-encoded
    bytes; every other row is the original object."""
    todo: dict[int, set[int]] = {}
    for i in report.issues:
        if i.fixable and i.field.startswith("images["):
            todo.setdefault(i.row, set()).add(int(i.field[len("images[") : -1]))
        elif i.code == "binary_text":
            todo.setdefault(i.row, set())
    out = list(examples)
    for row, ks in sorted(todo.items()):
        ex = examples[row]
        metadata = dict(ex.metadata)
        marks = {f: m for f, m in (metadata.pop(BINARY_TEXT_KEY, None) or {}).items() if m[1] is not None}
        if marks:  # bytes that are not UTF-8 stay reported
            metadata[BINARY_TEXT_KEY] = marks
        images = list(ex.images)
        for k in sorted(ks):
            img = ex.load_image(k)
            fmt = img.format
            img.load()
            fixed = fit_pixels(to_rgb(img), min_pixels, max_pixels)
            fixed.format = fmt  # keep JPEG as JPEG (encode_image picks the format from it)
            images[k] = encode_image(fixed)
        out[row] = replace(ex, images=images, metadata=metadata)
    return out, sorted(todo)
