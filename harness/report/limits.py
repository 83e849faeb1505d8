"""Sections of the summary about limits: how far each row is from its card's roofline, and what a
short utterance costs (the fixed part of the latency)."""

from __future__ import annotations

from harness.gates import quant_speedups
from harness.latency import fixed_share
from harness.results import Results
from harness.table import Table


def roofline_table(results: Results) -> Table | None:
    rows = sorted((r for r in results.records if r.roofline), key=lambda r: r.id)
    if not rows:
        return None
    speedups = quant_speedups(results.records)
    out = Table(
        "Roofline: how far each row is from the card's limit",
        ["configuration", "card, format", "dense peak TFLOP/s", "TFLOP per step", "achieved TFLOP/s", "of peak",
         "RTF floor", "RTF / floor", "bound", "vs unquantized"],
        id="roofline",
    )  # fmt: skip
    for r in rows:
        f = r.roofline
        peak = f"{f['peak_tflops']:g}" if f.get("peak_tflops") else "-"
        fraction = f"{f['fraction_of_peak']:.1%}" if "fraction_of_peak" in f else "-"
        floor = f"{f['rtf_floor']:.3g}" if "rtf_floor" in f else "-"
        times = f"{f['times_floor']:.1f}x" if "times_floor" in f else "-"
        speedup = f"{speedups[r.id]:.2f}x" if r.id in speedups else "-"
        stage = "" if f["timed_stage"] == "ode" else " (whole call)"
        flops, achieved = f"{f['flops_per_step'] / 1e12:.3g}", f"{f['achieved_tflops']:.3g}{stage}"
        out.rows.append([r.id, f"{f['card']}, {f['format']}", peak, flops, achieved, fraction, floor, times,
                         f["bound"], speedup])  # fmt: skip
    sources = sorted({r.roofline["source"] for r in rows if r.roofline.get("source")})
    out.after = [
        "TFLOP per step: one DiT evaluation at the row's shapes, CFG included (torch's FlopCounterMode). "
        "Achieved: FLOPs x NFE over the ODE stage's median time. RTF floor: the ODE stage at the dense peak, "
        "or at full bandwidth for the weights' bytes where that is longer (vocoder and the rest excluded).",
        *(f"Peaks: {source}." for source in sources),
    ]
    return out


def latency_table(results: Results) -> Table | None:
    rows = sorted((r for r in results.records if r.latency), key=lambda r: r.id)
    if not rows:
        return None
    texts = rows[0].latency["by_text"]
    out = Table(
        "Latency by utterance length (total = fixed + per second x audio seconds)",
        ["configuration", "fixed s [95% CI]", "s per audio s [95% CI]", "fixed by stage (ms)", "fixed share of 2 s",
         *(f"{name} ({t['audio_s']:.1f} s)" for name, t in texts.items())],
        id="latency",
    )  # fmt: skip
    for r in rows:
        fit = r.latency
        by_stage = ", ".join(f"{k} {1000 * v:.0f}" for k, v in fit["fixed_by_stage_s"].items() if abs(v) >= 5e-4)
        medians = {name: t["median_total_s"] for name, t in fit["by_text"].items()}
        out.rows.append([
            r.id, f"{fit['fixed_s']:.3f} [{fit['fixed_ci'][0]:.3f}, {fit['fixed_ci'][1]:.3f}]",
            f"{fit['per_audio_s']:.4f} [{fit['per_audio_s_ci'][0]:.4f}, {fit['per_audio_s_ci'][1]:.4f}]",
            by_stage, f"{fixed_share(fit, 2.0):.0%}",
            *(f"{medians[name]:.3f}" if name in medians else "-" for name in texts),
        ])  # fmt: skip
    out.after = ["Per-text columns: the median latency (s) of that text's calls (its generated length in the header)."]
    return out
