"""Stage-1 fidelity: ``perceptrl annotate`` on synthetic chains of thought whose facts are known.

Writes ``--n`` synthetic problems (:func:`perceptrl.annotate.evaluate.synthetic_chains`: chains in
three styles — facts as ``name = value``, in words, mixed — and ~15 % with a wrong final answer),
runs the real command ``perceptrl annotate --cot-column cot`` on them with

* baseline: the rules extractor (``--extractor rules``, no server), and
* ours: an LLM extractor (by default Qwen2.5-Coder-1.5B-Instruct on a local ``llama-server``;
  or ``--base-url``/``--model``),

and prints the share of problems kept by the answer check and the extraction precision and recall
after normalisation, per extractor, then ``annotate_recall``, ``annotate_precision`` and
``annotate_answer_check_kept_pct`` for the LLM extractor.

    python benchmarks/annotate_fidelity.py
    python benchmarks/annotate_fidelity.py --rules-only
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perceptrl.annotate.evaluate import score_extraction, synthetic_chains
from perceptrl.data.io import write_examples

sys.path.insert(0, str(Path(__file__).parent))
from judge_fidelity import machine  # noqa: E402


def run_annotate(data: Path, out_dir: Path, extra: list[str]
                 ) -> tuple[dict[str, dict], float, subprocess.CompletedProcess]:
    out = out_dir / "annotated.jsonl"
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "perceptrl", "annotate", "--data", str(data), "--out", str(out),
                        "--out-format", "jsonl", "--cot-column", "cot", *extra], capture_output=True, text=True)
    secs = time.perf_counter() - t0
    prog = out.with_name(out.name + ".progress.jsonl")
    recs = {}
    if prog.exists():
        for line in prog.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                recs[r["id"]] = r
    return recs, secs, p


@contextlib.contextmanager
def server(args):
    if args.base_url:
        yield args.base_url, args.model
        return
    from perceptrl.judge.local_server import llama_server

    with llama_server(model=args.judge_model, parallel=args.parallel) as srv:
        yield srv.base_url, srv.model


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60, help="synthetic problems (>= 50)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base-url", default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--judge-model", default="qwen2.5-coder-1.5b", help="local model to serve (no --base-url)")
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--rules-only", action="store_true")
    ap.add_argument("--keep", default=None, help="folder to keep the data, outputs and progress files in")
    args = ap.parse_args(argv)

    exs = synthetic_chains(args.n, seed=args.seed)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="annotate-fidelity-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "chains.jsonl"
    write_examples(exs, data, format="jsonl")
    print(f"stage-1 fidelity, measured on {machine()}")
    print(f"{len(exs)} synthetic problems, chains: " + ", ".join(
        f"{s} {sum(e.metadata['cot_style'] == s for e in exs)}" for s in ("verbatim", "words", "mixed"))
        + f"; {sum(not e.metadata['cot_correct'] for e in exs)} with a wrong final answer")
    reports = {}
    for name in ["rules"] + ([] if args.rules_only else ["llm"]):
        d = work / name
        d.mkdir(exist_ok=True)
        for old in d.glob("annotated.jsonl*"):
            old.unlink()  # a fresh run, not a resumed one
        if name == "rules":
            recs, secs, p = run_annotate(data, d, ["--extractor", "rules"])
            label = "rules extractor"
        else:
            with server(args) as (url, model):
                recs, secs, p = run_annotate(data, d, ["--extract-base-url", url, "--extract-model", model,
                                                       "--max-concurrency", str(args.parallel), "--timeout", "300"])
            label = f"LLM extractor {model}"
        if p.returncode not in (0, 1):
            print(p.stdout[-2000:], p.stderr[-3000:])
            raise SystemExit(f"perceptrl annotate failed with {p.returncode}")
        rep = score_extraction(exs, recs)
        reports[name] = rep
        print(f"\n{label}: {secs:.1f} s ({secs / len(exs):.2f} s/problem), exit {p.returncode}")
        for line in rep.lines():
            print("  " + line)
    ours = reports.get("llm")
    base = reports["rules"]
    print()
    print(f"baseline (rules): precision {base.precision:.4f}, recall {base.recall:.4f}")
    if ours is not None:
        print(f"ours (LLM): precision {ours.precision:.4f}, recall {ours.recall:.4f}")
        print(f"recall ratio ours/baseline: {ours.recall / base.recall:.3f}")
    shown = ours or base
    print(f"annotate_answer_check_kept_pct: {100 * shown.passed_share:.2f}")
    print(f"annotate_precision: {shown.precision:.4f}")
    print(f"annotate_recall: {shown.recall:.4f}")
    print(f"files: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
