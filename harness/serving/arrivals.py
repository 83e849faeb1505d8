"""When requests arrive: a Poisson process, a bursty gamma process, or a recorded trace.

Open-loop load, as vLLM's serving benchmark and MLPerf's server scenario draw it: arrival times are
fixed before the run and never wait for the service. ``poisson`` draws exponential gaps at a rate;
``gamma`` draws gamma gaps with the same mean and shape ``1 / burstiness`` (burstiness 1 is
Poisson; larger values bunch requests into bursts with long quiet gaps between). A ``trace`` is a
JSON Lines file of ``{"t": seconds, "text": "..."}`` (optionally ``"id"``), replayed as recorded.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import ConfigError, InputError

PROCESSES = ("poisson", "gamma", "trace")
MAX_REQUESTS = 100_000  # every load loop is bounded in requests (and in time, by its caller)
MAX_TRACE_BYTES = 50_000_000


@dataclass(frozen=True)
class Arrival:
    """One request of a schedule: when it arrives (seconds from the start) and what it says."""

    t: float
    text: str
    text_id: str


def gaps(process: str, rate_per_s: float, count: int, seed: int, burstiness: float = 1.0) -> np.ndarray:
    """``count`` gaps between arrivals (seconds) with mean ``1 / rate_per_s``."""
    if not (math.isfinite(rate_per_s) and rate_per_s > 0):
        raise ConfigError(f"arrival rate must be a positive number of requests per second, got {rate_per_s!r}")
    if not (math.isfinite(burstiness) and burstiness > 0):
        raise ConfigError(f"burstiness must be > 0 (1 is Poisson), got {burstiness!r}")
    if not 1 <= count <= MAX_REQUESTS:
        raise ConfigError(f"requests must be between 1 and {MAX_REQUESTS}, got {count}")
    rng = np.random.default_rng(seed)
    if process == "poisson":
        return rng.exponential(1.0 / rate_per_s, count)
    if process == "gamma":
        shape = 1.0 / burstiness
        return rng.gamma(shape, 1.0 / (rate_per_s * shape), count)
    raise ConfigError(f"unknown arrival process {process!r}; use {', '.join(PROCESSES[:2])} (or a trace file)")


def drawn(
    process: str, rate_per_s: float, count: int, seed: int, texts: list[tuple[str, str]], burstiness: float = 1.0
) -> list[Arrival]:
    """A drawn schedule starting at 0; request i speaks ``texts[i % len(texts)]`` (id, text)."""
    if not texts:
        raise ConfigError("a load needs at least one text")
    times = np.cumsum(gaps(process, rate_per_s, count, seed, burstiness))
    times -= times[0]
    return [Arrival(float(t), texts[i % len(texts)][1], texts[i % len(texts)][0]) for i, t in enumerate(times)]


def load_trace(path: Path, limit: int = MAX_REQUESTS) -> list[Arrival]:
    """A trace file's arrivals; unsorted or negative times, an empty text or a bad line is one line."""
    try:
        if path.stat().st_size > MAX_TRACE_BYTES:
            raise InputError(f"trace {path}: larger than {MAX_TRACE_BYTES // 1_000_000} MB")
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"trace {path}: {exc}") from None
    out: list[Arrival] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"trace {path}, line {number}"
        try:
            item = json.loads(line, parse_constant=lambda c: None)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or not {"t", "text"} <= set(item) or not set(item) <= {"t", "text", "id"}:
            raise InputError(f'{where}: want {{"t": seconds, "text": "...", "id": optional}}')
        t, text, text_id = item["t"], item["text"], item.get("id", f"line{number}")
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise InputError(f"{where}: time {t!r} must be a number of seconds >= 0")
        if out and t < out[-1].t:
            raise InputError(f"{where}: time {t} is before the previous line's {out[-1].t} (sort the trace)")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: text is empty")
        if not isinstance(text_id, str) or not text_id:
            raise InputError(f"{where}: id must be a non-empty string")
        out.append(Arrival(float(t), text, text_id))
        if len(out) > limit:
            raise InputError(f"trace {path}: more than {limit} requests")
    if not out:
        raise InputError(f"trace {path}: no requests")
    start = out[0].t
    return [Arrival(a.t - start, a.text, a.text_id) for a in out]


def scaled(arrivals: list[Arrival], rate_per_s: float) -> list[Arrival]:
    """A trace replayed at another mean rate: its times stretched or squeezed, bursts kept."""
    if not (math.isfinite(rate_per_s) and rate_per_s > 0):
        raise ConfigError(f"arrival rate must be a positive number of requests per second, got {rate_per_s!r}")
    span = arrivals[-1].t
    if len(arrivals) < 2 or span <= 0:
        return arrivals
    factor = (len(arrivals) - 1) / rate_per_s / span
    return [Arrival(a.t * factor, a.text, a.text_id) for a in arrivals]


def schedule(
    trace: Path | None, process: str, rate_per_s: float, count: int, seed: int, texts: list[tuple[str, str]],
    burstiness: float = 1.0, scale_to: float | None = None,
) -> list[Arrival]:  # fmt: skip
    """One load's arrivals: the first ``count`` of a trace (stretched to ``scale_to`` req/s when
    given, as a rate search does), else ``count`` drawn at ``scale_to`` or ``rate_per_s``."""
    if trace is not None:
        recorded = load_trace(trace)[:count]
        return scaled(recorded, scale_to) if scale_to else recorded
    return drawn(process, scale_to or rate_per_s, count, seed, texts, burstiness)


def chat_trace(texts: list[tuple[str, str]], seconds: float, seed: int = 0) -> list[Arrival]:
    """A synthetic live chat: a calm background of comments (about one every 4 s) and bursts (a
    goal, a raid: 5-20 comments within a few seconds, every 30-60 s), texts drawn from ``texts``."""
    rng = np.random.default_rng(seed)
    times = list(np.cumsum(rng.exponential(4.0, int(seconds))))
    burst = float(rng.uniform(10, 30))
    while burst < seconds:
        times += list(burst + np.sort(rng.exponential(0.8, int(rng.integers(5, 21)))))
        burst += float(rng.uniform(30, 60))
    kept = sorted(round(float(t), 3) for t in times if t < seconds)
    picks = rng.integers(0, len(texts), len(kept))
    return [Arrival(t, texts[p][1], f"{texts[p][0]}.{i}") for i, (t, p) in enumerate(zip(kept, picks, strict=True))]


def write_trace(arrivals: list[Arrival], path: Path) -> None:
    lines = [json.dumps({"t": a.t, "id": a.text_id, "text": a.text}, ensure_ascii=False) for a in arrivals]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
