"""``[serving]`` in a suite: how the ``load`` scenario drives the pipeline.

The matrix carries what is compared (``stream = [false, true]``, ``max_batch = [1, 4]``); this
table carries the rest: the arrival process (``poisson``, ``gamma`` with ``burstiness``, or a
``trace`` file), the batcher's ``max_wait_ms``, the chunking of streamed text, the staleness
policy (``max_age_s``), the time bound, and optionally an SLO (``[serving.slo]``) with a search for
the highest rate that meets it (``search_max_rate`` > 0 turns it on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from harness.choices import check_choice, check_field_types
from harness.errors import ConfigError
from harness.serving.arrivals import PROCESSES
from harness.serving.service import BatchOptions, StreamOptions
from harness.serving.slo import MAX_SEARCH_STEPS, SLO


@dataclass(frozen=True)
class ServingConfig:
    arrivals: str = "poisson"
    burstiness: float = 1.0
    trace: str = ""  # a JSON Lines trace, relative to the suite's folder
    max_wait_ms: float = 2.0
    first_chars: int = 40
    max_chars: int = 135
    crossfade_s: float = 0.15
    max_age_s: float | None = None
    max_seconds: float = 300.0
    slo: dict[str, float] = field(default_factory=dict)
    search_start_rate: float = 0.25
    search_max_rate: float = 0.0  # 0: no search, one load at [scenario] rate_per_s
    search_steps: int = 3

    def __post_init__(self) -> None:
        check_field_types(self, "[serving]")
        check_choice("arrival process", self.arrivals, PROCESSES)
        if self.arrivals == "trace" and not self.trace:
            raise ConfigError('[serving] arrivals = "trace" needs trace = "<file.jsonl>"')
        if not (math.isfinite(self.burstiness) and self.burstiness > 0):
            raise ConfigError(f"[serving] burstiness must be > 0 (1 is Poisson), got {self.burstiness}")
        if not (math.isfinite(self.max_seconds) and 0 < self.max_seconds <= 86_400):
            raise ConfigError(f"[serving] max_seconds must be in (0, 86400], got {self.max_seconds}")
        if self.max_age_s is not None and not self.max_age_s > 0:
            raise ConfigError(f"[serving] max_age_s must be > 0 seconds, got {self.max_age_s}")
        if self.slo or self.search_max_rate:
            SLO(dict(self.slo))  # an unknown metric is refused when the suite loads
        if self.search_max_rate:
            if not self.slo:
                raise ConfigError("[serving] a rate search (search_max_rate) needs an SLO: [serving.slo]")
            if not 0 < self.search_start_rate <= self.search_max_rate:
                raise ConfigError("[serving] needs 0 < search_start_rate <= search_max_rate")
            if not 0 <= self.search_steps <= MAX_SEARCH_STEPS:
                raise ConfigError(f"[serving] search_steps must be between 0 and {MAX_SEARCH_STEPS}")
        self.stream_options(True)
        BatchOptions(1, self.max_wait_ms)

    def stream_options(self, enabled: bool) -> StreamOptions:
        return StreamOptions(enabled, self.first_chars, self.max_chars, self.crossfade_s)

    def trace_path(self, suite_path: str) -> Path:
        given = Path(self.trace)
        return given if given.is_absolute() else Path(suite_path).parent / given
