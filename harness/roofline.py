"""How far a configuration is from its card's limit.

Per configuration: the FLOPs of one ODE step at its shapes (``pipeline.flops``), the TFLOP/s its
ODE stage achieved (FLOPs x NFE / the stage's median seconds), the card's dense peak for the
format its matmuls run in (``platform.peaks``, or the suite's ``[roofline]``), the fraction of peak,
and the RTF floor: the ODE stage at peak compute or, where the weights' bytes at full bandwidth take
longer, at that; the vocoder and the rest of the call are not in the floor.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.config import RooflineConfig
    from harness.pipeline.flops import StepShape


def ceilings(card_name: str, fmt: str, override: RooflineConfig) -> dict[str, Any]:
    """Peak TFLOP/s for ``fmt`` and bandwidth for this card, with where they come from."""
    from harness.platform.peaks import peak_for

    known = peak_for(card_name)
    peak = known.tflops.get(fmt) if known else None
    bandwidth = known.bandwidth_gbs if known else None
    source = known.source if known else ""
    card = known.card if known else card_name
    if override.tflops is not None:
        peak = override.tflops.get(fmt) if isinstance(override.tflops, dict) else float(override.tflops)
        source, card = "suite [roofline]", override.card or card
    if override.bandwidth_gbs is not None:
        bandwidth, source = override.bandwidth_gbs, "suite [roofline]"
    return {"card": card, "format": fmt, "peak_tflops": peak, "bandwidth_gbs": bandwidth, "source": source}


def roofline(
    *,
    model: str,
    vocab_size: int,
    calls: list[tuple[StepShape, float | None, float]],
    nfe: int,
    precision: str,
    quant: str,
    matmul_precision: str,
    card_name: str,
    override: RooflineConfig,
    rtf: float,
) -> dict[str, Any]:
    """The roofline figures of one measured configuration over its texts: ``calls`` holds, per text,
    the step shape, the median ODE stage seconds (None where the pipeline times no ODE stage of its
    own: the whole call stands in for it) and the audio seconds."""
    from harness.pipeline.flops import step_cost, weight_bytes
    from harness.platform.peaks import compute_format

    costs = [step_cost(model, vocab_size, s.batch, s.frames, s.text_tokens, s.cfg) for s, _, _ in calls]
    ceiling = ceilings(card_name, compute_format(precision, quant, matmul_precision), override)
    first = calls[0][0]
    flops = sum(c.flops for c in costs) * nfe
    audio_s = sum(audio for _, _, audio in calls)
    timed = [ode if ode is not None else rtf * audio for _, ode, audio in calls]
    out: dict[str, Any] = {
        **ceiling,
        "flops_per_step": costs[0].flops,
        "nfe": nfe,
        "shape": {"batch": first.batch, "frames": first.frames, "text_tokens": first.text_tokens, "cfg": first.cfg},
        "shape_estimated": first.estimated,
        "texts": len(calls),
        "weight_bytes_per_step": weight_bytes(costs[0].parameters, precision, quant),
        "timed_stage": "ode" if all(ode is not None for _, ode, _ in calls) else "total",
        "achieved_tflops": flops / sum(timed) / 1e12 if sum(timed) > 0 else math.nan,
    }
    floors = []
    if ceiling["peak_tflops"]:
        out["compute_floor_s"] = flops / (ceiling["peak_tflops"] * 1e12)
        out["fraction_of_peak"] = out["achieved_tflops"] / ceiling["peak_tflops"]
        floors.append(("compute", out["compute_floor_s"]))
    if ceiling["bandwidth_gbs"]:
        out["memory_floor_s"] = out["weight_bytes_per_step"] * nfe * len(calls) / (ceiling["bandwidth_gbs"] * 1e9)
        floors.append(("memory", out["memory_floor_s"]))
    if floors:
        bound, floor_s = max(floors, key=lambda kv: kv[1])
        out["bound"] = bound
        out["rtf_floor"] = floor_s / audio_s
        out["times_floor"] = rtf / out["rtf_floor"]
    else:
        out["bound"] = f"unknown: no peak for {card_name!r}; give one in the suite's [roofline]"
    return out
