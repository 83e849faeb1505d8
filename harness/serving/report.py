"""Load results as people read them: one table row per configuration, and the latency-versus-rate
curve of an SLO search with its knee and the sustainable rate marked."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from harness.results import Results
from harness.serving.slo import compare_rates, figure
from harness.table import Table


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{1000 * value:.0f}"


LOAD_HEAD = ["configuration", "offered req/s", "served", "dropped", "errors", "TTFA p50", "TTFA p99", "queue p99",
             "compute p50", "gap p99", "underruns", "batch x/1", "sustainable req/s", "SLO"]  # fmt: skip


def load_table(rows: list[tuple[str, dict[str, Any]]]) -> Table | None:
    """Per configuration (name, its ``load`` scenario), the figures a live reader feels."""
    if not rows:
        return None
    table = Table(
        title="Load scenario (open-loop arrivals; times in ms from a request's arrival)", head=LOAD_HEAD, id="load"
    )
    for name, load in rows:
        s = load["summary"]
        counts = s["counts"]
        search = load.get("search") or {}
        scaling = load.get("batch_scaling")
        rate = s.get("offered_rate_per_s")
        sustainable = search.get("sustainable_rate_per_s")
        misses = load.get("slo_misses")
        table.rows.append([
            name,
            "-" if rate is None else f"{rate:.2f}",
            str(counts["ok"]),
            str(counts["dropped"]),
            str(counts["error"] + counts["unfinished"]),
            _ms((s["ttfa_s"] or {}).get("p50")),
            _ms((s["ttfa_s"] or {}).get("p99")),
            _ms((s["queue_s"] or {}).get("p99")),
            _ms((s["compute_s"] or {}).get("p50")),
            _ms((s["gap_s"] or {}).get("p99")),
            str(s["underruns"]),
            "-" if not scaling else f"{scaling['ratio']:.2f} (x{scaling['batch']})",
            "-" if not search else ("none" if sustainable is None else f"{sustainable:.2f}"),
            "-" if misses is None else ("met" if not misses else "missed: " + "; ".join(misses)),
        ])  # fmt: skip
    errors = sorted({e for _, load in rows for e in load["summary"].get("errors", [])})
    if errors:
        table.after.append("Request errors (first line of each kind): " + "; ".join(errors[:5]))
    return table


def load_rows(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """``load_table`` as markdown ("" when no row has a load)."""
    table = load_table(rows)
    return table.markdown() + "\n" if table else ""


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


def searched_brackets(sweeps: list[Results]) -> dict[str, dict[str, Any]]:
    """Per configuration, the envelope of its searches over ``sweeps``: the lowest rate that met the
    SLO and the highest that failed (several sweeps a side widen the bracket, never narrow it)."""
    out: dict[str, dict[str, Any]] = {}
    for results in sweeps:
        for record in results.records:
            search = record.scenario.get("search") if record.scenario.get("kind") == "load" else None
            if not search:
                continue
            seen = out.setdefault(record.id, {"sustainable_rate_per_s": math.inf, "failing_rate_per_s": 0.0})
            met, failed = search.get("sustainable_rate_per_s"), search.get("failing_rate_per_s")
            seen["sustainable_rate_per_s"] = min(seen["sustainable_rate_per_s"], met or 0.0)
            seen["failing_rate_per_s"] = max(seen["failing_rate_per_s"], failed if failed is not None else math.inf)
    return out


def rate_comparison(base: list[Results], head: list[Results], tolerance: float) -> tuple[str, dict[str, str]]:
    """Markdown and outcomes for the configurations both sides searched (``compare_rates``)."""
    a, b = searched_brackets(base), searched_brackets(head)
    both = sorted(set(a) & set(b))
    if not both:
        return "", {}
    lines = [
        f"## Sustainable rate (SLO search; a change within {tolerance:.0%} is unchanged)",
        "",
        "| configuration | base req/s [met, failed) | head req/s [met, failed) | head/base | outcome |",
        "|---|---|---|---|---|",
    ]
    outcomes: dict[str, str] = {}
    for run_id in both:
        judged = compare_rates(a[run_id], b[run_id], tolerance)
        outcomes[f"{run_id} (sustainable rate)"] = judged["outcome"]
        lines.append(
            f"| {run_id} | {_bracket(a[run_id])} | {_bracket(b[run_id])} "
            f"| {judged['ratio_low']:.2f}-{judged['ratio_high']:.2f} | {judged['outcome']} |"
        )
    return "\n".join(lines) + "\n", outcomes


def _bracket(side: dict[str, Any]) -> str:
    return f"[{side['sustainable_rate_per_s']:.3g}, {side['failing_rate_per_s']:.3g})"
