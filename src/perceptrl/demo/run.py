"""``run_demo``: synth → tiny VLM → SFT warm start → GRPO arms → held-out evaluation → report.

The demo runs two arms (``grpo`` and ``perception_r1``); ``perceptrl experiment`` runs every arm of
:data:`perceptrl.demo.arms.ARMS` with the same machinery. Work is split into jobs: per seed one
warm-start job, then one job per arm (every arm starts from the warm-started weights saved by that
seed's warm-start job). Jobs run in ``cfg.workers``
processes with one torch thread each (two jobs side by side with two threads each spin-wait on each
other; two processes keep both cores busy), except a warm start that runs alone
(:func:`warm_start_threads`). Every job writes its result to ``OUT/runs/seed-S/`` as soon as it ends, so a
crash later loses nothing already computed, and a rerun with the same settings into the same
folder (``resume=True``, the default) skips every job whose result is already there.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import queue
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perceptrl.demo.config import DemoConfig
from perceptrl.demo.problems import problems
from perceptrl.errors import PerceptrlError

logger = logging.getLogger(__name__)


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def check_output_dir(out: str | os.PathLike) -> Path:
    """Create ``out`` and prove it is writable, before any work."""
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".perceptrl-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise PerceptrlError(f"cannot write the report folder: {e.strerror or e}", where=str(path),
                             fix="pass --out a folder you can write to") from None
    return path


def _progress(q: Any):
    if q is None:
        return None

    def tick(n: int = 1) -> None:
        q.put(n)

    return tick


def _worker_init() -> None:
    import torch

    _offline()
    torch.set_num_threads(1)
    logging.getLogger("perceptrl").setLevel(logging.WARNING)
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _write_json(path: Path, data: Any) -> None:
    """Write-then-rename: a job killed mid-write leaves no half file that a resume would trust."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


