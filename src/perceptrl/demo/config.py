"""Settings of ``perceptrl demo``: one dataclass, a full preset (<= 10 min on 2 CPU cores) and ``--quick``.

Values from Perception-R1 (arXiv 2506.07218) are named; the rest are the demo's own, tuned on its
synthetic world so that a ~1.4 M-parameter VLM learns something in minutes (see docs/demo.md for
what was tried).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from perceptrl.config.options import option
from perceptrl.errors import PerceptrlError


@dataclass
class DemoConfig:
    """Every knob of a demo / experiment run. The field defaults are the plain synthetic world (the
    teacher's correct chains, half multiple choice); the ``demo`` and ``experiment`` presets
    (:data:`DEMO`, :data:`EXPERIMENT`) run the fifth experiment's world on top of them."""

    seeds: int = option(3, help='Independent repetitions (tiny model init, data, SFT and GRPO sampling all change with the seed).')
    kinds: tuple[str, ...] = option(("chart",), help='Synthetic problem kinds (perceptrl.synth.KINDS): bar charts are what a tiny VLM learns to read in minutes.')
    difficulty: int = option(1, help='Synthetic difficulty (1: two bars, sum or difference).')
    choice_share: float = option(0.5, help='Share of problems (training and held-out) that are multiple choice: four options, a guess is right one time in four (perceptrl.synth.choices; docs/synth-world.md).')
    shortcut: float = option(0.0, help='Share of *training* problems whose distractors are impossible for the question, so the text alone gives the answer (the shortcut knob; a part of choice_share). Held-out problems never have it.')
    teacher_bias: float = option(0.0, help="Share of warm-colour training charts whose SFT chain the teacher misreads (every bar one unit high, carried through the arithmetic; perceptrl.synth.teacher). 0: the world's correct chains. A systematic perception error that RL can correct and that a difference question hides from the accuracy reward (docs/demo.md, the second experiment).")
    teacher_colors: tuple[str, ...] = option(("red", "orange"), help="Bar colours the teacher misreads (perceptrl.synth.draw.COLORS). The default two warm ones tie the error to something the model sees; all five make it uniform, so correcting it on one chart is correcting it on every chart (docs/demo.md, the fifth experiment).")
    n_train: int = option(1024, help='Training problems per seed (SFT and GRPO draw from them).')
    n_eval: int = option(128, help='Held-out problems per seed (a different generator seed: never seen in training).')
    sft_steps: int = option(250, help="SFT warm-start steps (demo's own): fewer leave the format unlearnt, more leave RL little to do.")
    sft_batch_size: int = option(16, help="SFT batch size (demo's own).")
    sft_learning_rate: float = option(5e-3, help="SFT learning rate (demo's own).")
    grpo_steps: int = option(50, help='GRPO steps per arm.')
    prompts_per_step: int = option(4, help='Prompts per GRPO step (Perception-R1: 128).')
    num_generations: int = option(4, help='Rollouts per prompt (Perception-R1: 8); GRPO needs >= 2 for a group advantage.')
    grpo_learning_rate: float = option(5e-5, help='GRPO learning rate (Perception-R1: 1e-6 for a 7B model; a random-init tiny model needs far more, and >= 2e-4 degraded the warm start in both arms here, see docs/demo.md).')
    temperature: float = option(0.7, help="Sampling temperature of rollouts (Perception-R1: 1.0; at 1.0 the tiny model's samples are mostly noise and GRPO at lr >= 5e-4 collapsed both arms, see docs/demo.md).")
    kl_beta: float = option(0.0, help="KL coefficient to the warm start (TRL's beta; Perception-R1: 0, no KL). A positive value holds the policy near its warm start where the reward gives no signal (docs/demo.md, the fourth experiment).")
    freeze_vision: bool = option(False, help="GRPO trains the language model and the merger only; the vision encoder keeps "
                                 "its warm-start weights (model.freeze_vision_tower; Perception-R1 trains it).")
    max_completion_length: int = option(48, help='Longest response in tokens (a synthetic chain of thought is ~35 tokens with the demo tokenizer).')
    perception_weight: float = option(0.7, help='Weight of the perception reward in arm B (Perception-R1: 0.7, next to 0.9 accuracy + 0.1 format).')
    eval_every: int = option(10, help='Held-out evaluation every this many GRPO steps (and after the last).')
    template: str = option("plain", help='Prompt template: "plain" (the question only). Perception-R1\'s instruction ("perception_r1") is a constant ~70-token English suffix that a model which never read English cannot use, and it made every SFT step ~40% slower (0.8 vs 0.57 s for 16 problems, measured); the format is taught by SFT.')
    workers: int = option(2, help='Worker processes (one torch thread each): tiny models waste a second thread, a second process does not.')
    model_size: dict = option(default_factory=dict, help='Sizes of the tiny VLM (perceptrl.models.TinyVLMSize overrides; empty: its defaults).')
    arms: tuple[str, ...] = option(("grpo", "perception_r1"), help='GRPO arms (perceptrl.demo.arms.ARMS); the first is the baseline every other arm is tested against.')



    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def preset(cls, name: str = "demo", *, quick: bool = False, **overrides) -> "DemoConfig":
        """``demo`` (the defaults: two arms, <= 10 min), ``experiment`` (every arm, powered, <= 60 min);
        ``quick`` shrinks either to a smoke run. ``overrides`` win over the preset."""
        base = dict(EXPERIMENT) if name == "experiment" else dict(DEMO)
        if name not in ("demo", "experiment"):
            raise PerceptrlError(f"unknown preset {name!r}", where="DemoConfig.preset", fix="use demo or experiment")
        if quick:
            base.update(QUICK)
        base.update(overrides)
        return cls(**base)

    @classmethod
    def quick(cls, **overrides) -> "DemoConfig":
        """The ``--quick`` preset (<= 90 s): one seed, fewer steps, a smaller held-out set."""
        return cls.preset("demo", quick=True, **overrides)

    def check(self) -> None:
        """Reject impossible settings before any work."""
        from perceptrl.synth import DIFFICULTIES, KINDS

        problems = []
        for name in ("seeds", "n_train", "n_eval", "sft_steps", "sft_batch_size", "grpo_steps", "prompts_per_step",
                     "eval_every", "max_completion_length", "workers"):
            if int(getattr(self, name)) < 1:
                problems.append(f"{name}={getattr(self, name)} (must be >= 1)")
        if self.num_generations < 2:
            problems.append(f"num_generations={self.num_generations} (GRPO needs >= 2 rollouts per prompt)")
        for name in ("choice_share", "shortcut", "teacher_bias"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                problems.append(f"{name}={getattr(self, name)} (a share in [0, 1])")
        if self.shortcut > self.choice_share:
            problems.append(f"shortcut={self.shortcut} > choice_share={self.choice_share} (shortcut problems are "
                            "multiple choice: raise choice_share)")
        for name in ("sft_learning_rate", "grpo_learning_rate", "temperature"):
            if not float(getattr(self, name)) > 0:
                problems.append(f"{name}={getattr(self, name)} (must be > 0)")
        if self.perception_weight < 0:
            problems.append(f"perception_weight={self.perception_weight} (must be >= 0)")
        if self.kl_beta < 0:
            problems.append(f"kl_beta={self.kl_beta} (must be >= 0)")
        if self.kl_beta > 0 and "grpo_care" in self.arms:
            problems.append(f"kl_beta={self.kl_beta} with the grpo_care arm (GRPO-CARE replaces the reference KL: "
                            "leave kl_beta at 0 or drop the arm)")
        if self.teacher_bias > 0 and tuple(self.kinds) != ("chart",):
            problems.append(f"teacher_bias={self.teacher_bias} with kinds {list(self.kinds)} (the teacher model "
                            "misreads charts only: kinds=['chart'])")
        from perceptrl.synth.draw import COLORS

        if not self.teacher_colors or any(c not in COLORS for c in self.teacher_colors):
            problems.append(f"teacher_colors {list(self.teacher_colors)} (one or more of {', '.join(sorted(COLORS))})")
        if bad := [k for k in self.kinds if k not in KINDS]:
            problems.append(f"kinds {bad} (choose from {', '.join(KINDS)})")
        from perceptrl.demo.arms import ARMS

        if bad := [a for a in self.arms if a not in ARMS]:
            problems.append(f"arms {bad} (choose from {', '.join(ARMS)})")
        if len(set(self.arms)) != len(self.arms) or len(self.arms) < 1:
            problems.append(f"arms {list(self.arms)} (one or more distinct arms)")
        if self.difficulty not in DIFFICULTIES:
            problems.append(f"difficulty={self.difficulty} (choose from {DIFFICULTIES})")
        if problems:
            raise PerceptrlError("invalid demo settings: " + "; ".join(problems), where="perceptrl demo",
                                 fix="pass valid values (see perceptrl demo --help)")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


#: ``--quick``: one seed, few steps, a small held-out set (<= 90 s on 2 cores; its numbers mean nothing).
QUICK = dict(seeds=1, n_train=256, n_eval=24, sft_steps=60, grpo_steps=6, eval_every=3)

#: The world in which RL itself works and the seed paper's question has an answer (docs/demo.md,
#: "The fifth experiment"): a warm-start teacher that misreads every chart one unit high half the
#: time (lucky on differences, wrong on sums), free-form answers only (the multiple-choice letter
#: step stayed at chance), a warm start long enough to read, and a GRPO rate that does not undo it.
WORLD = dict(
    choice_share=0.0,
    teacher_bias=0.5,
    teacher_colors=("red", "blue", "green", "orange", "purple"),
    sft_steps=600,
    sft_learning_rate=2e-3,
    grpo_learning_rate=2e-5,
    grpo_steps=60,
    n_eval=256,
)

#: ``perceptrl demo``: the two-arm question in that world, sized so that ``make demo`` from a fresh
#: clone, its .venv install included (~2.6 min), fits in 10 min on 2 cores: two seeds, 500 SFT steps
#: and 40 GRPO steps (the experiment's 600 and 60 took 488 s + 159 s of install, measured).
DEMO = dict(WORLD, seeds=2, sft_steps=500, grpo_steps=40)

#: ``perceptrl experiment``: every arm, and the seeds and held-out size of the power calculation in
#: docs/demo.md ("The experiment"); <= 60 min on 2 cores.
EXPERIMENT = dict(
    WORLD,
    seeds=5,
    # three held-out evaluations per arm (steps 20, 40, 60) instead of six: ~14 s of each ~100 s arm
    # job (measured), and 40 = 2/3 of the steps stays on the grid the 0.67x aim is read on
    eval_every=20,
    arms=("grpo", "perception_r1", "papo", "vppo", "noisy_rollout", "perception_r1+papo", "perception_gate", "vogue",
          "grpo_care", "vision_sr1", "reward_model"),
)
