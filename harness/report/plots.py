"""Plots of a sweep (matplotlib, PNG): RTF against NFE, stage times, RTF against quality, speed-up."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.results import Record
from harness.serving.report import plot_curves

if TYPE_CHECKING:
    from harness.ab.interleave import Trial
    from harness.sequential import GatePolicy

STAGE_ORDER = ("audio_prep", "text_to_tokens", "ode", "vocoder", "injected_delay")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    """Lay out, write ``path`` (its folder made) and free the figure."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def rtf_vs_nfe(records: list[Record], path: Path, thresholds: dict[str, Any] | None = None) -> Path | None:
    ok = [r for r in records if r.rtf]
    if not ok:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    series: dict[str, list[Record]] = {}
    for r in ok:
        c = r.config
        series.setdefault(f"{c['precision']} / compile {c['compile_mode']} / {c['vocoder']}", []).append(r)
    precisions = sorted({r.config["precision"] for r in ok})
    modes = sorted({r.config["compile_mode"] for r in ok})
    vocoders = sorted({r.config["vocoder"] for r in ok})
    colors = plt.get_cmap("tab10")
    styles = ["-", "--", ":", "-."]
    markers = ["o", "s", "^", "D"]
    for label, group in sorted(series.items()):
        group.sort(key=lambda r: r.config["nfe"])
        c = group[0].config
        look = {
            "color": colors(precisions.index(c["precision"]) % 10),
            "linestyle": styles[modes.index(c["compile_mode"]) % len(styles)],
            "marker": markers[vocoders.index(c["vocoder"]) % len(markers)],
        }
        x = [r.config["nfe"] for r in group]
        y = [r.rtf["median"] for r in group]  # type: ignore[index]
        low = [r.rtf["median"] - r.rtf["ci_low"] for r in group]  # type: ignore[index]
        high = [r.rtf["ci_high"] - r.rtf["median"] for r in group]  # type: ignore[index]
        ax.errorbar(x, y, yerr=[low, high], capsize=3, label=label, **look)
    rtf_levels(ax, thresholds)
    ax.set_xlabel("NFE steps", fontsize=11)
    ax.set_ylabel("RTF (median, 95% CI)", fontsize=11)
    ax.set_yscale("log")
    ax.set_title("RTF against NFE (color: precision, line: compile mode, marker: vocoder)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def stage_bars(records: list[Record], path: Path) -> Path | None:
    ok = sorted((r for r in records if r.stages_ms), key=lambda r: r.id)
    if not ok:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, max(3, 0.4 * len(ok) + 1.2)))
    left = [0.0] * len(ok)
    names = [r.id for r in ok]
    for stage in STAGE_ORDER:
        values = [r.stages_ms.get(stage, 0.0) for r in ok]
        if any(values):
            ax.barh(names, values, left=left, label=stage)
            left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("median time per call, ms", fontsize=11)
    ax.set_title("Where a call's time goes, by stage", fontsize=12)
    ax.legend(fontsize=9)
    ax.tick_params(axis="y", labelsize=9)
    return _save(fig, path)


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points no other point beats on both axes (lower is better on both)."""
    front = []
    for i, (x, y) in enumerate(points):
        if not any((a <= x and b <= y) and (a < x or b < y) for j, (a, b) in enumerate(points) if j != i):
            front.append(i)
    return front


def quality_axis(record: Record) -> tuple[str, float] | None:
    """The quality figure to plot: WER where meaningful, else fidelity MCD to the reference."""
    q = record.quality
    if q.get("asr", {}).get("meaningful"):
        return "WER", float(q["asr"]["wer"])
    if "fidelity" in q:
        return "MCD to the fp32 reference, dB", float(q["fidelity"]["mcd_db"])
    return None


def _not_meaningful(fig: Any, ax: Any, path: Path, text: str) -> Path:
    """A plot that would mislead, replaced by a panel that says why it is not drawn."""
    import textwrap

    ax.axis("off")
    ax.text(0.5, 0.5, textwrap.fill(text, 60), ha="center", va="center", fontsize=12, transform=ax.transAxes)
    return _save(fig, path)


def rtf_levels(ax: Any, thresholds: dict[str, Any] | None, vertical: bool = False) -> None:
    """The suite's RTF warning and critical thresholds as lines, labelled."""
    level = (thresholds or {}).get("rtf") or {}
    for name, colour in (("warning", "tab:orange"), ("critical", "tab:red")):
        if level.get(name) is not None:
            line = ax.axvline if vertical else ax.axhline
            line(level[name], color=colour, linestyle="--", linewidth=1, label=f"RTF {name} {level[name]:g}")


