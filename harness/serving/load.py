"""Open-loop load: arrivals replayed in real time against a service, every request accounted for.

A dispatcher puts each request in a first-come-first-served queue at its arrival time, whether or
not the service keeps up; ``concurrency`` senders take requests from it (one for today's
one-at-a-time service; ``max_batch`` for a batcher; the connections for an HTTP service). A sender
drops a request that waited longer than ``max_age_s`` (a live reader skips stale comments). Every
request ends ``ok``, ``dropped``, ``error`` (the failure's first line kept) or ``unfinished`` (the
load's time bound ran out): none is lost. Clock: ``time.perf_counter`` in this process, from the
first arrival; per request: arrival, start (its computing began: the batch it joined started, for
the in-process service; sent, for a black box), each chunk's hand-over, end.
"""

from __future__ import annotations

import copy
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from harness.errors import ConfigError, first_line
from harness.serving.arrivals import Arrival
from harness.serving.playback import play
from harness.serving.service import Request, Service

STATUSES = ("ok", "dropped", "error", "unfinished")
MAX_CONCURRENCY = 256


@dataclass
class RequestRecord:
    index: int
    text_id: str
    chars: int
    arrival_s: float
    status: str = "unfinished"
    start_s: float | None = None
    end_s: float | None = None
    chunks: list[tuple[float, float]] = field(default_factory=list)  # (hand-over time, audio seconds)
    error: str = ""

    @property
    def first_audio_s(self) -> float | None:
        return self.chunks[0][0] - self.arrival_s if self.chunks else None


@dataclass(frozen=True)
class LoadOptions:
    concurrency: int = 1
    max_age_s: float | None = None  # drop a request that waited longer (None: never)
    max_seconds: float = 600.0  # the whole load, arrivals and draining; what is left is unfinished

    def __post_init__(self) -> None:
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ConfigError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, got {self.concurrency}")
        if self.max_age_s is not None and not (math.isfinite(self.max_age_s) and self.max_age_s > 0):
            raise ConfigError(f"max_age_s must be > 0 seconds, got {self.max_age_s!r}")
        if not (math.isfinite(self.max_seconds) and self.max_seconds > 0):
            raise ConfigError(f"max_seconds must be > 0, got {self.max_seconds!r}")


class LoadInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a load: the records so far ride along (nothing measured is lost)."""

    def __init__(self, records: list[RequestRecord]) -> None:
        super().__init__("load interrupted")
        self.records = records


def _serve_one(service: Service, record: RequestRecord, request: Request, clock: Callable[[], float]) -> None:
    record.start_s = clock()  # sent; a service that can tell moves it to when its computing began

    def started() -> None:
        record.start_s = clock()

    try:
        service.handle(
            request, lambda samples: record.chunks.append((clock(), len(samples) / service.sample_rate)), started
        )
    except Exception as exc:  # a failed request is a result, never the end of the load
        record.status, record.error = "error", f"{type(exc).__name__}: {first_line(exc)}"
    else:
        record.status = "ok" if record.chunks else "error"
        record.error = "" if record.chunks else "no audio in the response"
    record.end_s = clock()


def run_load(
    service: Service,
    arrivals: list[Arrival],
    options: LoadOptions,
    on_done: Callable[[RequestRecord], None] | None = None,
) -> list[RequestRecord]:
    """Replay ``arrivals`` against ``service``; one record per arrival, in arrival order."""
    records = [RequestRecord(i, a.text_id, len(a.text), a.t) for i, a in enumerate(arrivals)]
    waiting: queue.Queue[int | None] = queue.Queue()
    done = threading.Semaphore(0)
    start = time.perf_counter()

    def clock() -> float:
        return time.perf_counter() - start

    def sender() -> None:
        while (index := waiting.get()) is not None:
            record, arrival = records[index], arrivals[index]
            if clock() > options.max_seconds:
                pass  # left unfinished: the load's time is up
            elif options.max_age_s is not None and clock() - arrival.t > options.max_age_s:
                record.status, record.start_s = "dropped", clock()
            else:
                _serve_one(service, record, Request(index, arrival.text, arrival.text_id, arrival.t), clock)
            if on_done:
                on_done(record)
            done.release()

    senders = [threading.Thread(target=sender, daemon=True) for _ in range(options.concurrency)]
    for thread in senders:
        thread.start()
    sent = 0
    try:
        for index, arrival in enumerate(arrivals):
            wait = arrival.t - clock()
            if arrival.t > options.max_seconds:
                break
            if wait > 0:
                time.sleep(wait)
            waiting.put(index)
            sent += 1
        for _ in senders:
            waiting.put(None)
        deadline = options.max_seconds + 1.0  # senders finish what they took; the time bound caps the wait
        for _ in range(sent):
            if not done.acquire(timeout=max(0.0, deadline - clock())):
                break
    except KeyboardInterrupt:
        raise LoadInterrupted(copy.deepcopy(records)) from None
    return copy.deepcopy(records)  # a sender still inside a hung service cannot change what is reported


def _percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    x = np.asarray(values)
    return {"p50": float(np.percentile(x, 50)), "p90": float(np.percentile(x, 90)), "p99": float(np.percentile(x, 99)),
            "max": float(x.max()), "mean": float(x.mean())}  # fmt: skip


def summarize(records: list[RequestRecord]) -> dict[str, Any]:
    """The load's figures: TTFA, latency, queue and compute time percentiles over served requests,
    inter-chunk gaps, underruns, and the share of requests dropped, failed or left unfinished."""
    ok = [r for r in records if r.status == "ok"]
    counts = {status: sum(r.status == status for r in records) for status in STATUSES}
    plays = [play([t - r.arrival_s for t, _ in r.chunks], [s for _, s in r.chunks]) for r in ok]
    span = max((r.end_s or r.arrival_s for r in records), default=0.0)
    arrivals_span = records[-1].arrival_s if records else 0.0
    total = max(len(records), 1)
    return {
        "requests": len(records),
        "counts": counts,
        "offered_rate_per_s": (len(records) - 1) / arrivals_span if arrivals_span > 0 else None,
        "served_rate_per_s": len(ok) / span if span > 0 else None,
        "ttfa_s": _percentiles([p.first_audio_s for p in plays]),
        "latency_s": _percentiles([(r.end_s or 0.0) - r.arrival_s for r in ok]),
        "queue_s": _percentiles([(r.start_s or 0.0) - r.arrival_s for r in ok]),
        "compute_s": _percentiles([(r.end_s or 0.0) - (r.start_s or 0.0) for r in ok]),
        "gap_s": _percentiles([g for p in plays for g in p.gaps_s]),
        "underruns": sum(p.underruns for p in plays),
        "underrun_rate": sum(p.underruns > 0 for p in plays) / len(plays) if plays else 0.0,
        "silence_s": sum(p.silence_s for p in plays),
        "drop_rate": counts["dropped"] / total,
        "error_rate": (counts["error"] + counts["unfinished"]) / total,
        "errors": sorted({r.error for r in records if r.error})[:10],
        "clock": "perf_counter in the load process, from the first arrival",
    }


def records_json(records: list[RequestRecord]) -> list[dict[str, Any]]:
    return [asdict(r) | {"first_audio_s": r.first_audio_s} for r in records]
