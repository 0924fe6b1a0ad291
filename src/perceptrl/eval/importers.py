"""Import another harness's per-sample results into a perceptrl run folder (issue 16).

    perceptrl eval import --from lmms-eval OUT/MODEL/20261201_120000_samples_mathvista_testmini_cot.jsonl --out runs/lmms
    perceptrl eval import --from vlmevalkit outputs/MODEL/MODEL_MathVista_MINI_gpt-4o-mini.xlsx --out runs/vlmek

(VLMEvalKit's files: :mod:`perceptrl.eval.import_vlmevalkit`.)

lmms-eval 0.7.3 with ``--log_samples`` writes one ``{date}_samples_{task}.jsonl`` per task (its
``EvaluationTracker.save_results_samples``): one line per document with ``doc_id``, ``target``,
``input`` (the prompt), ``filtered_resps`` (the response; a list when a document has several),
``resps`` (only when it differs), ``doc_hash``, ``token_counts``, and one key per metric of the
task: MathVista's ``llm_as_judge_eval`` and ``submission`` (``question_id``, ``query``, ``choices``,
``answer``, ``extraction``, ``prediction``, ``true_false``, ``question_type``, ``answer_type``,
``precision``), MathVerse's ``gpt_eval_score`` (0/1) and ``submission`` (``sample_index``,
``problem_version``, ``question``, ``answer``, ``question_type``…), the reasoning tasks'
``acc_score`` and ``format_score``. The ``doc`` itself is not written.

The import writes ``run.json`` (``harness: lmms-eval``, the source files), ``items.jsonl`` (the
item ids the benchmark uses — MathVista ``pid``, MathVerse ``sample_index`` — so ``eval compare``
pairs them with our runs; gold, options and types from the metric record), ``responses.jsonl``
and ``scores/lmms_eval.{json,jsonl}`` holding *their* verdicts. The stored responses can be
rescored under our protocols (``perceptrl eval rescore``) where the record carries the fields.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perceptrl.errors import PerceptrlError
from perceptrl.eval.metrics import bench_metrics
from perceptrl.eval.store import ITEMS_FILE, RESPONSES_FILE, RUN_FILE, read_jsonl, write_json_atomic, write_text_atomic

HARNESSES = ("lmms-eval", "vlmevalkit")
IMPORTED_PROTOCOL = "lmms_eval"
_TASK_RE = re.compile(r"_samples_(?P<task>.+)\.jsonl$")
_BENCH_PREFIXES = ("mathvista", "mathverse", "mathvision", "wemath", "logicvista")


def task_of(path: Path) -> str:
    m = _TASK_RE.search(path.name)
    if not m:
        raise PerceptrlError("not an lmms-eval samples file (name is not DATE_samples_TASK.jsonl)", where=str(path),
                             fix="pass the *_samples_<task>.jsonl files lmms-eval writes with --log_samples")
    return m.group("task")


def bench_of(task: str) -> str:
    for b in _BENCH_PREFIXES:
        if task.startswith(b):
            return b
    return task


def _response(rec: dict) -> str:
    r = rec.get("filtered_resps", rec.get("resps"))
    while isinstance(r, list):
        r = r[0] if r else ""
    return "" if r is None else str(r)


def _convert(rec: dict, bench: str, where: str) -> tuple[dict, dict, dict]:
    """``(item, response, verdict)`` of one lmms-eval sample line."""
    if "doc_id" not in rec or ("filtered_resps" not in rec and "resps" not in rec):
        raise PerceptrlError("sample line without doc_id / filtered_resps", where=where,
                             fix="pass lmms-eval --log_samples output (fields doc_id, target, filtered_resps, metrics)")
    sub = rec.get("llm_as_judge_eval") or rec.get("submission") or {}
    meta: dict[str, Any] = {"bench": bench, "lmms_eval_doc_id": rec["doc_id"], "lmms_eval_doc_hash": rec.get("doc_hash")}
    if bench == "mathvista":
        item_id = sub.get("question_id", rec["doc_id"])
        meta.update({"options": sub.get("choices"), "question_type": sub.get("question_type"),
                     "answer_type": sub.get("answer_type"), "precision": sub.get("precision")})
        problem = sub.get("query") or rec.get("input") or ""
    elif bench == "mathverse":
        item_id = sub.get("sample_index", rec["doc_id"])
        meta.update({"problem_version": sub.get("problem_version"), "question_type": sub.get("question_type")})
        problem = sub.get("question") or rec.get("input") or ""
    else:
        item_id, problem = rec["doc_id"], rec.get("input") or ""
    answer = sub.get("answer", rec.get("target"))
    if "true_false" in sub:
        correct = bool(sub["true_false"])
    elif "gpt_eval_score" in rec:
        correct = bool(rec["gpt_eval_score"])
    elif "acc_score" in rec:
        correct = float(rec["acc_score"]) >= 0.5
    else:
        raise PerceptrlError("sample line has no verdict (true_false, gpt_eval_score or acc_score)", where=where,
                             fix="import samples of a task that scores per item (mathvista, mathverse, *_reasoning)")
    item = {"bench": bench, "id": str(item_id), "problem": str(problem), "answer": None if answer is None else str(answer),
            "choices": None, "visual_annotations": [], "metadata": meta}
    resp = {"bench": bench, "id": str(item_id), "sample": 0, "prompt": rec.get("input"), "response": _response(rec),
            "decoding": None, "model": None}
    verdict = {"bench": bench, "id": str(item_id), "sample": 0, "correct": correct,
               "pred": sub.get("prediction"), "extracted_by": "lmms-eval"}
    return item, resp, verdict


def import_lmms_eval(files: Sequence[str | Path], out_dir: str | Path, *, model: str | None = None) -> dict[str, Any]:
    """Write a run folder from lmms-eval samples files; returns the scores summary."""
    out = Path(out_dir)
    if (out / RUN_FILE).exists():
        raise PerceptrlError("run folder already exists", where=str(out), fix="import into a new --out folder")
    items, responses, verdicts, tasks = [], [], [], []
    for f in files:
        path = Path(f)
        if not path.exists():
            raise PerceptrlError("file not found", where=str(path), fix="pass lmms-eval's *_samples_<task>.jsonl files")
        task = task_of(path)
        bench = bench_of(task)
        tasks.append({"task": task, "bench": bench, "source": str(path)})
        for lineno, rec in enumerate(read_jsonl(path), 1):
            it, r, v = _convert(rec, bench, f"{path} line {lineno}")
            items.append(it)
            responses.append(r)
            verdicts.append(v)
    model = model or (Path(files[0]).parent.name if files else None)
    config = {
        "model": model, "protocol": IMPORTED_PROTOCOL, "harness": "lmms-eval", "imported_from": tasks,
        "decoding": None, "template": None, "benches": [{"name": t["bench"], "source": t["source"]} for t in tasks],
    }
    return write_imported_run(out, config, items, responses, verdicts, scorer="lmms-eval (imported verdicts)")


def write_imported_run(out: Path, config: dict, items: list[dict], responses: list[dict], verdicts: list[dict], *,
                       scorer: str, judge: dict | None = None) -> dict[str, Any]:
    """Write ``run.json``, items, responses and ``scores/PROTOCOL.{json,jsonl}`` (the imported
    harness's verdicts) of an imported run; returns the scores summary."""
    protocol = config["protocol"]
    config = {**config, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    out.mkdir(parents=True, exist_ok=True)
    jl = lambda rows: "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)  # noqa: E731
    write_text_atomic(out / ITEMS_FILE, jl(items))
    write_text_atomic(out / RESPONSES_FILE, jl(responses))
    by_bench: dict[str, list[dict]] = defaultdict(list)
    for it in items:
        by_bench[it["bench"]].append(it)
    scores = {(v["bench"], v["id"]): 1.0 if v["correct"] else 0.0 for v in verdicts}
    summary = {
        "run": str(out), "model": config.get("model"), "protocol": protocol, "scorer": scorer,
        "scoring_harness": config["harness"], "judge": judge, "decoding": {}, "decoding_mismatch": False,
        "n_responses": len(verdicts),
        "benches": {b: bench_metrics(b, its, {it["id"]: scores[(b, it["id"])] for it in its}) for b, its in by_bench.items()},
    }
    write_text_atomic(out / "scores" / f"{protocol}.jsonl", jl(verdicts))
    write_json_atomic(out / "scores" / f"{protocol}.json", summary)
    write_json_atomic(out / "summary.json", summary)
    write_json_atomic(out / RUN_FILE, config)
    return summary
