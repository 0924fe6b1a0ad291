"""One declaration per option: a dataclass field with its default and a machine-readable help.

Every option of every ``perceptrl`` command is a field of a config dataclass, declared with
:func:`option` (``field(metadata={"help": ...})``, the style of TRL's ``GRPOConfig``), validated in
that dataclass's ``check()`` (run by ``__post_init__``). Command-line flags are *built from* those
fields by :func:`add_flag`: the default and the help text come from the field, so they cannot drift.

Why argparse built from the fields and not ``HfArgumentParser`` for the flags: the commands keep the
flag names users and docs already use (``--retries`` for ``JudgeConfig.max_retries``,
``--judge-concurrency`` in ``perceptrl eval``) and several commands expose one dataclass under a
prefix; ``HfArgumentParser`` names every flag after its field and adds every field of a dataclass.
Recipes (nested YAML sections plus dotted ``key=value`` overrides) go through OmegaConf structured
configs instead, see :mod:`perceptrl.config.recipe`.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import MISSING, Field
from typing import Any

#: Attribute set on every argparse action made by :func:`add_flag`: ``(class, field, derived)``,
#: ``derived`` when the flag's default is decided at run time (its help says how). The option test
#: reads it to prove that every flag's default is its declaration's.
SOURCE_ATTR = "perceptrl_option"


def option(default: Any = MISSING, *, help: str, default_factory: Any = MISSING, **metadata: Any) -> Any:  # noqa: A002
    """A dataclass field with ``help`` in its metadata (the one place an option is documented)."""
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata={"help": help, **metadata})
    return dataclasses.field(default=default, metadata={"help": help, **metadata})


def field_of(cls: type, name: str) -> Field:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f
    raise KeyError(f"{cls.__name__} has no option {name!r}")


def default_of(cls: type, name: str) -> Any:
    """The declared default of ``cls.name`` (a fresh value for ``default_factory`` fields)."""
    f = field_of(cls, name)
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None


def help_of(cls: type, name: str) -> str:
    return str(field_of(cls, name).metadata.get("help", ""))


def options_of(cls: type) -> list[Field]:
    """The user options of a dataclass: fields with a help text (internal fields have none)."""
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


def _scalar_type(f: Field) -> Any:
    """The argparse ``type`` for a field: int/float for numbers, else strings (None: keep as str)."""
    default = f.default if f.default is not MISSING else None
    if isinstance(default, bool):
        return None
    if isinstance(default, (int, float)):
        return type(default)
    text = str(f.type)
    for name, conv in (("float", float), ("int", int)):
        if text.startswith(name) or text.startswith(f"{name} |") or text == f"{name} | None":
            return conv
    return None


def add_flag(parser: argparse.ArgumentParser | Any, cls: type, name: str, *flags: str,
             help_extra: str = "", **kwargs: Any) -> argparse.Action:
    """Add ``flags`` (default ``--name`` with dashes) for option ``cls.name``: default, type and
    help come from the field. ``kwargs`` pass through (``choices``, ``metavar``, ``dest``)."""
    f = field_of(cls, name)
    if not flags:
        flags = ("--" + name.replace("_", "-"),)
    # a caller may pass another default, decided by the command (runs/<command>) or at run time
    # (None: "the preset's", "openai when --base-url is given"); help_extra must say which
    derived = "default" in kwargs
    if derived and not help_extra.startswith("Left out"):
        raise ValueError(f"{cls.__name__}.{name}: a flag default other than the field's needs help_extra='Left out: ...'")
    default = kwargs.pop("default", default_of(cls, name))
    if "type" not in kwargs and "action" not in kwargs:
        conv = _scalar_type(f)
        if conv is not None:
            kwargs["type"] = conv
    text = (help_of(cls, name) + (f" {help_extra}" if help_extra else "")).replace("%", "%%")
    if kwargs.get("action") in ("store_true", "store_false"):
        text += f" (sets {name}={render_default(kwargs['action'] == 'store_true')}; default {render_default(default)})"
    elif not kwargs.get("required") and (default is not None or not derived):
        text += " (default: %(default)s)"
    if not kwargs.get("action"):
        if flags[0].startswith("-"):
            kwargs.setdefault("metavar", flags[0].lstrip("-").replace("-", "_").upper())
    action = parser.add_argument(*flags, default=default, help=text, **kwargs)
    setattr(action, SOURCE_ATTR, (cls, name, derived))
    return action



def render_default(value: Any) -> str:
    """A default as a recipe would write it (YAML: ``null``, ``true``, ``[]``, ``0.05``)."""
    import json

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def add_section_flags(parser: argparse.ArgumentParser, section: str, cls: type, title: str,
                      defaults: dict[str, Any] | None = None) -> None:
    """``--section.key VALUE`` for every option of ``cls`` (a recipe section), in its own help group.

    The flags are another spelling of the ``section.key=value`` overrides: they default to nothing
    (the recipe's value, else the field's default, listed in the help; ``defaults`` replaces the
    listed default where perceptrl sets its own, as for a few GRPOConfig keys) and are gathered by
    :func:`section_overrides`."""
    group = parser.add_argument_group(f"{section}: {title}")
    defaults = defaults or {}
    for f in options_of(cls):
        if not f.init:
            continue
        default = defaults.get(f.name, default_of(cls, f.name))
        text = " ".join(str(f.metadata["help"]).split()).replace("%", "%%") + f" (default: {render_default(default)})"
        action = group.add_argument(f"--{section}.{f.name}", dest=f"{section}.{f.name}", metavar="VALUE",
                                    default=argparse.SUPPRESS, help=text)
        setattr(action, SOURCE_ATTR, (cls, f.name, True))  # default: the recipe's, else the field's


def section_overrides(args: argparse.Namespace) -> list[str]:
    """The ``--section.key VALUE`` flags given, as ``section.key=VALUE`` overrides."""
    return [f"{k}={v}" for k, v in vars(args).items() if "." in k]


def add_flags(parser: argparse.ArgumentParser | Any, cls: type, flags: dict[str, str | None],
              extra: dict[str, dict[str, Any]] | None = None) -> None:
    """:func:`add_flag` for each ``field -> flag`` of ``flags`` (``None``: ``--field-name``), each
    stored under its field's name (``dest``); ``extra`` gives per-field argparse keywords."""
    extra = extra or {}
    for name, flag in flags.items():
        kw = {"dest": name, **extra.get(name, {})}
        add_flag(parser, cls, name, *([flag] if flag else []), **kw)


def values_of(args: argparse.Namespace, names: Any) -> dict[str, Any]:
    """``{field: args.field}`` for the ``names`` present on ``args`` (flags made by :func:`add_flags`)."""
    return {n: getattr(args, n) for n in names if hasattr(args, n)}
