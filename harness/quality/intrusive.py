"""Intrusive quality: PESQ-WB and STOI of a render against the reference render of the same text.

Meaningful where both renders say the same words with the same timing: the same text, seed and
NFE, differing only in what the configuration changed (precision, compile, vocoder, quantization).
Both are computed at 16 kHz on the common length of the two signals.

- PESQ wide-band (ITU-T P.862.2, through the ``pesq`` package): 1.04-4.64, higher is better; a
  clip with no utterance PESQ can find scores ``None`` with the reason.
- STOI (Taal et al. 2011, through ``pystoi``): 0-1 intelligibility, higher is better; ``None``
  with the reason under 30 frames of speech (where pystoi would return 1e-5).

Cost per audio second and the validation on degraded real speech: reports/mos.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.extras import need
from harness.quality.audio import to_rate
from harness.quality.registry import Metric, Score

RATE = 16_000
SOURCE = "PESQ-WB (ITU-T P.862.2, pesq package) and STOI (Taal et al. 2011, pystoi), against the reference render"
SCORES = ("pesq_wb", "stoi")


@dataclass(frozen=True)
class Intrusive:
    pesq_wb: float | None
    stoi: float | None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"pesq_wb": self.pesq_wb, "stoi": self.stoi, "reason": self.reason}


def score(reference: np.ndarray, test: np.ndarray, rate: int) -> Intrusive:
    """PESQ-WB and STOI of ``test`` against ``reference`` (both at ``rate``)."""
    pesq = need("pesq", "quality", "PESQ-WB")
    pystoi = need("pystoi", "quality", "STOI")
    ref, deg = to_rate(reference, rate, RATE, "reference"), to_rate(test, rate, RATE, "test")
    n = min(ref.size, deg.size)
    ref, deg = ref[:n].astype(np.float64), deg[:n].astype(np.float64)
    reasons = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        intelligibility: float | None = float(pystoi.stoi(ref, deg, RATE, extended=False))
    if any("Not enough STFT frames" in str(w.message) for w in caught):  # pystoi then returns 1e-5
        intelligibility = None
        reasons.append("STOI: fewer than 30 frames of speech")
    try:
        quality: float | None = float(pesq.pesq(RATE, ref, deg, "wb"))
    except pesq.PesqError as exc:  # no utterance found, too short: a score PESQ cannot give
        quality = None
        reasons.append(f"PESQ: {type(exc).__name__}")
    return Intrusive(quality, intelligibility, "; ".join(reasons))


def block(generated: list[np.ndarray], references: list[np.ndarray], rate: int) -> dict[str, Any]:
    """Per text and on average, as a record's ``quality.intrusive``."""
    per_text = [score(r, g, rate) for r, g in zip(references, generated, strict=True)]

    def mean(name: str) -> float | None:
        values = [getattr(s, name) for s in per_text if getattr(s, name) is not None]
        return float(np.mean(values)) if values else None

    return {
        "source": SOURCE,
        "pesq_wb": mean("pesq_wb"),
        "stoi": mean("stoi"),
        "per_text": [s.as_dict() for s in per_text],
        "meaningful": True,
    }


METRIC = Metric(
    "intrusive",
    block,
    (
        Score("pesq_wb", "pesq_wb", "PESQ-WB against the reference render (1.04-4.64)", True, 0.1),
        Score("stoi", "stoi", "STOI against the reference render (0-1)", True, 0.01),
    ),
    SOURCE,
)
