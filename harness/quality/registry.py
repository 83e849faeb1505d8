"""Audio-quality metrics found by name: each one module that defines a ``Metric``.

A metric scores every generated text against its reference render (same text, seed and NFE) and
returns one block for the record's ``quality``: its means, ``per_text`` entries and ``meaningful``.
The scores it lists per text are what ``compare`` pairs between two sweeps (``paired``).

Adding one: write a module with a ``Metric`` and add its ``"module:attr"`` here, ``register`` it (from
a conftest, say), or ship it in an installed package under the entry-point group
``tts_harness.metrics`` (``name = "package.module:METRIC"``, as pytest finds ``pytest11`` plugins).
Suites switch it on by name in ``[quality] metrics``: a suite names a registered metric, never code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.plugins import Registry

BlockFn = Callable[[list[np.ndarray], list[np.ndarray], int], dict[str, Any]]  # generated, references, rate


@dataclass(frozen=True)
class Score:
    """One per-text score a paired gate compares: its name, its key in each ``per_text`` entry, a
    label, whether higher is better and the default margin a paired gate calls unchanged."""

    name: str
    field: str
    label: str
    higher_is_better: bool
    margin: float


@dataclass(frozen=True)
class Metric:
    """``name``: the block's key in a record's ``quality``; ``block``: scores the clips of a row."""

    name: str
    block: BlockFn
    scores: tuple[Score, ...]
    source: str = ""

    def per_text(self, quality: dict[str, Any], score: Score) -> list[float | None] | None:
        """One score per text of a record's block, or None where nothing meaningful was scored."""
        block = quality.get(self.name) or {}
        return [t.get(score.field) for t in block.get("per_text", [])] if block.get("meaningful") else None


METRICS: Registry[Metric] = Registry(
    "quality metric",
    Metric,
    "tts_harness.metrics",
    {
        "mos": "harness.quality.mos:METRIC",
        "intrusive": "harness.quality.intrusive:METRIC",
        "utmos": "harness.quality.utmos:METRIC",
    },
)
ENTRY_POINTS = METRICS.group
register, names, check_name, get = METRICS.register, METRICS.names, METRICS.check_name, METRICS.get


def per_text_scores() -> dict[str, tuple[Metric, Score]]:
    """Every per-text score a registered metric gives, by the score's name."""
    return {score.name: (metric, score) for metric in map(get, names()) for score in metric.scores}
