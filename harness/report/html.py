"""``tts-harness report``: report.html (table + plots), summary.md, junit.xml and the CI job summary.

Several results directories (parts of a split sweep) are merged into one report.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from harness.errors import InputError
from harness.gates import (
    BaselineRow,
    compare_to_baseline,
    load_baseline,
    recorded_policy,
    rows_markdown,
    save_comparison,
)
from harness.noise import floors_for
from harness.report.plots import all_plots
from harness.report.summary import cost_note, cost_split, markdown, reason, stock_speedups, verdict
from harness.results import Results


def merge(parts: list[Results]) -> Results:
    """One sweep from parts measured on the same kind of machine (same fingerprint key)."""
    if not parts:
        raise InputError("no results to report")
    keys = {p.platform.get("key") for p in parts}
    if len(keys) > 1:
        raise InputError(
            f"parts were measured on different platforms ({', '.join(sorted(map(str, keys)))}): report them separately"
        )
    planned = sorted({run_id for p in parts for run_id in p.suite.get("planned", [])})
    suite = {**parts[0].suite, **({"planned": planned} if planned else {})}
    merged = Results(suite=suite, platform=parts[0].platform, git=parts[0].git, options=parts[0].options)
    for index, part in enumerate(parts, start=1):
        for record in part.records:
            if merged.record(record.id) is not None:
                raise InputError(f"configuration {record.id} appears in more than one part")
            # Parts take each other's builds: the merged record keeps where it was measured.
            record.part = {"index": index, "cuda_visible_devices": part.platform.get("cuda_visible_devices")}
            merged.upsert(record)
    merged.status = "complete" if all(p.status == "complete" for p in parts) else "incomplete"
    merged.created_utc = min(p.created_utc for p in parts)
    merged.finished_utc = max(p.finished_utc for p in parts)
    costs: dict[str, float] = {}
    for part in parts:
        for k, v in part.sweep_cost_s.items():
            costs[k] = costs.get(k, 0.0) + v
    if len(parts) > 1 and costs:  # parts run side by side: the sweep took as long as the longest
        costs["parts"] = float(len(parts))
        costs["elapsed_s"] = max(p.sweep_cost_s.get("wall_s", 0.0) for p in parts)
    merged.sweep_cost_s = costs
    return merged


def _table(results: Results) -> str:
    head = [
        "configuration",
        "verdict",
        "RTF median",
        "95% CI",
        "CV",
        "runs",
        "vs stock",
        "first call s",
        "vocoder share",
        "J / audio s",
        "of peak",
        "quality",
        "why",
        "audio",
    ]
    rows = []
    speedups = stock_speedups(results.records)
    for r in sorted(results.records, key=lambda r: r.id):
        rtf: dict[str, Any] = r.rtf or {}
        stages = r.stages_ms
        share = stages["vocoder"] / stages["total"] if stages.get("total") and "vocoder" in stages else None
        q = r.quality
        quality = ""
        if "fidelity" in q:
            quality = f"MCD {q['fidelity']['mcd_db']:.2f} dB"
        if q.get("asr", {}).get("meaningful"):
            quality += f", WER {q['asr']['wer']:.2f}"
        cells = [
            r.id,
            verdict(r),
            f"{rtf['median']:.4g}" if rtf else "-",
            f"{rtf['ci_low']:.4g}-{rtf['ci_high']:.4g}" if rtf else "-",
            f"{rtf['cv']:.3f}" if rtf else "-",
            str(len(r.runs) or "-"),
            f"{speedups[r.id]:.2f}x" if r.id in speedups else "-",
            f"{r.first_call_s:.3g}" if r.first_call_s is not None else "-",
            f"{share:.3f}" if share is not None else "-",
            f"{r.telemetry['j_per_audio_s']:.3g}" if r.telemetry.get("j_per_audio_s") else "-",
            f"{r.roofline['fraction_of_peak']:.1%}" if "fraction_of_peak" in r.roofline else "-",
            quality or "-",
            reason(r),
        ]
        css = {"FAIL": "fail", "error": "fail", "warning": "warn"}.get(cells[1], "pass")
        players = "".join(
            f'<audio controls preload="none" src="{html.escape(sample)}" title="{html.escape(sample)}"></audio>'
            for sample in r.samples
        )
        rows.append(
            f'<tr class="{css}">'
            + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
            + f"<td>{players or '-'}</td></tr>"
        )
    return (
        '<table id="configurations"><thead><tr>'
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _cost_html(cost: dict[str, float]) -> str:
    split = cost_split(cost)
    if split is None:
        return ""
    phases, wall, outside = split
    head = "".join(f"<th>{html.escape(label)}</th>" for label, _ in phases)
    cells = "".join(f"<td>{v:.1f} s ({v / wall:.0%})</td>" for _, v in phases)
    return (
        f'<h2>Sweep cost</h2><table id="cost"><tr>{head}<th>wall</th><th>outside timed regions</th></tr>'
        f"<tr>{cells}<td>{wall:.1f} s</td><td>{outside:.1%}</td></tr></table><p>{html.escape(cost_note(cost))}</p>"
    )


def markdown_html(text: str) -> str:
    """A summary section (``## title``, pipe tables, paragraphs) as escaped HTML."""
    out: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if table:
            head, *body = [[html.escape(c.strip()) for c in row.strip("|").split("|")] for row in table]
            out.append(
                "<table><tr>"
                + "".join(f"<th>{c}</th>" for c in head)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in body)
                + "</table>"
            )
            table.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            if not set(line) <= set("|-: "):
                table.append(line)
            continue
        flush()
        if line.startswith("## "):
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    flush()
    return "\n".join(out)


