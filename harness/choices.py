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
