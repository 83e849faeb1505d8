"""Speed and quality answered together for two sweeps: per configuration, the speed comparison's
ratio and outcome beside the paired quality gate of every per-text score both sides measured (WER
and every registered metric's: DNSMOS P.808, UTMOS, PESQ-WB, STOI), e.g. "1.30x faster
(improvement); MOS unchanged (...)".

Per-text scores exist only where the audio is speech (real weights); with random weights the
sentence says so instead of comparing numbers that mean nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from harness.quality.paired import PairedResult, paired
from harness.quality.registry import per_text_scores
from harness.results import Record, Results


def _wer(quality: dict[str, Any]) -> list[float | None] | None:
    block = quality.get("asr") or {}
    return [u["wer"] for u in block.get("per_utterance", [])] if block.get("meaningful") else None


def per_text() -> dict[str, Callable[[dict[str, Any]], list[float | None] | None]]:
    """Each per-text score by name: WER and every registered metric's scores."""
    out: dict[str, Callable[[dict[str, Any]], list[float | None] | None]] = {"wer": _wer}
    for name, (metric, score) in per_text_scores().items():
        out[name] = functools.partial(metric.per_text, score=score)
    return out


def _records(side: list[Results]) -> dict[str, Record]:
    """Each configuration's first record with quality scores on this side."""
    out: dict[str, Record] = {}
    for results in side:
        for record in results.records:
            if record.status == "ok" and record.quality and record.id not in out:
                out[record.id] = record
    return out


def paired_quality(a: Record, b: Record, alpha: float) -> dict[str, PairedResult]:
    """Every metric both records scored per text, over the same number of texts."""
    out: dict[str, PairedResult] = {}
    for metric, scores in per_text().items():
        base, head = scores(a.quality), scores(b.quality)
        if base and head and len(base) == len(head):
            nan = float("nan")
            out[metric] = paired([nan if v is None else v for v in base], [nan if v is None else v for v in head],
                                 metric, alpha=alpha)  # fmt: skip
    return out


def speed_phrase(ratio: float, outcome: str) -> str:
    """B/A RTF as a reader says it."""
    return f"{1 / ratio:.2f}x faster ({outcome})" if ratio < 1 else f"{ratio:.2f}x slower ({outcome})"


def together(
    a: list[Results], b: list[Results], speed: dict[str, tuple[float, str]], alpha: float
) -> tuple[str, dict[str, str]]:
    """Markdown (one sentence per configuration with quality on both sides) and the quality outcomes
    (``"<id> (<metric>)"``) a gate judges; ``speed`` maps an id to its B/A ratio and outcome."""
    ours, theirs = _records(a), _records(b)
    common = sorted(set(ours) & set(theirs))
    if not common:
        return "", {}
    lines = ["## Speed and quality together", ""]
    outcomes: dict[str, str] = {}
    for run_id in common:
        parts = [speed_phrase(*speed[run_id])] if run_id in speed else []
        results = paired_quality(ours[run_id], theirs[run_id], alpha)
        for metric, result in results.items():
            outcomes[f"{run_id} ({metric})"] = result.outcome
            parts.append(result.sentence())
        if not results:
            parts.append("quality not compared (no per-text scores of speech on both sides: random weights?)")
        lines.append(f"- {run_id}: " + "; ".join(parts))
    return "\n".join(lines) + "\n", outcomes