def _sections_html(results: Results) -> str:
    from harness.report.limits import latency_table, roofline_table

    return "\n".join(markdown_html(section) for section in (roofline_table(results), latency_table(results)) if section)


def _baseline_rows(results: Results, baseline: Path | None) -> list[BaselineRow] | None:
    """Against a baseline under the gate policy the sweep recorded: the same rows `baseline compare` gives."""
    if baseline is None:
        return None
    stored = load_baseline(baseline)  # a baseline asked for and missing is an error, never a silent pass
    floors = floors_for([results], None, baseline.parent)
    return compare_to_baseline(results, stored, recorded_policy(results), str(baseline), floors)


def write_html(results: Results, out: Path, plots: dict[str, Path], rows: list[BaselineRow] | None) -> Path:
    from harness.platform.fingerprint import accelerator_name
    from harness.report.plots import CAPTIONS

    figures = "".join(
        f'<figure><img src="plots/{p.name}" alt="{html.escape(CAPTIONS.get(name, name))}">'
        f"<figcaption>{html.escape(CAPTIONS.get(name, name))}</figcaption></figure>"
        for name, p in plots.items()
    )
    baseline_html = ""
    if rows:
        cells = "".join(
            f"<tr><td>{html.escape(r.id)}</td><td>{r.outcome}</td>"
            f"<td>{'' if r.ratio is None else f'{r.ratio:.3f}'}</td>"
            f"<td>{'' if r.ci is None else f'{r.ci[0]:.3f}-{r.ci[1]:.3f}'}</td>"
            f"<td>{'' if r.detectable is None else f'{r.detectable:.1%}'}</td></tr>"
            for r in rows
        )
        baseline_html = (
            '<h2>Against the baseline</h2><table id="baseline"><tr><th>configuration</th><th>outcome</th>'
            f"<th>RTF ratio</th><th>CI</th><th>detectable slowdown</th></tr>{cells}</table>"
        )
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tts-harness: {html.escape(str(results.suite.get("name")))}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; }} tr.fail {{ background: #fdd; }} tr.warn {{ background: #ffd; }}
figure {{ display: inline-block; margin: 1em; vertical-align: top; }} img {{ max-width: 860px; }}
figcaption {{ font-size: 14px; color: #333; }} audio {{ height: 28px; width: 220px; }}
</style></head><body>
<h1>{html.escape(str(results.suite.get("name")))}: {len(results.records)} configurations ({results.status})</h1>
<p>Machine: {html.escape(accelerator_name(results.platform))},
fingerprint <code>{html.escape(str(results.platform.get("key")))}</code>,
clocks locked: {results.platform.get("clocks_locked")}. Git {html.escape(str(results.git.get("commit")))}.
{html.escape(results.created_utc)} to {html.escape(results.finished_utc or "-")}.</p>
{_table(results)}
{_sections_html(results)}
{_cost_html(results.sweep_cost_s)}
<h2>Plots</h2>{figures}
{baseline_html}
</body></html>"""
    path = out / "report.html"
    path.write_text(doc)
    return path


def write_junit(results: Results, out: Path, rows: list[BaselineRow] | None = None) -> Path:
    """A test case per configuration (thresholds), and one per baseline comparison (the gate):
    a regression fails, an inconclusive comparison is skipped with the slowdown it could not rule out."""
    suite = ET.Element("testsuite", name=f"tts-harness.{results.suite.get('name')}")
    failures = errors = skipped = 0
    for r in sorted(results.records, key=lambda r: r.id):
        case = ET.SubElement(
            suite,
            "testcase",
            classname=str(results.suite.get("name")),
            name=r.id,
            time=f"{sum(s.total_s for s in r.runs):.3f}",
        )
        v = verdict(r)
        if v == "error":
            errors += 1
            ET.SubElement(case, "error", message=(r.error or {}).get("message", "")[:500])
        elif v == "FAIL":
            failures += 1
            bad = [k for k, x in r.verdicts.items() if x.get("level") == "critical"]
            ET.SubElement(case, "failure", message=f"critical: {', '.join(bad)}")
    for row in rows or []:
        case = ET.SubElement(suite, "testcase", classname=f"{results.suite.get('name')}.baseline", name=row.id)
        text = "" if row.ratio is None else f"ratio {row.ratio:.4f}, detectable slowdown {row.detectable:.1%}"
        if row.outcome == "regression":
            failures += 1
            ET.SubElement(case, "failure", message=f"regression: {text}")
        elif row.outcome == "inconclusive":
            skipped += 1
            ET.SubElement(case, "skipped", message=f"inconclusive: {text}")
        ET.SubElement(case, "system-out").text = f"{row.outcome}: {text}"
    suite.set("tests", str(len(results.records) + len(rows or [])))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    path = out / "junit.xml"
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    return path


def report(dirs: list[Path], out: Path | None = None, baseline: Path | None = None) -> dict[str, Any]:
    parts = [Results.load(d) for d in dirs]
    out = out or dirs[0]
    for part, folder in zip(parts, dirs, strict=True):  # audio stays in each part's folder: point at it
        prefix = os.path.relpath(folder, out)
        for record in part.records:
            record.samples = [os.path.normpath(os.path.join(prefix, s)) for s in record.samples]
    results = merge(parts) if len(parts) > 1 else parts[0]
    out.mkdir(parents=True, exist_ok=True)
    if len(parts) > 1 or out.resolve() != dirs[0].resolve():
        results.save(out)
    plots = all_plots(results.records, out / "plots", results.suite.get("thresholds"))
    rows = _baseline_rows(results, baseline)
    summary = markdown(results)
    if rows:
        summary += "\n## Against the baseline\n\n" + rows_markdown(rows, recorded_policy(results)) + "\n"
        save_comparison(out, rows, recorded_policy(results), str(baseline))
    (out / "summary.md").write_text(summary)
    page = write_html(results, out, plots, rows)
    junit = write_junit(results, out, rows)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a") as handle:
            handle.write(summary + "\n")
    return {
        "html": page,
        "summary": out / "summary.md",
        "junit": junit,
        "plots": plots,
        "records": len(results.records),
        "status": results.status,
    }
