"""Run an evaluation: load benchmarks → generate (resumable) → score → metrics → report.

A run is a folder:

==========================  ================================================================
``run.json``                model, protocol, decoding, template, benchmarks (checked on rerun)
``items.jsonl``             one record per item: bench, id, problem, answer, choices, metadata,
                            visual annotations (so a run can be rescored without the data)
``responses.jsonl``         one record per (bench, item id, sample index): prompt, response,
                            decoding; appended and fsync-ed per record (:mod:`.store`)
``scores/<protocol>.jsonl`` per-response verdicts under a protocol's scorer
``scores/<protocol>.json``  metrics per benchmark under that protocol
``summary.json``            the metrics of the run's own protocol
``report.md``, ``.png``     table and plot (:mod:`.report`)
==========================  ================================================================

Rerunning the same command skips every finished (bench, id, sample); a run killed at any point
loses at most the batch in flight and never duplicates a record.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError
from perceptrl.eval.benchmarks import base_name, load_benchmark
from perceptrl.eval.generate import iter_generate_hf, iter_generate_vllm
from perceptrl.eval.harnesses import HARNESSES, harness_scorer
from perceptrl.eval.metrics import bench_metrics
from perceptrl.eval.protocols import Protocol, get_protocol
from perceptrl.eval.provenance import judge_settings, perceptrl_version, template_hash
from perceptrl.eval.report import write_report
from perceptrl.eval.scoring import score_response
from perceptrl.eval.store import (
    ITEMS_FILE,
    RESPONSES_FILE,
    RUN_FILE,
    JsonlLog,
    item_key,
    load_run,
    response_key,
    write_json_atomic,
    write_text_atomic,
)

log = logging.getLogger(__name__)

def _json_safe(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def item_record(bench: str, ex: Example) -> dict[str, Any]:
    return {
        "bench": bench,
        "id": ex.id,
        "problem": ex.problem,
        "answer": ex.answer,
        "choices": ex.choices,
        "visual_annotations": list(ex.visual_annotations),
        "metadata": _json_safe({**ex.metadata, "bench": ex.metadata.get("bench", bench)}),
    }


def _check_run_config(out: Path, config: dict) -> None:
    """A rerun must use the same model, decoding and template, or results would mix."""
    path = out / RUN_FILE
    if not path.exists():
        write_json_atomic(path, config)
        return
    old = json.loads(path.read_text())
    for key in ("model", "decoding", "template"):
        if old.get(key) != config.get(key):
            raise PerceptrlError(
                f"this run folder holds results for {key}={old.get(key)!r}, not {config.get(key)!r}",
                where=str(path),
                fix="rerun with the same settings to resume, or pass a new --out folder",
            )
    benches = {b["name"]: b for b in old.get("benches", [])}
    for b in config["benches"]:
        benches.setdefault(b["name"], b)
    write_json_atomic(path, {**old, "benches": list(benches.values()), "protocol": config["protocol"]})


def load_examples(
    benches: Sequence[tuple[str, str | None]], *, limit: int | None = None, offline: bool | None = None, seed: int = 0,
    image_root: str | None = None,
) -> dict[str, list[Example]]:
    """Load every benchmark first, so a bad source fails before any model is loaded."""
    return {name: load_benchmark(name, src, limit=limit, offline=offline, seed=seed, image_root=image_root)
            for name, src in benches}


def _validate(examples: dict[str, list[Example]], processor, template: str, sources: dict[str, str | None] | None = None) -> None:
    """Every bad row of every benchmark, before generation (with the processor: the prompt and
    image-token checks). Image sizes only warn: the processor resizes into its own pixel bounds."""
    import shlex

    from perceptrl.data.validate import ensure_valid

    for name, exs in examples.items():
        path = (sources or {}).get(name)
        try:
            ensure_valid(exs, processor=processor, source=name, template=template, pixel_bounds="warning", path=path)
        except PerceptrlError as e:
            if path:  # a command that runs: the file, read the way eval reads it, and a copy eval loads
                e.fix = (f"correct or drop those rows; `perceptrl data validate {shlex.quote(path)} --bench {name} "
                         f"--fix --out FIXED.jsonl` repairs image sizes/modes/orientation into a copy that "
                         f"`--bench {name}=FIXED.jsonl` reads")
                e.args = (e.render(),)
            raise


def _harness_prompts(pending: dict[str, list[Example]], template: str) -> str:
    """For a harness template (``lmms_eval``, ``vlmevalkit``): each example's problem becomes that
    harness's prompt text (:mod:`perceptrl.eval.harnesses`), rendered as it is; the stored items keep
    the benchmark's own fields (the scorers read them). Returns the template to render with."""
    from perceptrl.eval.harnesses import harness_template

    found = harness_template(template)
    if found is None:
        return template
    import dataclasses

    rewrite_problem = found[0]

    def rewrite(bench: str, ex: Example) -> Example:
        text = rewrite_problem(bench, ex.problem, ex.metadata, ex.choices)
        # the harness prompt lists the options itself
        return ex if text == ex.problem else dataclasses.replace(ex, problem=text, choices=None)

    for bench, exs in pending.items():
        pending[bench] = [rewrite(bench, ex) for ex in exs]
    return "{problem}"


