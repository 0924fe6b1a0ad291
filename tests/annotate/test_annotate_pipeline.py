"""Stage 1 on the synthetic world: verification filter, extraction, resume, usage summary.

The extraction model here is a deterministic in-process text model (it lists the solution's
``name = value`` lines that are not arithmetic); the same pipeline against a real
OpenAI-compatible server is in tests/integration/test_judge_annotate.py.
"""

import asyncio
import json
import re
from collections import Counter
from dataclasses import replace

import pytest

from perceptrl.annotate import AnnotateConfig, annotate, parse_facts
from perceptrl.annotate.pipeline import cot_messages, read_progress
from perceptrl.errors import PerceptrlError
from perceptrl.judge.client import JudgeRequestError
from perceptrl.synth import generate


class LineExtractor:
    """Lists the solution's ``name = value`` lines that are not arithmetic, as <infoK> items."""

    def __init__(self, fail_ids=()):
        self.usage = Counter()
        self.fail_ids = set(fail_ids)
        self.seen = []

    async def complete(self, messages, **params):
        self.usage["requests"] += 1
        user = messages[-1]["content"]
        self.seen.append(user)
        if any(i in user for i in self.fail_ids):
            raise JudgeRequestError("server down")
        sol = user.split("Solution:\n", 1)[1]
        facts = [ln.strip() for ln in sol.splitlines() if "=" in ln and not re.search(r"\d\s*[-+*/]\s*\d", ln)]
        return "\n".join(f"<info{k}>{f}</info{k}>" for k, f in enumerate(facts, 1))


@pytest.fixture(scope="module")
def examples():
    exs = generate(6, seed=1)
    exs[1].metadata["cot"] = exs[1].metadata["cot"].replace(f"\\boxed{{{exs[1].answer}}}", "\\boxed{999}")
    exs[2].metadata["cot"] = [exs[2].metadata["cot"].replace(f"\\boxed{{{exs[2].answer}}}", "\\boxed{0}"),
                              exs[2].metadata["cot"]]  # the second chain verifies
    return exs


def test_keeps_verified_chains_and_extracts_facts(examples, tmp_path):
    ext = LineExtractor()
    res = asyncio.run(annotate(examples, AnnotateConfig(cot_column="cot"), extractor=ext,
                               progress_path=tmp_path / "p.jsonl", show_progress=False))
    status = {r.id: r.status for r in res.results}
    assert status[examples[1].id] == "dropped"  # its only chain has the wrong answer
    assert status[examples[2].id] == "kept" and res.results[2].cots_verified == 1
    kept = {e.id: e for e in res.examples}
    assert len(kept) == 5
    for e in examples:
        if e.id in kept:  # the synthetic chains state exactly the gold annotations
            assert kept[e.id].visual_annotations == e.visual_annotations
    assert ext.usage["requests"] == 5  # no extraction for the dropped row
    assert "kept 5, dropped 1" in res.summary() and "no chain of thought verifies" in res.summary()


def test_bug4_multiline_answer_block_decides_which_chains_are_kept(examples):
    """Reference bug 4: ``<answer>(.*?)</answer>`` without DOTALL misses a multi-line answer and
    falls back to the whole response. Here the answer block is read across lines: a chain whose
    reasoning boxes the gold value but whose answer is wrong is dropped, and a chain whose answer
    is right despite a wrong boxed guess in its reasoning is kept. Falling back to the whole
    response (the reference) would get both wrong, whichever boxed value it took."""
    ex = examples[0]
    gold = ex.answer
    facts = "\n".join(ex.visual_annotations)
    right = f"<think>\n{facts}\nfirst guess \\boxed{{999}}, no.\n</think>\n<answer>\nThe answer is\n{gold}\n</answer>"
    wrong = f"<think>\n{facts}\nso maybe \\boxed{{{gold}}}\n</think>\n<answer>\nThe answer is\n999\n</answer>"
    for cot in (right, wrong):
        assert re.search(r"<answer>(.*?)</answer>", cot) is None  # the reference's regex finds no answer
    rows = [replace(ex, id="right", metadata={**ex.metadata, "cot": right}),
            replace(ex, id="wrong", metadata={**ex.metadata, "cot": wrong})]
    res = asyncio.run(annotate(rows, AnnotateConfig(cot_column="cot"), extractor=LineExtractor(),
                               show_progress=False))
    assert [(r.id, r.status) for r in res.results] == [("right", "kept"), ("wrong", "dropped")]
    assert res.results[1].reason == "no chain of thought verifies"


