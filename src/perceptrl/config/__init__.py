"""The one configuration system: option dataclasses (:mod:`.options`) and recipes (:mod:`.recipe`)."""

from perceptrl.config.options import add_flag, default_of, help_of, option, options_of

__all__ = ["add_flag", "default_of", "help_of", "option", "options_of"]