def rtf_distribution(records: list[Record], path: Path, thresholds: dict[str, Any] | None = None) -> Path | None:
    """Every timed call's RTF per row (box and points, log axis) with the suite's RTF thresholds:
    the warm-up outlier, the spread and where a row stands against its limit, at a glance."""
    rows = sorted((r for r in records if r.runs), key=lambda r: r.id)
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, max(3, 0.45 * len(rows) + 1.5)))
    data = [[s.rtf for s in r.runs] for r in rows]
    ax.boxplot(data, vert=False, widths=0.6, showfliers=False)
    for y, values in enumerate(data, start=1):
        jitter = [y + 0.15 * ((i * 0.618) % 1 - 0.5) for i in range(len(values))]
        ax.scatter(values, jitter, s=10, alpha=0.6, color="tab:blue", zorder=3)
    rtf_levels(ax, thresholds, vertical=True)
    ax.set_yticks(range(1, len(rows) + 1), [r.id for r in rows], fontsize=9)
    ax.set_xscale("log")
    ax.set_xlabel("RTF of each timed call (log)", fontsize=11)
    ax.set_title("RTF distribution per configuration", fontsize=12)
    if (thresholds or {}).get("rtf"):
        ax.legend(fontsize=9)
    return _save(fig, path)


def rtf_vs_quality(records: list[Record], path: Path) -> Path | None:
    rows = [(r, quality_axis(r)) for r in records if r.rtf]
    rows = [(r, q) for r, q in rows if q is not None]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    points = [(r.rtf["median"], q[1]) for r, q in rows]  # type: ignore[index]
    if len({round(y, 6) for _, y in points}) < 2:
        return _not_meaningful(
            fig,
            ax,
            path,
            f"Speed against quality: not meaningful here. Every row has {rows[0][1][0]} = {points[0][1]:.3g}"  # type: ignore[index]
            " (each is its own fidelity reference, or random weights make WER meaningless), so there is no trade-off"
            " to draw.",
        )
    front = set(pareto(points))
    middle = (min(x for x, _ in points) + max(x for x, _ in points)) / 2
    for i, ((r, _), (x, y)) in enumerate(zip(rows, points, strict=True)):
        ax.scatter([x], [y], color="tab:red" if i in front else "tab:blue", zorder=3)
        right_half = x > middle  # labels there read leftwards, so none leaves the axes
        ax.annotate(
            r.id,
            (x, y),
            fontsize=6,
            xytext=(-3 if right_half else 3, 3),
            textcoords="offset points",
            ha="right" if right_half else "left",
        )
    line = sorted(points[i] for i in front)
    ax.plot([p[0] for p in line], [p[1] for p in line], color="tab:red", label="Pareto front (red points)")
    ax.set_xlabel("RTF (median)")
    ax.set_ylabel(rows[0][1][0])  # type: ignore[index]
    ax.set_title("Speed against quality (lower is better on both)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def speedup_bars(records: list[Record], path: Path) -> Path | None:
    """Speed-up over the stock f5-tts row of the same NFE, one bar per configuration."""
    from harness.report.summary import stock_speedups

    speedups = stock_speedups(records)
    if len(speedups) < 2:
        return None
    nfe = {r.id: r.config["nfe"] for r in records}
    names = sorted(speedups, key=lambda i: (nfe[i], speedups[i]))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, max(3, 0.3 * len(names) + 1)))
    colors = plt.get_cmap("tab10")
    order = sorted(set(nfe[i] for i in names))
    ax.barh(names, [speedups[i] for i in names], color=[colors(order.index(nfe[i]) % 10) for i in names])
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("speed-up over f5-tts's own path at the same NFE (stock RTF / RTF)")
    ax.set_title("Speed-up over the stock row")
    ax.tick_params(axis="y", labelsize=7)
    return _save(fig, path)