@contextlib.contextmanager
def _job_log(path: Path):
    """A job's stdout/stderr (TRL's per-step log lines, warnings) go to ``path``, not the terminal."""
    with open(path, "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield


def warm_start_threads(cfg: DemoConfig) -> int:
    """Torch threads of a warm-start job: with fewer seeds than worker processes a warm start runs
    alone (``--quick``: one seed), and a second thread makes its SFT ~1.4x faster (72 -> 53 s for
    80 steps, measured on a 2-core machine); otherwise one, as every other job (arms run side by
    side, and two threads each would contend: 14 -> 45 s per arm, measured)."""
    return max(1, cfg.workers // min(cfg.workers, cfg.seeds))


def warm_start_job(cfg: DemoConfig, seed: int, seed_dir: str, q: Any = None) -> dict[str, Any]:
    """Build the tiny VLM (tokenizer trained with the synthetic corpus), SFT it, save it, evaluate it."""
    import torch

    torch.set_num_threads(warm_start_threads(cfg))
    with _job_log(Path(seed_dir) / "warmstart.log"):
        return _warm_start(cfg, seed, seed_dir, q)


def _warm_start(cfg: DemoConfig, seed: int, seed_dir: str, q: Any) -> dict[str, Any]:
    from transformers import TrainerCallback

    from perceptrl.demo.evaluate import evaluate
    from perceptrl.demo.warmstart import WarmStartConfig, warm_start
    from perceptrl.models import build_tiny_vlm
    from perceptrl.synth import corpus

    t0 = time.time()
    tick = _progress(q)
    train, held_out = problems(cfg, seed)
    model, processor = build_tiny_vlm(seed=seed, extra_corpus=corpus(300, kinds=cfg.kinds), **cfg.model_size)

    class Tick(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if tick:
                tick(1)

    ws = WarmStartConfig(steps=cfg.sft_steps, batch_size=cfg.sft_batch_size, learning_rate=cfg.sft_learning_rate,
                         template=cfg.template, seed=seed)
    if cfg.teacher_bias > 0:
        from perceptrl.synth.teacher import teacher_chains

        train = teacher_chains(train, cfg.teacher_bias, seed=seed, colors=cfg.teacher_colors)
    model, history = warm_start(model, processor, train, ws, callbacks=[Tick()])
    path = Path(seed_dir) / "warmstart"
    model.save_pretrained(path)
    processor.save_pretrained(path)
    result = evaluate(model, processor, held_out, step=0, max_new_tokens=cfg.max_completion_length,
                      template=cfg.template)
    out = {"seed": seed, "model_dir": str(path), "log_history": history, "eval": result.as_dict(),
           "seconds": time.time() - t0}
    _write_json(Path(seed_dir) / "warmstart.json", out)
    return out


def arm_job(cfg: DemoConfig, seed: int, arm: str, seed_dir: str, q: Any = None) -> dict[str, Any]:
    """GRPO arm ``arm`` from the seed's warm-started weights."""
    import torch

    from perceptrl.demo.arms import run_arm
    from perceptrl.models import load_vlm

    torch.set_num_threads(1)  # a worker that ran a two-thread warm start runs its arms on one thread

    t0 = time.time()
    train, held_out = problems(cfg, seed)
    with _job_log(Path(seed_dir) / f"arm-{arm}.log"):
        model, processor = load_vlm(Path(seed_dir) / "warmstart", dtype="float32")
        out = run_arm(model, processor, train, held_out, cfg, arm=arm, seed=seed,
                      output_dir=Path(seed_dir) / f"arm-{arm}", progress=_progress(q))
    out["seconds"] = time.time() - t0
    out.pop("summary", None)
    _write_json(Path(seed_dir) / f"arm-{arm}.json", out)
    return out


@dataclass
class DemoRun:
    out_dir: Path
    cfg: DemoConfig
    warm: dict[int, dict[str, Any]]
    arms: dict[tuple[int, str], dict[str, Any]]
    seconds: float
    #: wall seconds of every invocation that worked on this folder (a resumed run sums them)
    invocations: tuple[float, ...] = ()


def _settings_key(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings a finished job's result depends on (not ``seeds``/``workers``/``arms``: adding a
    seed or an arm, or changing the process count, keeps every finished job valid)."""
    d = json.loads(json.dumps(settings))
    for k in ("seeds", "workers", "arms"):
        d.pop(k, None)
    return d


def _check_resume(cfg: DemoConfig, out: Path, resume: bool) -> None:
    """Refuse to mix results of different settings in one folder (before any work)."""
    path = out / "config.json"
    if not path.is_file() or not (out / "runs").is_dir():
        return
    try:
        old = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        old = None
    if not resume:
        import shutil

        shutil.rmtree(out / "runs")
        (out / "invocations.json").unlink(missing_ok=True)
        return
    if isinstance(old, dict):  # a knob added since that run was made: the folder ran at its default
        old = {**DemoConfig().as_dict(), **old}
    if not isinstance(old, dict) or _settings_key(old) != _settings_key(cfg.as_dict()):
        raise PerceptrlError("this folder holds results of other settings; resuming would mix them",
                             where=str(path),
                             fix="pass a new --out, or --restart to discard the finished jobs there")


def _load_done(path: Path) -> dict[str, Any] | None:
    """A finished job's result, or None (missing or cut short by a crash: the job reruns)."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def progress_interval(stream=None) -> float:
    """Seconds between progress-bar updates: tqdm's 0.1 on a terminal, one a minute otherwise.

    A log file (``make demo > log``, CI) would otherwise get ten redraws a second for the whole run."""
    stream = sys.stderr if stream is None else stream
    try:
        return 0.1 if stream.isatty() else 60.0
    except (AttributeError, ValueError):  # closed or file-less streams
        return 60.0


def run_demo(cfg: DemoConfig, out_dir: str | os.PathLike, *, show_progress: bool = True,
             resume: bool = True, desc: str = "perceptrl demo", title: str | None = None) -> DemoRun:
    """Run every job (skipping finished ones when ``resume``) and write the report into ``out_dir``."""
    from tqdm.auto import tqdm

    from perceptrl.demo.report import write_report

    cfg.check()
    out = check_output_dir(out_dir)
    _check_resume(cfg, out, resume)
    _offline()
    t0 = time.time()
    seeds = list(range(cfg.seeds))
    seed_dirs = {s: out / "runs" / f"seed-{s}" for s in seeds}
    for d in seed_dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg.as_dict(), indent=1))

    total = cfg.seeds * (cfg.sft_steps + len(cfg.arms) * cfg.grpo_steps)
    bar = tqdm(total=total, desc=desc, unit="step", disable=not show_progress,
               mininterval=progress_interval())
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(max_workers=cfg.workers, mp_context=ctx,
                                                       initializer=_worker_init) as pool:
        jobs = _Jobs(cfg, pool, manager.Queue(), bar, seed_dirs, out)
        for s in seeds:
            jobs.start_seed(s)
        jobs.wait_all()
    warm, arms, ran = jobs.warm, jobs.arms, jobs.ran
    bar.close()
    seconds = time.time() - t0
    run = DemoRun(out_dir=out, cfg=cfg, warm=warm, arms=arms, seconds=seconds,
                  invocations=_record_invocation(out, seconds if ran else None))
    write_report(run, title=title)
    return run


class _Jobs:
    """The jobs of one invocation: a warm start per seed (read back when finished), then its arms."""

    def __init__(self, cfg: DemoConfig, pool: ProcessPoolExecutor, q: Any, bar: Any, seed_dirs: dict[int, Path],
                 out: Path) -> None:
        self.cfg, self.pool, self.q, self.bar, self.seed_dirs, self.out = cfg, pool, q, bar, seed_dirs, out
        self.warm: dict[int, dict[str, Any]] = {}
        self.arms: dict[tuple[int, str], dict[str, Any]] = {}
        self.pending: dict[Future, tuple] = {}
        self.ran = 0

    def start_seed(self, s: int) -> None:
        d = self.seed_dirs[s]
        done = _load_done(d / "warmstart.json")
        if done is not None and (d / "warmstart").is_dir():
            self.warm[s] = done
            self.bar.update(self.cfg.sft_steps)
            self._submit_arms(s)
        else:
            self.pending[self.pool.submit(warm_start_job, self.cfg, s, str(d), self.q)] = ("warm", s, None)

    def _submit_arms(self, s: int) -> None:
        for a in self.cfg.arms:
            done = _load_done(self.seed_dirs[s] / f"arm-{a}.json")
            if done is not None:
                self.arms[(s, a)] = done
                self.bar.update(self.cfg.grpo_steps)
            else:
                self.pending[self.pool.submit(arm_job, self.cfg, s, a, str(self.seed_dirs[s]), self.q)] = ("arm", s, a)

    def wait_all(self) -> None:
        while self.pending:
            done, _ = wait(list(self.pending), timeout=0.5, return_when=FIRST_COMPLETED)
            _drain(self.q, self.bar)
            for fut in done:
                self._finish(fut, *self.pending.pop(fut))
        _drain(self.q, self.bar)

    def _finish(self, fut: Future, kind: str, s: int, arm: str | None) -> None:
        self.ran += 1
        try:
            res = fut.result()
        except PerceptrlError:
            raise
        except Exception as e:  # noqa: BLE001 - name the job that failed; results so far are on disk
            raise RuntimeError(f"demo job {kind} seed={s} arm={arm} failed: {e!r}; finished jobs are in "
                               f"{self.out / 'runs'}") from e
        if kind == "warm":
            self.warm[s] = res
            self.bar.set_postfix_str(f"seed {s} warm start: acc {res['eval']['accuracy']:.2f}")
            self._submit_arms(s)
        else:
            self.arms[(s, arm)] = res
            last = res["evals"][-1] if res["evals"] else {}
            self.bar.set_postfix_str(f"seed {s} arm {arm}: acc {last.get('accuracy', float('nan')):.2f}")


def _record_invocation(out: Path, seconds: float | None) -> tuple[float, ...]:
    """Append this invocation's wall time to ``OUT/invocations.json`` (reset with the folder);
    ``None``: it ran no job (only re-read finished ones and rewrote the report), nothing is added."""
    path = out / "invocations.json"
    try:
        past = [float(x) for x in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        past = []
    if seconds is not None:
        past.append(round(seconds, 1))
        _write_json(path, past)
    return tuple(past)


def _drain(q: Any, bar: Any) -> None:
    while True:
        try:
            bar.update(q.get_nowait())
        except queue.Empty:
            return
