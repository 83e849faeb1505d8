"""``tts-harness compare A B``: two sweeps, deltas per matching configuration with significance."""

from __future__ import annotations

from pathlib import Path

from harness.errors import InputError
from harness.report.summary import cost_split
from harness.results import Results
from harness.stats import compare


def load_side(spec: str, tracking_uri: str | None = None) -> Results:
    """A results directory, or an MLflow parent run id (32 hex characters)."""
    path = Path(spec)
    if path.exists():
        return Results.load(path)
    if len(spec) == 32 and all(c in "0123456789abcdef" for c in spec):
        from harness.tracking.mlflow_sync import fetch_results

        return Results.load(fetch_results(spec, tracking_uri))
    raise InputError(f"{spec} is neither a results directory nor an MLflow run id")


def compare_sweeps(a: Results, b: Results, min_effect: float = 0.05, alpha: float = 0.05) -> str:
    ours = {r.id: r for r in a.records if r.status == "ok"}
    theirs = {r.id: r for r in b.records if r.status == "ok"}
    common = sorted(set(ours) & set(theirs))
    if not common:
        raise InputError("the two sweeps have no measured configuration in common: nothing to compare")
    lines = []
    if a.platform.get("key") != b.platform.get("key"):
        lines.append(
            f"> different platforms ({a.platform.get('key')} vs {b.platform.get('key')}): "
            "deltas mix machine and code changes\n"
        )
    lines += ["| configuration | A RTF | B RTF | B/A | 95% CI | p | verdict |", "|---|---|---|---|---|---|---|"]
    for run_id in common:
        x, y = [s.rtf for s in ours[run_id].runs], [s.rtf for s in theirs[run_id].runs]
        c = compare(x, y, min_effect, alpha)
        verdict = "slower" if c.regression else "faster" if c.improvement else "same"
        lines.append(
            f"| {run_id} | {ours[run_id].rtf['median']:.4g} | {theirs[run_id].rtf['median']:.4g} | "  # type: ignore[index]
            f"{c.ratio:.3f} | {c.ci_low:.3f}-{c.ci_high:.3f} | {c.p_value:.3g} | {verdict} |"
        )
    only_a, only_b = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
    if only_a or only_b:
        lines.append("")
        lines.append(f"Only in A: {', '.join(only_a) or '-'}")
        lines.append(f"Only in B: {', '.join(only_b) or '-'}")
    return "\n".join([*lines, *cost_lines(a.sweep_cost_s, b.sweep_cost_s)])


def cost_lines(a: dict[str, float], b: dict[str, float]) -> list[str]:
    """Where each sweep's time went, side by side (a cold and a warm sweep, say)."""
    split_a, split_b = cost_split(a), cost_split(b)
    if split_a is None or split_b is None:
        return []
    rows = [*zip(split_a[0], split_b[0], strict=True)]
    out = ["", "| sweep cost s | A | B |", "|---|---|---|"]
    out += [f"| {label} | {va:.1f} | {vb:.1f} |" for (label, va), (_, vb) in rows]
    out.append(f"| wall | {split_a[1]:.1f} | {split_b[1]:.1f} |")
    out.append(f"| outside timed regions | {split_a[2]:.1%} | {split_b[2]:.1%} |")
    return out