def ratio_intervals(rows: list[tuple[str, float, float, float, str]], path: Path) -> Path:
    """B/A per configuration with its interval on a log axis, coloured by outcome: the changes
    a comparison calls stand apart from those inside the noise."""
    plt = _plt()
    colours = {"regression": "tab:red", "improvement": "tab:green", "unchanged": "tab:blue", "inconclusive": "tab:gray"}
    low = max(0.25, min(row[2] for row in rows) / 1.05)  # intervals wider than 4x run off the edge
    high = min(4.0, max(row[3] for row in rows) * 1.05)
    left, right = min(low, 0.9), max(high, 1.1)
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.25 * len(rows)))
    for y, (_, ratio, lo, hi, outcome) in enumerate(rows):
        colour = colours[outcome]
        lo_shown, hi_shown = max(lo, left), min(hi, right)
        xerr = [[max(0.0, ratio - lo_shown)], [max(0.0, hi_shown - ratio)]]
        ax.errorbar(ratio, y, xerr=xerr, fmt="o", color=colour, capsize=2)
        for end, cut, marker in ((left, lo < left, "<"), (right, hi > right, ">")):
            if cut:  # the interval runs past the axis: an arrowhead says so
                ax.plot(end, y, marker=marker, color=colour, markersize=6, clip_on=False)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlim(left, right)
    wide = high / low > 3
    choices = (0.25, 0.5, 1.0, 2.0, 4.0) if wide else (0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)
    ticks = [t for t in choices if left <= t <= right]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter("")
    ax.set_yticks(range(len(rows)), [row[0] for row in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("RTF ratio B / A (log; red regression, green improvement, blue unchanged, grey inconclusive)")
    return _save(fig, path)


CAPTIONS = {
    "rtf_distribution": "RTF of every timed call per configuration, with the suite's thresholds",
    "rtf_vs_nfe": "RTF against NFE steps (median and 95% CI)",
    "stages": "Median time per stage of a call",
    "rtf_vs_quality": "Speed against quality",
    "speedup": "Speed-up over f5-tts's own pipeline",
    "roofline": "Each row's RTF against the floor its card's peak implies",
    "latency": "Latency against the utterance's length: fixed cost and cost per second",
    "load_curve": "p99 time to first audio against offered rate (star: sustainable rate; dotted: knee)",
}


def all_plots(records: list[Record], directory: Path, thresholds: dict[str, Any] | None = None) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    made = {
        "rtf_distribution": rtf_distribution(records, directory / "rtf_distribution.png", thresholds),
        "rtf_vs_nfe": rtf_vs_nfe(records, directory / "rtf_vs_nfe.png", thresholds),
        "stages": stage_bars(records, directory / "stages.png"),
        "rtf_vs_quality": rtf_vs_quality(records, directory / "rtf_vs_quality.png"),
        "speedup": speedup_bars(records, directory / "speedup.png"),
        "roofline": roofline_bars(records, directory / "roofline.png"),
        "latency": latency_lines(records, directory / "latency.png"),
        "load_curve": plot_curves(
            [(r.id, r.scenario) for r in records if r.scenario.get("kind") == "load"], directory / "load_curve.png"
        ),
    }
    return {k: v for k, v in made.items() if v is not None}


def roofline_bars(records: list[Record], path: Path) -> Path | None:
    """Every row's RTF beside the floor its card's peak implies (log axis): the gap is what is left."""
    rtf = {r.id: float(r.rtf["median"]) for r in records if r.rtf and "rtf_floor" in r.roofline}
    rows = sorted((r for r in records if r.id in rtf), key=lambda r: -rtf[r.id])
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 2.2 + 0.32 * len(rows)))
    y = list(range(len(rows)))
    ax.barh(y, [rtf[r.id] for r in rows], color="tab:blue", label="measured RTF (median)")
    floors = [r.roofline["rtf_floor"] for r in rows]
    ax.scatter(
        floors, y, color="black", marker="|", s=200, zorder=3, label="floor: ODE at the dense peak (or bandwidth)"
    )
    for yi, r in zip(y, rows, strict=True):  # in a column right of the axes: never clipped, whatever the span
        fraction = r.roofline.get("fraction_of_peak", 0.0)
        note = f"{r.roofline['times_floor']:.1f}x floor, {fraction:.{0 if fraction >= 0.1 else 1}%} of peak"
        ax.annotate(note, (1.01, yi), xycoords=("axes fraction", "data"), va="center", fontsize=8)
    ax.set_yticks(y, [r.id for r in rows], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("RTF (log)", fontsize=10)
    ax.set_title(f"How far each row is from {rows[0].roofline['card']}'s limit", fontsize=11)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18 - 0.6 / len(rows)), ncol=2)
    ax.set_xlim(min(floors) / 1.5, max(rtf.values()) * 1.5)
    return _save(fig, path)