def generate_run(
    out_dir: str | Path,
    examples: dict[str, list[Example]],
    *,
    model_name: str,
    protocol: Protocol,
    load_model: Callable[[], tuple[Any, Any]],
    template: str = "perception_r1",
    batch_size: int = 8,
    backend: str = "hf",
    sources: dict[str, str | None] | None = None,
    progress: bool = True,
) -> int:
    """Generate every missing (bench, item, sample) of the run; returns how many were added.

    ``load_model`` is called only when something is left to generate (a finished run reruns in
    seconds). Each batch is persisted before the next starts.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    decoding = protocol.decoding
    _check_run_config(out, {
        "model": model_name,
        "protocol": protocol.name,
        "harness": perceptrl_version(),
        "decoding": decoding.as_dict(),
        "template": template,
        "template_hash": template_hash(template),
        "pixels": {"min_pixels": protocol.min_pixels, "max_pixels": protocol.max_pixels},
        "backend": backend,
        "benches": [{"name": b, "source": (sources or {}).get(b)} for b in examples],
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    })
    items = JsonlLog(out / ITEMS_FILE, item_key)
    items.append(item_record(b, ex) for b, exs in examples.items() for ex in exs)
    responses = JsonlLog(out / RESPONSES_FILE, response_key)
    k = decoding.num_samples
    pending = {
        b: [ex for ex in exs if any((b, ex.id, s) not in responses for s in range(k))]
        for b, exs in examples.items()
    }
    todo = sum(len(v) for v in pending.values())
    if todo == 0:
        log.info("all %d items already generated in %s", sum(len(v) for v in examples.values()), out)
        return 0
    model, processor = load_model()
    with _pixel_bounds(processor, protocol.min_pixels, protocol.max_pixels):
        return _generate_pending(responses, pending, todo, model, processor, model_name=model_name, decoding=decoding,
                                 template=template, batch_size=batch_size, backend=backend, sources=sources,
                                 progress=progress)


@contextlib.contextmanager
def _pixel_bounds(processor, min_pixels: int | None, max_pixels: int | None):
    """The protocol's image bounds (lmms-eval's Qwen2.5-VL wrapper: 200,704 – 1,605,632 pixels) on the
    processor for the generation, then the processor's own again (callers may share it)."""
    ip = getattr(processor, "image_processor", None)
    if ip is None or (min_pixels is None and max_pixels is None):
        yield
        return
    from perceptrl.train.model_setup import set_pixel_bounds  # the one helper training uses

    saved = {k: getattr(ip, k) for k in ("size", "min_pixels", "max_pixels") if hasattr(ip, k)}
    set_pixel_bounds(processor, min_pixels, max_pixels)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(ip, k, v)


