"""perceptrl: RL for vision-language models with verifiable and perception rewards."""

from perceptrl.errors import PerceptrlError

__version__ = "0.1.0"
__all__ = ["PerceptrlError", "__version__"]
