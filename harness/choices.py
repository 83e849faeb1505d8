"""Checking a name against its choices, with a "did you mean" for a near miss: one place for every
registry (vocoder backends, ASR, speaker encoders) and every config key."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from harness.errors import ConfigError


def suggest(name: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' when a close choice exists, else ''."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_list(text: str, kind: Callable[[str], Any] = str, option: str = "value") -> list[Any]:
    """A comma-separated option value, e.g. ``--nfe 8,16``."""
    try:
        return [kind(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(
            f"{option}: not a comma-separated list of {getattr(kind, '__name__', kind)}: {text!r}"
        ) from None


def check_choice(kind: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ConfigError(f"unknown {kind} {value!r}{suggest(value, choices)}; choose from {', '.join(choices)}")
    return value


_SCALARS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}


def check_field_types(obj: Any, where: str) -> None:
    """Every scalar field of a dataclass holds its annotated kind (``int``, ``float``, ``bool``,
    ``str``, each optionally ``| None``): a TOML ``enabled = "false"`` or ``seed = "abc"`` is refused
    here, not read as true or failing every configuration later. Other annotations are left to the
    class's own checks."""
    from dataclasses import fields

    for f in fields(obj):
        parts = [p.strip() for p in str(f.type).split("|")]
        optional = "None" in parts
        kinds = [p for p in parts if p != "None"]
        if len(kinds) != 1 or kinds[0] not in _SCALARS:
            continue
        value = getattr(obj, f.name)
        if value is None and optional:
            continue
        wanted = _SCALARS[kinds[0]]
        if not isinstance(value, wanted) or (kinds[0] != "bool" and isinstance(value, bool)):
            article = "an" if kinds[0] == "int" else "a"
            raise ConfigError(f"{where} {f.name} must be {article} {kinds[0]}, got {value!r:.40}")
