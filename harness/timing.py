"""Device-synchronized stage timers: the only place that reads clocks for results.

On CUDA each stage boundary records a CUDA event on the current stream and the device is
synchronized once at the end; stage times are event-to-event GPU-timeline milliseconds (the
timeline advances with host work too when the stream is idle, so host-only stages count).
On the CPU the clock is ``time.perf_counter``. The total is always wall time between the first
boundary and a device synchronize after the last one, from ``time.perf_counter``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def synchronizer(device: torch.device | str) -> Callable[[], None]:
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return lambda: torch.cuda.synchronize(dev)
    return lambda: None


class StageTimer:
    """Times consecutive named stages of one call: ``with timer.stage("vocoder"): ...``."""

    def __init__(self, device: torch.device | str, inject_slowdown: float = 0.0) -> None:
        import torch

        self.device = torch.device(device)
        self.use_events = self.device.type == "cuda"
        self.clock = "cuda-events+perf_counter" if self.use_events else "perf_counter"
        self._sync = synchronizer(self.device)
        self._marks: list[tuple[str, Any, Any]] = []
        self._t0 = 0.0
        self.total_s = 0.0
        self.inject_slowdown = inject_slowdown
        self._injected_s = 0.0

    def _mark(self) -> Any:
        if self.use_events:
            import torch

            event = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            event.record()  # type: ignore[no-untyped-call]
            return event
        return time.perf_counter()

    def __enter__(self) -> StageTimer:
        self._sync()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sync()
        if self.inject_slowdown > 0:
            # A known, real slowdown inside the timed region (gate validation only): the given
            # fraction of this call's own duration, reported as its own stage. A busy wait, not a
            # sleep: the thread stays running as it does while it synchronizes with the device, and
            # a sleep's wake-up would add to the delay by an amount of its own.
            delay = self.inject_slowdown * (time.perf_counter() - self._t0)
            until = time.perf_counter() + delay
            while time.perf_counter() < until:
                pass
            self._injected_s = delay
        self.total_s = time.perf_counter() - self._t0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = self._mark()
        yield
        self._marks.append((name, start, self._mark()))

    def stages_s(self) -> dict[str, float]:
        """Seconds per stage; call after the timer has exited (device synchronized)."""
        out: dict[str, float] = {}
        for name, start, end in self._marks:
            seconds = float(start.elapsed_time(end)) / 1000.0 if self.use_events else float(end - start)
            out[name] = out.get(name, 0.0) + seconds
        if self._injected_s:
            out["injected_delay"] = self._injected_s
        return out


def timed(fn: Callable[[], Any], device: torch.device | str) -> tuple[Any, float]:
    """Call ``fn`` once between two device synchronizations; returns (result, wall seconds)."""
    sync = synchronizer(device)
    sync()
    start = time.perf_counter()
    result = fn()
    sync()
    return result, time.perf_counter() - start
