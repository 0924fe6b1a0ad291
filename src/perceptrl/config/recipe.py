"""Recipes: YAML sections + dotted ``section.key=value`` overrides -> typed, checked dataclasses.

Built on OmegaConf structured configs: each section is a dataclass (:func:`OmegaConf.structured`),
the YAML document and every override are merged into it by OmegaConf (a typo'd key raises
``ConfigKeyError``, a value of the wrong type ``ValidationError``: both become a
:class:`PerceptrlError` naming the file, the key, the valid keys / the expected type), and
:func:`OmegaConf.to_object` builds the dataclasses, whose ``__post_init__`` runs their ``check()``.

Why OmegaConf: it is the well-kept library that merges YAML with dotted overrides *into typed
dataclasses* (nested sections, ``Optional``/list/dict fields, string-to-number conversion, struct
mode for unknown keys), which ``HfArgumentParser`` does not (it is flat: one namespace of flags).

One thing is kept from PyYAML instead of OmegaConf's own loader: scalars are read as YAML 1.2
(only ``true``/``false`` are booleans, ``1e-6`` is a float). OmegaConf reads YAML 1.1, where
``save_strategy: no`` — TRL's value — is the boolean False.

Sections that are not dataclasses (``trl``: TRL's ``GRPOConfig`` keyword arguments, checked
against its fields by the caller) are plain mappings here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException, ValidationError

from perceptrl.errors import PerceptrlError


class Yaml12Loader(yaml.SafeLoader):
    """Safe YAML with YAML 1.2 booleans and floats (see the module docstring)."""


Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:float",
                                   re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"), list("-+0123456789."))
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                   re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def yaml_load(text: str) -> Any:
    return yaml.load(text, Loader=Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


def bad_key(key: str, valid: Iterable[str], where: str) -> PerceptrlError:
    """Unknown ``key``: the error names it, the closest valid keys ("did you mean") and all of them."""
    valid = sorted(valid)
    close = difflib.get_close_matches(key.split(".")[-1], valid, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return PerceptrlError(f"unknown configuration key {key!r}.{hint}", where=where,
                          fix=f"use one of: {', '.join(valid)}")


def parse_override(item: str) -> tuple[str, Any]:
    """``"a.b=value"`` -> ``("a.b", value parsed as YAML 1.2)``."""
    if "=" not in item:
        raise PerceptrlError(f"override {item!r} is not of the form section.key=value", where="command line",
                             fix="write e.g. trl.max_steps=4 or method.name=papo")
    key, value = item.split("=", 1)
    key = key.strip()
    if len(key.split(".")) < 2:
        raise PerceptrlError(f"override {item!r} must name a section and a key", where="command line",
                             fix="write e.g. trl.learning_rate=1e-6")
    try:
        return key, (yaml_load(value) if value != "" else None)
    except yaml.YAMLError:
        return key, value


def read_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise PerceptrlError(f"configuration file not found: {p}", where=str(p),
                             fix="pass a YAML recipe, e.g. configs/demo_cpu.yaml")
    try:
        return yaml_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise PerceptrlError(f"invalid YAML: {e}", where=str(p), fix="fix the YAML syntax") from None


class Recipe:
    """The sections of one kind of recipe: ``typed`` (name -> dataclass) and ``free`` (name ->
    a function returning the valid keys of that mapping section, e.g. GRPOConfig's fields)."""

    def __init__(self, typed: dict[str, type], free: dict[str, Callable[[], set[str]]]):
        self.typed, self.free = typed, free

    @property
    def sections(self) -> list[str]:
        return list(self.typed) + list(self.free)

    def build(self, raw: Any, overrides: list[str] | None, where: str) -> tuple[dict[str, Any], set[str]]:
        """``({section: dataclass or dict}, {dotted keys the user set})`` from the YAML mapping
        ``raw`` and the ``overrides``; every error names ``where`` and the key."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise PerceptrlError("the configuration must be a mapping of sections", where=where,
                                 fix=f"write {', '.join(f'`{s}:`' for s in self.sections)} sections")
        pairs = [parse_override(o) for o in overrides or []]
        for section, body in raw.items():
            if section not in self.sections:
                raise bad_key(section, self.sections, where)
            if body is not None and not isinstance(body, dict):
                raise PerceptrlError(f"section {section!r} must be a mapping", where=where,
                                     fix=f"write `{section}:` followed by indented `key: value` lines")
        for key, _ in pairs:
            if key.split(".")[0] not in self.sections:
                raise bad_key(key.split(".")[0], self.sections, "command line")
        explicit = {f"{s}.{k}" for s, body in raw.items() for k in (body or {})} | {k for k, _ in pairs}
        root = OmegaConf.create({s: OmegaConf.structured(c) for s, c in self.typed.items()}
                                | {s: {} for s in self.free})
        with _translated(self, where):
            root = OmegaConf.merge(root, {s: b for s, b in raw.items() if b is not None})
        for key, value in pairs:
            with _translated(self, "command line"):
                OmegaConf.update(root, key, value, merge=True)
        out: dict[str, Any] = {}
        for s in self.free:
            body = OmegaConf.to_container(root[s], resolve=False)
            valid = self.free[s]()
            for k in body:
                if k not in valid:
                    raise bad_key(f"{s}.{k}", valid, where)
            out[s] = body
        for s in self.typed:
            try:
                out[s] = OmegaConf.to_object(root[s])
            except PerceptrlError as e:
                raise PerceptrlError(e.what, where=f"{where}: {e.where or s}", fix=e.fix) from None
        return out, explicit


@contextlib.contextmanager
def _translated(recipe: Recipe, where: str) -> Iterator[None]:
    """Turn OmegaConf's key and type errors into :class:`PerceptrlError` (file, key, valid keys)."""
    try:
        yield
    except OmegaConfBaseException as err:
        key = str(getattr(err, "full_key", "") or "")
        cls = recipe.typed.get(key.split(".")[0])
        if isinstance(err, (ConfigKeyError, ConfigAttributeError)) and cls is not None:
            raise bad_key(key, [f.name for f in dataclasses.fields(cls)], where) from None
        if isinstance(err, ValidationError):
            raise PerceptrlError(f"bad value for {key}: {str(err).splitlines()[0]}", where=where,
                                 fix=f"give {key} a value of its declared type") from None
        raise PerceptrlError(f"invalid configuration: {str(err).splitlines()[0]}", where=where,
                             fix="check the key and value") from None