def _generate_pending(responses: JsonlLog, pending, todo: int, model, processor, *, model_name, decoding, template,
                      batch_size, backend, sources, progress) -> int:
    """Generate and persist every pending (bench, item, sample), one batch at a time."""
    template = _harness_prompts(pending, template)
    _validate({b: v for b, v in pending.items() if v}, None if backend == "vllm" else processor, template, sources)
    from tqdm.auto import tqdm

    added = 0
    bar = tqdm(total=todo, desc="generate", unit="item", disable=not progress)
    dec = decoding.as_dict()
    for bench, exs in pending.items():
        if not exs:
            continue
        if backend == "vllm":
            it = iter_generate_vllm(model, processor, exs, decoding=decoding, template=template, batch_size=batch_size)
        else:
            it = iter_generate_hf(model, processor, exs, decoding=decoding, template=template, batch_size=batch_size)
        for idx, prompts, outs in it:
            recs = [
                {"bench": bench, "id": exs[i].id, "sample": s, "prompt": p, "response": r, "decoding": dec,
                 "model": model_name}
                for i, p, rs in zip(idx, prompts, outs)
                for s, r in enumerate(rs)
            ]
            added += responses.append(recs)
            bar.update(len(idx))
    bar.close()
    return added


def score_run(run_dir: str | Path, protocol: Protocol, *, judge=None, write: bool = True) -> dict[str, Any]:
    """Score a run's stored responses under ``protocol``'s scorer; write scores and metrics.

    Returns ``{"protocol", "decoding", "benches": {bench: metrics}}``. Rescoring under a protocol
    whose decoding differs from the run's is allowed (the judging changes, not the responses) and
    flagged as ``decoding_mismatch``.
    """
    run = Path(run_dir)
    config, items, responses = load_run(run)
    by_key = {item_key(it): it for it in items}
    verdicts, judge = _verdicts(protocol, judge, responses, by_key)
    rows = [
        {"bench": r["bench"], "id": r["id"], "sample": r["sample"], **v}
        for r, v in zip(responses, verdicts)
        if item_key(r) in by_key
    ]
    run_decoding = config.get("decoding") or {}  # imported runs do not know their decoding
    summary = {
        "run": str(run),
        "model": config.get("model"),
        "protocol": protocol.name,
        "scorer": protocol.scorer,
        "scoring_harness": protocol.harness,
        "judge": judge_settings(judge) if protocol.scorer != "rules" else None,
        "decoding": run_decoding,
        "decoding_mismatch": run_decoding.get("temperature") != protocol.decoding.temperature
        or run_decoding.get("num_samples") != protocol.decoding.num_samples,
        "n_responses": len(rows),
        "benches": _metrics_by_bench(items, rows),
    }
    unresolved = sum(1 for r in rows if r.get("extracted_by") == "unresolved")
    if unresolved:
        summary["unresolved"] = unresolved
        log.warning("%d responses need the LLM extraction step of %s and no judge was given: counted wrong "
                    "(pass --judge-base-url/--judge-model to resolve them)", unresolved, protocol.name)
    if judge is not None and hasattr(judge, "client") and hasattr(judge.client, "usage"):
        summary["judge_usage"] = dict(judge.client.usage)
        summary["judge_errors"] = sum(1 for r in rows if r.get("judge_error"))
    if write:
        _write_scores(run, protocol.name, rows, summary, run_protocol=config.get("protocol"))
    return summary