def latency_lines(records: list[Record], path: Path) -> Path | None:
    """Latency against the utterance's length per row: medians per length and the fitted line."""
    rows = sorted((r for r in records if r.latency), key=lambda r: r.id)
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = plt.get_cmap("tab10")
    for index, r in enumerate(rows):
        fit, colour = r.latency, colours(index % 10)
        lengths = [t["audio_s"] for t in fit["by_text"].values()]
        ax.plot(lengths, [t["median_total_s"] for t in fit["by_text"].values()], "o", color=colour)
        line = [fit["fixed_s"] + fit["per_audio_s"] * x for x in (0.0, max(lengths))]
        ax.plot(
            [0.0, max(lengths)],
            line,
            "-",
            color=colour,
            label=f"{r.id}: {fit['fixed_s']:.3f} s + {fit['per_audio_s']:.4f} s/s",
        )
    ax.set_xlabel("audio seconds generated", fontsize=10)
    ax.set_ylabel("latency per call (s)", fontsize=10)
    ax.set_title("Latency by utterance length: the intercept is the fixed cost", fontsize=11)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def power_curve(trials: Sequence[Trial], path: Path, policy: GatePolicy) -> Path:
    """How often the gate called each injected slowdown a regression (95% Wilson intervals), with
    the margin and the alpha the gate was run at."""
    import numpy as np

    from harness.ab.interleave import wilson

    plt = _plt()
    levels = sorted({t.slowdown for t in trials})
    rates, lows, highs, labels = [], [], [], []
    for level in levels:
        group = [t for t in trials if t.slowdown == level]
        hits = sum(t.decision.outcome == "regression" for t in group)
        low, high = wilson(hits, len(group))
        rates.append(hits / len(group))
        lows.append(hits / len(group) - low)
        highs.append(high - hits / len(group))
        labels.append(f"n={len(group)}, {np.median([t.decision.rounds for t in group]):.0f} rounds")
    x = [100 * level for level in levels]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.errorbar(x, rates, yerr=[lows, highs], fmt="o-", capsize=4, color="tab:red", label="called regression")
    for xi, rate, label in zip(x, rates, labels, strict=True):
        ax.annotate(label, (xi, rate), textcoords="offset points", xytext=(6, -12), fontsize=9)
    ax.axvline(100 * policy.min_effect, color="gray", linestyle="--", label=f"margin {policy.min_effect:.0%}")
    ax.axhline(policy.power, color="tab:green", linestyle=":", label=f"aim {policy.power:.0%}")
    ax.axhline(policy.alpha, color="tab:blue", linestyle=":", label=f"alpha {policy.alpha:g}")
    ax.set_xlabel("injected slowdown (%)", fontsize=11)
    ax.set_ylabel("fraction of trials called regression", fontsize=11)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlim(-0.5, max(x) * 1.25 + 0.5)
    ax.set_title("Sequential gate: power against the injected slowdown", fontsize=12)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9, loc="center right")
    return _save(fig, path)
