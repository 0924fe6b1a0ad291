"""Import VLMEvalKit's per-sample results into a perceptrl run folder (issue 16).

    perceptrl eval import --from vlmevalkit outputs/Qwen2.5-VL-7B-Instruct/T.../Qwen2.5-VL-7B-Instruct_MathVista_MINI_gpt-4o-mini.xlsx --out runs/vlmek

VLMEvalKit writes ``{model}_{dataset}.xlsx`` (the predictions; ``PRED_FORMAT=tsv|json`` picks
another format) and, when it judges, a file named after the judge next to it — these carry the
per-item outcome and are the ones to import (``vlmeval/dataset/image_vqa.py``, ``image_mcq.py``):

=================  ==========================================  ===============================================
dataset            file                                        columns read (besides ``index``, ``question``,
                                                               ``answer``, ``prediction``)
=================  ==========================================  ===============================================
MathVista_MINI     ``…_gpt-4o-mini.xlsx``                      ``choices``, ``answer_option``, ``question_type``,
                                                               ``answer_type``, ``precision``, ``res``, ``log``
MathVision(_MINI)  ``…_gpt-4o-mini.xlsx``                      ``choices``, ``category``, ``res``, ``log``
MathVerse_MINI*    ``…_gpt-4o-mini_score.xlsx``                ``question_for_eval``, ``metadata`` (problem_version,
                                                               subject, subfield), ``extract``, ``score``
WeMath(_COT)       ``…_gpt4o-mini.xlsx``                       ``ID``, ``key``, ``A``…``G``, ``hit``, ``log``
LogicVista         ``…_gpt4o-mini.xlsx``                       ``res``, ``hit``, ``skill``
=================  ==========================================  ===============================================

MathVista and MathVision do not store a per-item verdict: VLMEvalKit recomputes it from ``res``
(the prefetched or LLM-extracted answer) when it tabulates; the import does the same with our
restatement of its ``post_check`` (:mod:`perceptrl.eval.vlmevalkit_rules`). Item ids: MathVista
``pid`` when the file has it, else ``index``; MathVerse ``sample_index`` (a column or inside
``metadata``), else ``index``; WeMath ``ID|key`` (as our WeMath loader names items); else ``index``.
xlsx needs ``openpyxl``; tsv (``PRED_FORMAT=tsv``), csv and json need nothing.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perceptrl.errors import PerceptrlError
from perceptrl.eval import vlmevalkit_rules as R
from perceptrl.eval.importers import write_imported_run
from perceptrl.eval.store import RUN_FILE

PROTOCOL = "vlmevalkit"
_DATASETS = (("MathVista", "mathvista"), ("MathVerse", "mathverse"), ("MathVision", "mathvision"),
             ("WeMath", "wemath"), ("LogicVista", "logicvista"))
_DATASET_SUFFIXES = ("_MINI_Vision_Only_cot", "_MINI_Vision_Only", "_MINI_Vision_Dominant", "_MINI_Vision_Intensive",
                     "_MINI_Text_Lite", "_MINI_Text_Dominant", "_MINI", "_COT")


def parse_name(path: Path) -> dict[str, str | None]:
    """``Qwen2.5-VL-7B_MathVerse_MINI_Vision_Only_gpt-4o-mini_score.xlsx`` → model, dataset, bench, judge."""
    stem = path.name.rsplit(".", 1)[0]
    for key, bench in _DATASETS:
        i = stem.find(f"_{key}")
        if i < 0:
            continue
        model, rest = stem[:i], stem[i + 1:]
        dataset = key
        for suf in _DATASET_SUFFIXES:  # the longest dataset name that the rest starts with
            if rest.startswith(key + suf):
                dataset = key + suf
                break
        tail = rest[len(dataset):].lstrip("_")
        tail = re.sub(r"_?(score|extract)$", "", tail)
        return {"model": model, "dataset": dataset, "bench": bench, "judge": tail or None}
    raise PerceptrlError("not a VLMEvalKit result file of MathVista, MathVerse, MathVision, WeMath or LogicVista",
                         where=str(path), fix="pass VLMEvalKit's judged file, e.g. MODEL_MathVista_MINI_gpt-4o-mini.xlsx "
                         "(MathVerse: MODEL_MathVerse_MINI_gpt-4o-mini_score.xlsx)")


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a VLMEvalKit file (xlsx, tsv, csv, json, jsonl) as dicts."""
    ext = path.suffix.lower()
    if ext in (".tsv", ".csv"):
        csv.field_size_limit(sys.maxsize)
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh, delimiter="\t" if ext == ".tsv" else ","))
    if ext == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, list) else list(data.values())
    if ext == ".jsonl":
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    if ext == ".xlsx":
        import importlib.util

        if importlib.util.find_spec("openpyxl") is None:
            raise PerceptrlError("reading xlsx needs openpyxl", where=str(path),
                                 fix="pip install openpyxl, or rerun VLMEvalKit with PRED_FORMAT=tsv")
        import pandas as pd

        try:
            return pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl").to_dict("records")
        except (ValueError, OSError) as e:
            raise PerceptrlError(f"unreadable xlsx ({e})", where=str(path), fix="pass VLMEvalKit's file as it wrote it") from e
    raise PerceptrlError(f"unknown file type {ext!r}", where=str(path), fix="pass VLMEvalKit's .xlsx, .tsv or .json file")


def _need(row: Mapping[str, Any], cols: Sequence[str], where: str, fix: str) -> None:
    missing = [c for c in cols if c not in row]
    if missing:
        raise PerceptrlError(f"missing column(s) {', '.join(missing)}", where=where, fix=fix)


