"""GRPO training of VLMs on TRL with perception rewards and perception-aware methods.

```python
from perceptrl.train import load_train_config, train
cfg = load_train_config("configs/demo_cpu.yaml", overrides=["trl.max_steps=4", "method.name=papo"])
result = train(cfg)  # or train(cfg, train_examples=..., model=..., processor=...)
result.output_dir, result.log_history, result.model, result.processor
```
"""

from perceptrl.train.config import (
    DataConfig,
    MethodConfig,
    ModelConfig,
    RewardsConfig,
    TrainConfig,
    config_from_dict,
    load_train_config,
)
from perceptrl.train.run import TrainResult, train

__all__ = [
    "DataConfig",
    "MethodConfig",
    "ModelConfig",
    "PerceptrlGRPOTrainer",
    "RewardsConfig",
    "TrainConfig",
    "TrainResult",
    "config_from_dict",
    "load_train_config",
    "train",
]


def __getattr__(name: str):
    # the trainer imports TRL's GRPOTrainer (slow); load it only when asked for
    if name == "PerceptrlGRPOTrainer":
        from perceptrl.train.trainer import PerceptrlGRPOTrainer

        return PerceptrlGRPOTrainer
    raise AttributeError(name)
