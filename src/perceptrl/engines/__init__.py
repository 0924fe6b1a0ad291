"""Perception rewards on the distributed engines (verl, EasyR1): the row encoding shared by the
dataset writers (:mod:`perceptrl.data.formats.verl`) and the reward entry points
(:mod:`perceptrl.rewards.verl_adapter`), and the async micro-batcher. See ``docs/engines.md``."""
