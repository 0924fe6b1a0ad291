"""Validation: every bad row reported with its reason; prompt length with the real tiny processor; --fix."""

from __future__ import annotations

import io

import pytest
from data_fixtures import GOOD_IDS, MAX_PIXELS, MIN_PIXELS, SEEDED_ERRORS, SEEDED_WARNINGS, png_bytes
from PIL import Image

from perceptrl.data.io import read_examples
from perceptrl.data.schema import Example
from perceptrl.data.validate import count_prompt_tokens, ensure_valid, fix_examples, validate_examples
from perceptrl.errors import PerceptrlError


def _codes(report, severity):
    out: dict[str, set[str]] = {}
    for i in report.issues:
        if i.severity == severity:
            out.setdefault(i.id, set()).add(i.code)
    return out


def test_every_bad_row_is_reported_with_its_reason(seeded_jsonl):
    examples = read_examples(seeded_jsonl)
    report = validate_examples(examples, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, pixel_bounds="error", source=str(seeded_jsonl))
    assert _codes(report, "error") == SEEDED_ERRORS
    assert _codes(report, "warning") == SEEDED_WARNINGS
    bad_ids = {examples[r].id for r in report.bad_rows}
    assert bad_ids == set(SEEDED_ERRORS) and not bad_ids & set(GOOD_IDS)
    for issue in report.errors:
        assert issue.reason and issue.fix and issue.field
    assert "16 bad" in report.summary()


def test_ensure_valid_lists_every_bad_row_in_one_error(seeded_jsonl):
    examples = read_examples(seeded_jsonl)
    with pytest.raises(PerceptrlError) as err:
        ensure_valid(examples, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, pixel_bounds="error", source="seeded.jsonl")
    msg = str(err.value)
    assert "16 of 23 rows of seeded.jsonl are invalid" in msg
    for bad_id in SEEDED_ERRORS:
        assert f"(id {bad_id!r})" in msg
    good = [e for e in examples if e.id in GOOD_IDS]
    report = ensure_valid(good, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, pixel_bounds="error")
    assert report.ok and len(report.warnings) == 4


def test_duplicate_ids_and_in_memory_images():
    img = Image.new("RGB", (64, 64))
    rows = [Example("a", [img], "<image>?", "1"), Example("a", [png_bytes()], "<image>?", "2"), Example("b", [img], "?", "1")]
    report = validate_examples(rows)
    assert _codes(report, "error") == {"a": {"duplicate_id"}}
    assert _codes(report, "warning") == {"b": {"no_placeholder"}}


def test_fix_repairs_mechanical_problems_and_leaves_good_rows_alone(seeded_jsonl):
    examples = read_examples(seeded_jsonl)
    report = validate_examples(examples, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, pixel_bounds="error")
    fixed, changed = fix_examples(examples, report, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    changed_ids = {examples[r].id for r in changed}
    assert changed_ids == {"too-small", "too-big", "cmyk", "palette", "rgba", "rotated"}
    for r, (before, after) in enumerate(zip(examples, fixed, strict=True)):
        if r not in changed:
            assert after is before  # untouched: the very same object
    by_id = {e.id: e for e in fixed}
    rotated = Image.open(io.BytesIO(by_id["rotated"].images[0]))
    assert rotated.size == (60, 80) and rotated.mode == "RGB" and rotated.format == "JPEG"
    after = validate_examples(fixed, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, pixel_bounds="error")
    assert {fixed[r].id for r in after.bad_rows} == set(SEEDED_ERRORS) - {"too-small", "too-big"}
    assert not after.warnings or {w.code for w in after.warnings} == set()


@pytest.fixture(scope="module")
def tiny_processor(tiny_qwen25vl_dir):
    from perceptrl.data.cli import load_processor

    return load_processor(str(tiny_qwen25vl_dir))


def test_prompt_tokens_include_image_tokens_expanded_like_the_processor(tiny_processor):
    # Qwen2.5-VL: 14-px patches merged 2x2 -> one token per 28x28 pixels
    small = Example("s", [Image.new("RGB", (56, 56))], "<image>What is x?", "1")
    large = Example("l", [Image.new("RGB", (224, 168))], "<image>What is x?", "1")  # under the tiny max_pixels
    n_small, img_small, exp_small = count_prompt_tokens(tiny_processor, small, [small.images[0]])
    n_large, img_large, exp_large = count_prompt_tokens(tiny_processor, large, [large.images[0]])
    assert (img_small, exp_small) == (4, 4)
    assert (img_large, exp_large) == (48, 48)
    assert n_large - n_small == 44
    assert n_small > 4 + 50  # the Perception-R1 instruction is in the prompt


def test_prompt_too_long_caught_with_the_real_processor(seeded_jsonl, tiny_processor):
    examples = read_examples(seeded_jsonl)
    report = validate_examples(
        examples, processor=tiny_processor, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, pixel_bounds="error", max_prompt_length=300
    )
    errors = _codes(report, "error")
    assert errors.pop("long-prompt") == {"prompt_too_long"}
    # the literal <|image_pad|> also makes the real processor fail: reported, not raised
    assert errors.pop("vision-token") == {"vision_token_in_text", "processor_error"}
    assert errors == {k: v for k, v in SEEDED_ERRORS.items() if k != "vision-token"}
    by_id = {examples[r].id: n for r, n in report.prompt_lengths.items()}
    assert by_id["long-prompt"] > 300 > by_id["good-png"]
    (issue,) = [i for i in report.errors if i.id == "long-prompt"]
    assert f">= {by_id['long-prompt']}" in issue.fix


def test_pixel_bounds_are_a_warning_by_default_error_or_off_on_request(seeded_jsonl):
    examples = [e for e in read_examples(seeded_jsonl) if e.id in ("too-small", "too-big", "good-png")]
    kw = dict(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    warned = validate_examples(examples, **kw)  # the library default: train/eval resize
    assert warned.ok and _codes(warned, "warning") == {"too-small": {"pixels_out_of_bounds"}, "too-big": {"pixels_out_of_bounds"}}
    errors = validate_examples(examples, pixel_bounds="error", **kw)
    assert {examples[r].id for r in errors.bad_rows} == {"too-small", "too-big"}
    assert validate_examples(examples, pixel_bounds="off", **kw).issues == []
    with pytest.raises(PerceptrlError, match="pixel_bounds"):
        validate_examples(examples, pixel_bounds="maybe")


def test_ensure_valid_logs_one_line_per_warning_kind(caplog):
    rows = [Example(str(i), [png_bytes()], "no placeholder here", "1") for i in range(30)]
    with caplog.at_level("WARNING", logger="perceptrl.data.validate"):
        report = ensure_valid(rows, source="bench")
    assert report.ok and len(report.warnings) == 30
    (line,) = caplog.messages
    assert "30 rows [no_placeholder]" in line and "'0', '1'" in line


def test_prompt_tokens_with_the_tiny_qwen2vl_processor_too(tiny_qwen2vl_dir):
    from perceptrl.data.cli import load_processor

    processor = load_processor(str(tiny_qwen2vl_dir))
    ex = Example("q2", [Image.new("RGB", (112, 84))], "<image>What is x?", "1")
    n, img_tokens, expected = count_prompt_tokens(processor, ex, [ex.images[0]])
    assert img_tokens == expected == 12 and n > img_tokens
