"""Load scenarios in the spirit of MLPerf Inference.

- ``single-stream``: one request at a time, back to back (what the service does today).
- ``offline``: batched synthesis; the matrix's ``batch_size`` sets the batch, throughput is audio
  seconds per wall second (1 / RTF with the batch's audio summed).
- ``server``: requests arrive as a Poisson process at ``rate_per_s`` (seeded); one worker serves them
  first come, first served. Latency is completion minus arrival, queueing included; time to first
  audio equals latency because synthesis is not streamed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from harness.config import ScenarioConfig
from harness.serving.arrivals import gaps


def arrivals(config: ScenarioConfig) -> np.ndarray:
    """Arrival offsets in seconds from the start, exponential gaps at the configured rate."""
    drawn = gaps("poisson", config.rate_per_s, config.requests, config.seed)
    return np.asarray(np.cumsum(drawn) - drawn[0])


def serve(
    request: Callable[[int], Any], config: ScenarioConfig, group: Callable[[int], str] | None = None
) -> dict[str, Any]:
    """Replay the arrival schedule in real time; ``request(i)`` synthesizes request i; ``group(i)``
    names what request i is (its text) for time to audio per group."""
    schedule = arrivals(config)
    start = time.perf_counter()
    latencies, waits = [], []
    for i, due in enumerate(schedule):
        now = time.perf_counter() - start
        if now < due:
            time.sleep(due - now)
        began = time.perf_counter() - start
        request(i)
        done = time.perf_counter() - start
        waits.append(began - due)
        latencies.append(done - due)
    lat = np.asarray(latencies)
    span = time.perf_counter() - start
    by_group: dict[str, list[float]] = {}
    for i, latency in enumerate(latencies):
        by_group.setdefault(group(i) if group else "all", []).append(latency)
    return {
        "kind": "server",
        "rate_per_s": config.rate_per_s,
        "requests": config.requests,
        "latency_s": {q: float(np.percentile(lat, int(q[1:]))) for q in ("p50", "p90", "p99")}
        | {"mean": float(lat.mean()), "max": float(lat.max())},
        "time_to_first_audio_s": {"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99))},
        "time_to_audio_by_text_s": {
            name: {"p50": float(np.percentile(v, 50)), "p90": float(np.percentile(v, 90)), "requests": len(v)}
            for name, v in sorted(by_group.items())
        },
        "queue_wait_s": {"p50": float(np.percentile(waits, 50)), "p99": float(np.percentile(waits, 99))},
        "achieved_rate_per_s": config.requests / span,
        "clock": "perf_counter, arrival to completion",
    }
