"""A registry of named components (quality metrics, scenarios): built-ins given as ``"module:attr"``
and imported when first asked for, ``register``-ed ones, and those installed packages declare under
an entry-point group (found once per process, as pytest finds ``pytest11`` plugins; an explicit
``register`` wins). Suites name components; a name is checked with a "did you mean" line."""

from __future__ import annotations

import importlib
from typing import Generic, TypeVar

from harness.choices import suggest
from harness.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, cls: type[T], group: str, builtins: dict[str, str | T]) -> None:
        self.kind, self.cls, self.group = kind, cls, group  # kind: e.g. "quality metric", in messages
        self._entries: dict[str, str | T] = dict(builtins)
        self._plugins_loaded = False

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for point in entry_points(group=self.group):
            found = point.load()
            if not isinstance(found, self.cls):
                raise ConfigError(
                    f"entry point {point.name} = {point.value!r} ({self.group}) is not a {self.cls.__name__}"
                )
            self._entries.setdefault(getattr(found, "name"), found)  # noqa: B009

    def register(self, component: T) -> T:
        """Make ``component`` known by its ``name`` (a later registration of the name replaces it)."""
        self._entries[getattr(component, "name")] = component  # noqa: B009
        return component

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def check_name(self, name: str) -> str:
        if name not in self.names():
            raise ConfigError(
                f"unknown {self.kind} {name!r}{suggest(name, self._entries)}; choose from {', '.join(self.names())}"
            )
        return name

    def get(self, name: str) -> T:
        entry = self._entries[self.check_name(name)]
        if isinstance(entry, str):
            module_name, attr = entry.split(":")
            entry = self._entries[name] = getattr(importlib.import_module(module_name), attr)
        assert isinstance(entry, self.cls)
        return entry