def _literal(text: Any, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    if not isinstance(text, str):
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        try:
            return json.loads(text.replace("'", '"'))  # VLMEvalKit's own reading of MathVerse's metadata
        except ValueError:
            return default


def _truth(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1", "1.0")


def _precision(v: Any) -> int | None:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return None


def convert_row(row: Mapping[str, Any], bench: str, where: str) -> tuple[dict, dict, dict]:
    """``(item, response, verdict)`` of one row of a judged VLMEvalKit file."""
    _need(row, ("index", "prediction", "answer"), where, "pass VLMEvalKit's per-sample file (index, prediction, answer)")
    meta: dict[str, Any] = {"bench": bench, "vlmevalkit_index": str(row["index"])}
    item_id, gold, pred = str(row["index"]), str(row["answer"]), None
    if bench in ("mathvista", "mathvision"):
        _need(row, ("res", "choices"), where, "pass the judged file MODEL_DATASET_gpt-4o-mini.xlsx (columns res, log)")
        meta["options"] = [str(c) for c in _literal(row.get("choices"), [])] or None
        if bench == "mathvista":
            item_id = str(row.get("pid") or row["index"])
            meta.update({"question_type": row.get("question_type"), "answer_type": row.get("answer_type"),
                         "precision": _precision(row.get("precision")), "answer_option": row.get("answer_option") or None})
        else:
            meta.update({"question_type": "multi_choice" if meta["options"] else "free_form",
                         "subject": row.get("category")})
        probe = {"answer": gold, "metadata": meta}
        pred = str(row["res"])
        correct = (R.mathvista_correct if bench == "mathvista" else R.mathvision_correct)(pred, probe)
        how = "rule" if str(row.get("log")) == "Prefetch succeed" else "llm"
    elif bench == "mathverse":
        _need(row, ("score", "extract"), where, "pass MathVerse's judged file MODEL_DATASET_gpt-4o-mini_score.xlsx")
        extra = _literal(row.get("metadata"), {}) or {}
        item_id = str(row.get("sample_index") or extra.get("sample_index") or row["index"])
        meta.update({"problem_version": extra.get("problem_version"), "subject": extra.get("subject"),
                     "subfield": extra.get("subfield"), "question_for_eval": row.get("question_for_eval")})
        pred, correct = str(row["extract"]), _truth(row["score"])
        how = "rule" if str(row.get("log_score")) == "Prefetch succeed" else "judge"
    elif bench == "wemath":
        opts = [str(row[c]) for c in R.LETTERS[:8] if str(row.get(c) or "").strip() not in ("", "nan")]
        meta["options"] = opts or None
        ident = row.get("ID", row.get("id"))
        item_id = f"{ident}|{row['key']}" if ident is not None and row.get("key") else item_id
        meta["key"] = row.get("key")
        if "hit" in row:  # judged: option matching, then the LLM (the chosen letter is only in the log)
            correct, how = _truth(row["hit"]), "judge"
        else:  # VLMEvalKit without a judge scores the predictions file itself (exact_matching)
            pred = R.wemath_exact(str(row["prediction"]))
            correct, how = pred == gold, "rule"
    else:  # logicvista
        _need(row, ("hit",), where, "pass the judged file MODEL_LogicVista_gpt4o-mini.xlsx (columns res, hit)")
        pred, correct, how = str(row.get("res")), _truth(row["hit"]), "llm"
        meta["skill"] = row.get("skill")
    item = {"bench": bench, "id": item_id, "problem": str(row.get("question") or ""), "answer": gold, "choices": None,
            "visual_annotations": [], "metadata": meta}
    resp = {"bench": bench, "id": item_id, "sample": 0, "prompt": None, "response": str(row["prediction"]),
            "decoding": None, "model": None}
    verdict = {"bench": bench, "id": item_id, "sample": 0, "correct": bool(correct), "pred": pred,
               "extracted_by": f"vlmevalkit {how}"}
    return item, resp, verdict


def import_vlmevalkit(files: Sequence[str | Path], out_dir: str | Path, *, model: str | None = None) -> dict[str, Any]:
    """Write a run folder from VLMEvalKit's judged per-sample files; returns the scores summary."""
    out = Path(out_dir)
    if (out / RUN_FILE).exists():
        raise PerceptrlError("run folder already exists", where=str(out), fix="import into a new --out folder")
    items, responses, verdicts, sources, judges = [], [], [], [], set()
    for f in files:
        path = Path(f)
        if not path.exists():
            raise PerceptrlError("file not found", where=str(path), fix="pass VLMEvalKit's MODEL_DATASET_JUDGE.xlsx files")
        name = parse_name(path)
        sources.append({**name, "source": str(path)})
        judges.add(name["judge"])
        for n, row in enumerate(read_table(path), 2):  # row 1 is the header
            it, r, v = convert_row(row, name["bench"], f"{path} row {n}")
            items.append(it)
            responses.append(r)
            verdicts.append(v)
    model = model or (sources[0]["model"] if sources else None)
    config = {"model": model, "protocol": PROTOCOL, "harness": "VLMEvalKit", "imported_from": sources,
              "decoding": None, "template": None,
              "benches": [{"name": s["bench"], "source": s["source"]} for s in sources]}
    judge = {"model": ", ".join(sorted(j for j in judges if j))} if any(judges) else None
    return write_imported_run(out, config, items, responses, verdicts, scorer="VLMEvalKit (imported verdicts)",
                              judge=judge)