def _verdicts(protocol: Protocol, judge, responses: list[dict], by_key: dict) -> tuple[list[dict], Any]:
    """One verdict per response under the protocol's scorer, and the judge whose settings are recorded."""
    if protocol.scorer == "judge":
        if judge is None:
            raise PerceptrlError(
                f"protocol {protocol.name} needs an LLM judge", where="--protocol",
                fix="pass --judge-base-url URL --judge-model NAME (an OpenAI-compatible server)",
            )
        return judge.score([r["response"] for r in responses], [by_key[item_key(r)] for r in responses]), judge
    if protocol.scorer in HARNESSES:
        scorer = harness_scorer(protocol.scorer, judge)  # lmms_eval, vlmevalkit
        verdicts = scorer.score([r["response"] for r in responses], [by_key[item_key(r)] for r in responses])
        return verdicts, (scorer if scorer.client is not None else None)  # the settings recorded are the ones used
    return [score_response(r["response"], by_key[item_key(r)]) for r in responses], judge


def _metrics_by_bench(items: list[dict], rows: list[dict]) -> dict[str, Any]:
    """Each bench's metrics over its items, an item scoring the mean correctness of its samples."""
    per_item: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in rows:
        per_item[(row["bench"], str(row["id"]))].append(1.0 if row["correct"] else 0.0)
    items_by_bench: dict[str, list[dict]] = defaultdict(list)
    for it in items:
        items_by_bench[it["bench"]].append(it)
    benches: dict[str, Any] = {}
    for bench, its in items_by_bench.items():
        scores = {str(it["id"]): sum(v) / len(v) for it in its if (v := per_item.get((bench, str(it["id"]))))}
        benches[bench] = bench_metrics(base_name(bench), its, scores)
    return benches


def _write_scores(run: Path, protocol_name: str, rows: list[dict], summary: dict[str, Any], *,
                  run_protocol: str | None) -> None:
    """``scores/<protocol>.jsonl`` and ``.json``; ``summary.json`` too when it is the run's own protocol."""
    write_text_atomic(
        run / "scores" / f"{protocol_name}.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    )
    write_json_atomic(run / "scores" / f"{protocol_name}.json", summary)
    if protocol_name == run_protocol:
        write_json_atomic(run / "summary.json", summary)


def load_model_default(name: str, backend: str = "hf") -> tuple[Any, Any]:
    """Load ``name`` (hub id or local dir) with transformers, or with vLLM for ``backend='vllm'``."""
    if backend == "vllm":
        from perceptrl.eval.generate import vllm_available

        if not vllm_available():
            raise PerceptrlError("vllm is not installed", where="--backend vllm",
                                 fix="pip install vllm (GPU machines), or use --backend hf")
        from transformers import AutoProcessor
        from vllm import LLM

        return LLM(model=name), AutoProcessor.from_pretrained(name)
    from perceptrl.models.loading import load_vlm

    model, processor = load_vlm(name)
    model.eval()
    return model, processor


def run_eval(
    model: str,
    benches: Sequence[tuple[str, str | None]],
    out_dir: str | Path,
    *,
    protocol: str | Protocol = "greedy_rules",
    limit: int | None = None,
    batch_size: int = 8,
    template: str | None = None,
    backend: str = "hf",
    judge=None,
    offline: bool | None = None,
    image_root: str | None = None,
    loaded: tuple[Any, Any] | None = None,
    report: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``benches`` under ``protocol`` into ``out_dir`` (resumable).

    ``loaded`` passes an already loaded ``(model, processor)`` (``model`` is then only its name).
    """
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    template = template or proto.template
    if proto.scorer == "judge" and judge is None:
        raise PerceptrlError(f"protocol {proto.name} needs an LLM judge", where="--protocol",
                             fix="pass --judge-base-url URL --judge-model NAME (an OpenAI-compatible server)")
    examples = load_examples(benches, limit=limit, offline=offline, seed=proto.decoding.seed, image_root=image_root)
    generate_run(
        out_dir, examples, model_name=model, protocol=proto,
        load_model=(lambda: loaded) if loaded is not None else (lambda: load_model_default(model, backend)),
        template=template, batch_size=batch_size, backend=backend, sources=dict(benches), progress=progress,
    )
    summary = score_run(out_dir, proto, judge=judge)
    if report:
        write_report(out_dir, proto.name)
    return summary

