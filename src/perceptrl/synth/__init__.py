"""Procedural visual-reasoning problems with exact answers, visual facts, boxes and chains of thought.

>>> from perceptrl.synth import generate
>>> ex = generate(1, seed=0, kinds=("chart",))[0]
>>> ex.visual_annotations  # doctest: +SKIP
['height of bar A = 3', 'height of bar C = 6']
"""

from perceptrl.synth.generate import DEFAULT_IMAGE_SIZE, DIFFICULTIES, KINDS, corpus, generate, solve

__all__ = ["DEFAULT_IMAGE_SIZE", "DIFFICULTIES", "KINDS", "corpus", "generate", "solve"]
