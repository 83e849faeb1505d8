"""The one executor interface: what runs a sweep's jobs, each one model-build group (the
configurations that share one build, hence one compile). The driver (``harness.sweep.Sweep``)
submits the groups, collects their records and keeps results.json; a backend only runs them.

A backend in one file: subclass ``Backend``, implement ``submit`` and ``wait``, and override what
applies (``lost`` for a node or worker that went away, ``cancel``/``kept`` for Ctrl-C, ``costs``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.config import SuiteConfig
from harness.results import Record, Results

Outcome = list[Record] | BaseException  # a job's records, or why it failed


class Backend:
    """Runs jobs (one build group each) somewhere: in this process, on this host's GPUs, on Ray."""

    name = "backend"
    # Set by the driver: a backend that measures in this process hands each record over as it ends,
    # so results.json keeps it even if the process is killed mid-group.
    on_record: Callable[[Record], None] | None = None

    def prepare(self, suite: SuiteConfig) -> dict[str, Any]:
        """Before results.json opens: what this process set up for ``suite`` (recorded as
        ``options.process``); {} where the jobs run elsewhere."""
        return {}

    def opened(self, results: Results) -> None:
        """results.json is open (its platform, the preflight): nothing to do unless measuring here."""

    def submit(self, suite: SuiteConfig) -> Any:
        """Start one group (``suite.runs``); return a handle."""
        raise NotImplementedError

    def wait(self, handles: list[Any], timeout_s: float) -> list[tuple[Any, Outcome]]:
        """The jobs among ``handles`` that ended within ``timeout_s``, each with its outcome."""
        raise NotImplementedError

    def lost(self, error: BaseException) -> bool:
        """Whether a job failed because its node or worker went away (worth submitting again)."""
        return False

    def cancel(self, handles: list[Any]) -> None:
        """Ctrl-C: stop the jobs in flight."""

    def kept(self, handles: list[Any]) -> list[Record]:
        """After ``cancel``: the records the cancelled jobs saved before they stopped."""
        return []

    def costs(self) -> dict[str, float]:
        """Sweep costs (startup, builds, first calls, timed, ...) of the processes that measured,
        added up; ``parts`` when they were other processes; {} if unknown."""
        return {}

    def close(self) -> dict[str, Any]:
        """The sweep's end: release what the backend holds; notes for results.json's options
        (``stop_reason`` when it left configurations unmeasured on purpose)."""
        return {}
