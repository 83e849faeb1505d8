"""Scenarios: what a configuration's timed region does, found by name (``[scenario] kind``).

- ``single-stream`` (default): rounds over the texts, one request at a time.
- ``offline``: the same rounds; the matrix's ``batch_size`` sets the batch, so throughput is audio
  seconds per wall second (1 / RTF with the batch's audio summed).
- ``server``: requests arrive as a Poisson process at ``rate_per_s`` (seeded); one worker serves them
  first come, first served. Latency is completion minus arrival, queueing included; time to first
  audio equals latency because synthesis is not streamed.
- ``load``: open-loop arrivals against the streaming, batching service (``harness/serving/scenario.py``).

Adding one: a module with a ``Scenario`` (its timed region; optionally its report table and the
figures MLflow logs), added here by ``"module:attr"``, ``register``-ed (from a conftest, say), or
shipped in an installed package under the entry-point group ``tts_harness.scenarios``. Suites name
a registered scenario, never code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.config import ScenarioConfig
from harness.plugins import Registry
from harness.serving.arrivals import gaps

if TYPE_CHECKING:
    from harness.config import RunConfig, SuiteConfig
    from harness.results import Record
    from harness.table import Table

Rows = list[tuple[str, dict[str, Any]]]  # (configuration id, its record's ``scenario`` block)


@dataclass(frozen=True)
class Timed:
    """What a scenario's timed region may use."""

    request: Callable[[int], None]  # text i synthesized once: one timed run of the record
    round: Callable[[], None]  # every text once
    rounds: int  # the rounds the suite's timing asks for
    loop: Callable[[Callable[[], None], int], object]  # runs ``round`` that many times (or as a gate asks)
    suite: SuiteConfig
    run: RunConfig
    synth: Any
    record: Record
    inject_slowdown: float


@dataclass(frozen=True)
class Scenario:
    """``timed``: the timed region, returning the record's ``scenario`` block (None: the runs say it
    all); ``table``: its section of summary.md and report.html; ``figures``: what MLflow logs of a
    block (nested dicts are flattened under the scenario's name)."""

    name: str
    timed: Callable[[Timed], dict[str, Any] | None]
    table: Callable[[Rows], Table | None] | None = None
    figures: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def _rounds(t: Timed) -> None:
    t.loop(t.round, t.rounds)


def _server(t: Timed) -> dict[str, Any]:
    texts = t.suite.texts
    return serve(lambda i: t.request(i % len(texts)), t.suite.scenario, lambda i: texts[i % len(texts)].id)


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


def server_table(rows: Rows) -> Table | None:
    from harness.table import Table

    if not rows:
        return None
    head = ["configuration", "rate /s", "requests", "latency p50 s", "p90 s", "p99 s", "achieved /s"]
    table = Table(title="Server scenario (Poisson arrivals, one worker, FIFO)", head=head, id="server")
    for name, s in rows:
        lat = s["latency_s"]
        table.rows.append([name, f"{s['rate_per_s']:g}", str(s["requests"]), f"{lat['p50']:.3f}", f"{lat['p90']:.3f}",
                           f"{lat['p99']:.3f}", f"{s['achieved_rate_per_s']:.2f}"])  # fmt: skip
    return table


def server_figures(block: dict[str, Any]) -> dict[str, Any]:
    return {"latency_s": block["latency_s"], "achieved_rate_per_s": block["achieved_rate_per_s"]}


SCENARIOS: Registry[Scenario] = Registry(
    "scenario",
    Scenario,
    "tts_harness.scenarios",
    {
        "single-stream": Scenario("single-stream", _rounds),
        "offline": Scenario("offline", _rounds),
        "server": Scenario("server", _server, server_table, server_figures),
        "load": "harness.serving.scenario:SCENARIO",
    },
)
register, names, get = SCENARIOS.register, SCENARIOS.names, SCENARIOS.get


def known(name: object) -> Scenario | None:
    """The scenario a stored block names, if this installation has it (a report of a results file
    from elsewhere shows what it can)."""
    return get(name) if isinstance(name, str) and name in names() else None


def tables(records: list[Record]) -> list[Table]:
    """Each scenario's section, over the records whose block it wrote, by configuration id."""
    rows: dict[str, Rows] = {}
    for record in sorted(records, key=lambda r: r.id):
        if record.scenario.get("kind"):
            rows.setdefault(record.scenario["kind"], []).append((record.id, record.scenario))
    out = []
    for kind, kind_rows in rows.items():
        scenario = known(kind)
        if scenario is not None and scenario.table is not None and (table := scenario.table(kind_rows)):
            out.append(table)
    return out
