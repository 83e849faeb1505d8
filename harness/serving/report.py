"""Load results as people read them: one table row per configuration, and the latency-versus-rate
curve of an SLO search with its knee and the sustainable rate marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.serving.slo import figure


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{1000 * value:.0f}"


def load_rows(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """Markdown: per configuration (name, its ``load`` scenario), the figures a live reader feels."""
    if not rows:
        return ""
    lines = [
        "## Load scenario (open-loop arrivals; times in ms from a request's arrival)",
        "",
        "| configuration | offered req/s | served | dropped | errors | TTFA p50 | TTFA p99 | queue p99 | compute p50 "
        "| gap p99 | underruns | batch x/1 | sustainable req/s | SLO |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, load in rows:
        s = load["summary"]
        counts = s["counts"]
        search = load.get("search") or {}
        scaling = load.get("batch_scaling")
        rate = s.get("offered_rate_per_s")
        sustainable = search.get("sustainable_rate_per_s")
        misses = load.get("slo_misses")
        batch = "-" if not scaling else f"{scaling['ratio']:.2f} (x{scaling['batch']})"
        best = "-" if not search else ("none" if sustainable is None else f"{sustainable:.2f}")
        verdict = "-" if misses is None else ("met" if not misses else "missed: " + "; ".join(misses))
        lines.append(
            f"| {name} | {'-' if rate is None else f'{rate:.2f}'} | {counts['ok']} | {counts['dropped']} "
            f"| {counts['error'] + counts['unfinished']} | {_ms((s['ttfa_s'] or {}).get('p50'))} "
            f"| {_ms((s['ttfa_s'] or {}).get('p99'))} | {_ms((s['queue_s'] or {}).get('p99'))} "
            f"| {_ms((s['compute_s'] or {}).get('p50'))} | {_ms((s['gap_s'] or {}).get('p99'))} | {s['underruns']} "
            f"| {batch} | {best} | {verdict} |"
        )
    errors = sorted({e for _, load in rows for e in load["summary"].get("errors", [])})
    if errors:
        lines += ["", "Request errors (first line of each kind): " + "; ".join(f"`{e}`" for e in errors[:5])]
    return "\n".join(lines) + "\n"


def plot_curves(rows: list[tuple[str, dict[str, Any]]], path: Path) -> Path | None:
    """p99 TTFA against offered rate for every configuration that searched; knee and sustainable
    rate marked, the SLO's TTFA ceiling drawn. None when nothing searched."""
    searched = [(name, load["search"]) for name, load in rows if load.get("search")]
    if not searched:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, search in searched:
        points = search["points"]
        rates = [p["rate_per_s"] for p in points]
        ttfa = [figure(p["summary"], "ttfa_p99_s") for p in points]
        (line,) = ax.plot(rates, ttfa, marker="o", label=name)
        if search.get("knee_rate_per_s"):
            knee = search["knee_rate_per_s"]
            ax.axvline(knee, color=line.get_color(), linestyle=":", linewidth=1)
        if search.get("sustainable_rate_per_s"):
            best = search["sustainable_rate_per_s"]
            ax.plot([best], [ttfa[rates.index(best)]], marker="*", markersize=14, color=line.get_color())
    ceiling = searched[0][1]["slo"].get("ttfa_p99_s")
    if ceiling is not None:
        ax.axhline(ceiling, color="grey", linestyle="--", linewidth=1, label=f"SLO p99 TTFA {ceiling:g} s")
    ax.set_xlabel("offered rate (requests/s)")
    ax.set_ylabel("p99 time to first audio (s)")
    ax.set_yscale("log")
    ax.set_title("Latency against load (star: sustainable rate; dotted: knee)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