def test_resume_skips_finished_rows_and_retries_errors(examples, tmp_path):
    prog = tmp_path / "p.jsonl"
    first = LineExtractor(fail_ids=[examples[3].problem.replace("<image>", "")])
    res1 = asyncio.run(annotate(examples, AnnotateConfig(cot_column="cot"), extractor=first,
                                progress_path=prog, show_progress=False))
    assert [r.status for r in res1.results].count("error") == 1
    assert len(read_progress(prog)) == 5
    prog.open("a").write('{"id": "torn wri')  # a run killed mid-write
    second = LineExtractor()
    res2 = asyncio.run(annotate(examples, AnnotateConfig(cot_column="cot"), extractor=second,
                                progress_path=prog, show_progress=False))
    assert second.usage["requests"] == 1  # only the row that failed before
    assert res2.usage["resumed"] == 5
    assert len(res2.examples) == 5 and all(r.status != "error" for r in res2.results)
    records = [json.loads(line) for line in prog.read_text().splitlines()]
    assert len(records) == 7  # 6 first run + 1 retry; the torn line was cut (eval.store.JsonlLog's repair)
    assert read_progress(prog)[examples[3].id].status == "kept"


def test_progress_is_the_eval_store_log(tmp_path):
    """One resumable JSONL log: stage 1 writes through :class:`perceptrl.eval.store.JsonlLog`; an
    ``error`` row is replaced by its retry, a final row is never replaced."""
    from perceptrl.annotate.pipeline import progress_log
    from perceptrl.eval.store import JsonlLog

    log = progress_log(tmp_path / "p.jsonl")
    assert isinstance(log, JsonlLog)
    log.append([{"id": "a", "status": "error", "reason": "down"}, {"id": "b", "status": "dropped"}])
    assert not log.done("a") and log.done("b")
    log.append([{"id": "a", "status": "kept", "annotations": ["x"]}, {"id": "b", "status": "kept"}])
    again = progress_log(tmp_path / "p.jsonl")
    assert {k: r.status for k, r in read_progress(tmp_path / "p.jsonl").items()} == {"a": "kept", "b": "dropped"}
    assert len(again.records()) == 2 and len((tmp_path / "p.jsonl").read_text().splitlines()) == 3


def test_parse_facts_tags_lists_and_cleaning():
    assert parse_facts("<info1>AB = 10</info1>\n<info2> angle ABC = 40° </info2><info3>AB = 10</info3>", 8) == [
        "AB = 10", "angle ABC = 40°"]
    assert parse_facts("Facts:\n1. AB = 10\n- BC = 3\n* <|im_start|>", 8) == ["AB = 10", "BC = 3"]
    assert parse_facts("\n".join(f"<info{k}>f{k}</info{k}>" for k in range(1, 12)), 3) == ["f1", "f2", "f3"]
    assert parse_facts("nothing useful", 8) == []


def test_cot_messages_send_images_as_data_urls(examples):
    msgs = cot_messages(examples[0])
    parts = msgs[0]["content"]
    assert parts[0]["type"] == "image_url" and parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert "\\boxed{}" in parts[-1]["text"]


def test_errors_before_work(examples):
    with pytest.raises(PerceptrlError, match="chain-of-thought"):
        asyncio.run(annotate(examples, AnnotateConfig(), extractor=LineExtractor(), show_progress=False))
    with pytest.raises(PerceptrlError, match="duplicate"):
        asyncio.run(annotate([examples[0], examples[0]], AnnotateConfig(cot_column="cot"),
                             extractor=LineExtractor(), show_progress=False))


def test_parse_facts_accepts_plain_fact_lines_from_small_models():
    """Qwen2.5-Coder-1.5B often answers the extraction prompt with bare lines ("AB = 2")."""
    assert parse_facts("AB = 2", 8) == ["AB = 2"]
    assert parse_facts("Here are the visual facts:\nAB = 2\nBC measures 7.", 8) == ["AB = 2", "BC measures 7."]
    assert parse_facts("I could not find any.", 8) == []
    assert parse_facts("<info1>AB = 2</info1>\nBC = 3", 8) == ["AB = 2"]  # tags win


def test_cot_images_are_decoded_as_the_policy_decodes_them(tmp_path):
    """Stage 1 must see the policy's pixels: EXIF orientation applied, alpha flattened onto white
    (a bare ``.convert("RGB")`` leaves a phone photo sideways and a transparent diagram black)."""
    import base64
    import io

    from PIL import Image

    from perceptrl.annotate.pipeline import image_data_url
    from perceptrl.data.images import EXIF_ORIENTATION, load_rgb_images
    from perceptrl.data.schema import Example

    photo = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = photo.getexif()
    exif[EXIF_ORIENTATION] = 6  # stored sideways: display rotated by 90°
    photo.save(tmp_path / "photo.jpg", exif=exif)
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(tmp_path / "clear.png")  # fully transparent
    ex = Example(id="x", images=["photo.jpg", "clear.png"], problem="<image><image> ?", answer="1",
                 root=str(tmp_path))
    sent = [Image.open(io.BytesIO(base64.b64decode(image_data_url(ex, i).split(",", 1)[1]))) for i in range(2)]
    policy = load_rgb_images(ex)
    assert sent[0].size == policy[0].size == (20, 40)  # upright
    assert sent[1].convert("RGB").getpixel((0, 0)) == policy[1].getpixel((0, 0)) == (255, 255, 255)
    assert sent[1].convert("RGB").tobytes() == policy[1].tobytes()
