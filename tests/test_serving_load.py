"""The open-loop load runner and the batcher against synthetic services (sleeps of known length):
every request accounted for, stale ones dropped, the time bound kept, batches gathered."""

from __future__ import annotations

import time

import numpy as np
import pytest

from harness.errors import ConfigError
from harness.serving.arrivals import Arrival
from harness.serving.load import LoadOptions, run_load, summarize
from harness.serving.service import BatchOptions, ChunkFn, PipelineService, Request, StartFn, StreamOptions

RATE = 1000


class Sleeper:
    """Answers after ``seconds``; request indices in ``fail`` raise, in ``silent`` return no audio."""

    sample_rate = RATE

    def __init__(self, seconds: float, fail: tuple[int, ...] = (), silent: tuple[int, ...] = ()) -> None:
        self.seconds, self.fail, self.silent = seconds, fail, silent

    def handle(self, request: Request, on_chunk: ChunkFn, on_start: StartFn | None = None) -> None:
        time.sleep(self.seconds)
        if request.index in self.fail:
            raise RuntimeError("synthesis failed\nsecond line")
        if request.index not in self.silent:
            on_chunk(np.zeros(500, np.float32))

    def close(self) -> None:
        pass


def burst(n: int, at: float = 0.0) -> list[Arrival]:
    return [Arrival(at, f"comment {i}", f"c{i}") for i in range(n)]


def test_every_request_ends_in_a_status_and_failures_keep_their_first_line() -> None:
    records = run_load(Sleeper(0.01, fail=(1,), silent=(2,)), burst(5), LoadOptions(concurrency=2))
    assert [r.status for r in records] == ["ok", "error", "error", "ok", "ok"]
    assert records[1].error == "RuntimeError: synthesis failed" and records[2].error == "no audio in the response"
    summary = summarize(records)
    assert summary["counts"] == {"ok": 3, "dropped": 0, "error": 2, "unfinished": 0}
    assert summary["error_rate"] == pytest.approx(0.4) and summary["ttfa_s"]["p50"] >= 0.01


def test_stale_requests_are_dropped_and_counted() -> None:
    # 10 arrive at once, 0.2 s each, one at a time: from the fourth on they waited > 0.5 s
    records = run_load(Sleeper(0.2), burst(10), LoadOptions(concurrency=1, max_age_s=0.5))
    statuses = [r.status for r in records]
    assert statuses[0] == "ok" and statuses[3:] == ["dropped"] * 7
    assert summarize(records)["drop_rate"] >= 0.7


def test_the_time_bound_leaves_the_rest_unfinished_and_returns() -> None:
    began = time.perf_counter()
    records = run_load(Sleeper(3.0), [*burst(3), Arrival(100.0, "late", "late")], LoadOptions(max_seconds=0.5))
    assert time.perf_counter() - began < 2.9  # no waiting on the hung service past the bound
    assert [r.status for r in records] == ["unfinished"] * 4


def test_queue_time_is_split_from_compute_time() -> None:
    summary = summarize(run_load(Sleeper(0.1), burst(4), LoadOptions(concurrency=1)))
    assert 0.1 <= summary["compute_s"]["p50"] < 1.0
    assert summary["queue_s"]["max"] >= 0.25  # the fourth waited for three before it


def test_waiting_for_the_batcher_is_queueing_even_with_a_sender_free() -> None:
    """With as many senders as a batch holds, a request sent while a batch runs waits in the
    batcher: that wait is its queue time, and its compute time is its own batch's call."""

    def speak(texts: list[str]) -> list[np.ndarray]:
        time.sleep(0.2)
        return [np.zeros(100, np.float32) for _ in texts]

    service = PipelineService(speak, RATE, StreamOptions(), BatchOptions(max_batch=2, max_wait_ms=0.0))
    try:  # the second comes while the first's batch (of one) runs: it waits for it whole
        records = run_load(service, [Arrival(0.0, "one", "a"), Arrival(0.05, "two", "b")], LoadOptions(concurrency=2))
    finally:
        service.close()
    first, second = records
    assert (second.start_s or 0) - second.arrival_s >= 0.14  # sent at once, started after the first's 0.2 s call
    assert (second.end_s or 0) - (second.start_s or 0) >= 0.2 and (first.start_s or 1) - first.arrival_s < 0.14


def test_the_batcher_gathers_concurrent_requests_into_one_call() -> None:
    calls: list[int] = []

    def speak(texts: list[str]) -> list[np.ndarray]:
        calls.append(len(texts))
        time.sleep(0.05)
        return [np.zeros(100, np.float32) for _ in texts]

    # A wait far longer than the senders need to hand over four requests (a full batch goes at once).
    service = PipelineService(speak, RATE, StreamOptions(), BatchOptions(max_batch=4, max_wait_ms=2000))
    try:
        records = run_load(service, burst(8), LoadOptions(concurrency=4))
    finally:
        service.close()
    assert all(r.status == "ok" for r in records)
    assert max(calls) == 4 and sum(calls) == 8 and service.batcher.stats.sizes == calls


def test_a_failed_batch_fails_its_requests_not_the_worker() -> None:
    def speak(texts: list[str]) -> list[np.ndarray]:
        if any("bad" in t for t in texts):
            raise ValueError("out of memory in the ODE")
        return [np.zeros(10, np.float32) for _ in texts]

    service = PipelineService(speak, RATE, StreamOptions(), BatchOptions())
    try:
        records = run_load(service, [Arrival(0, "bad", "b"), Arrival(0.01, "good", "g")], LoadOptions())
    finally:
        service.close()
    assert [r.status for r in records] == ["error", "ok"] and "out of memory" in records[0].error


@pytest.mark.parametrize(
    "options", [{"concurrency": 0}, {"max_age_s": 0.0}, {"max_seconds": float("inf")}, {"concurrency": 10_000}]
)
def test_bad_load_options_are_one_line(options: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        LoadOptions(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize("options", [{"max_batch": 0}, {"max_batch": 65}, {"max_wait_ms": -1.0}])
def test_bad_batch_options_are_one_line(options: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        BatchOptions(**options)  # type: ignore[arg-type]
