"""Reports from a real sweep: HTML rendered in headless Chromium, JUnit, merging, comparing."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.gates import load_judged
from harness.results import Results
from tests.test_cli import assert_one_line_error, cli_in_process

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("sweep")
    suite = tmp / "q.toml"
    suite.write_text(
        (Path(__file__).parents[1] / "suites" / "smoke.toml")
        .read_text()
        .replace('precision = "fp32"', 'precision = ["fp32", "bf16"]')
        .replace("nfe = [8, 16]", "nfe = [2, 4]")
        .replace("repeats = 5", "repeats = 2")
        .replace('name = "smoke"', 'name = "q"')
        .replace("I don't really care what you call me. I've been a silent spectator.", "A short sentence.")
    )
    out = tmp / "out"
    proc = cli_in_process("run", str(suite), "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return out


def test_report_files_and_plots(sweep: Path, tmp_path: Path) -> None:
    step_summary = tmp_path / "step.md"
    proc = cli_in_process("report", str(sweep), env={"GITHUB_STEP_SUMMARY": str(step_summary)})
    assert proc.returncode == 0, proc.stderr
    assert "4 plots" in proc.stdout
    for name in ("rtf_distribution.png", "rtf_vs_nfe.png", "stages.png", "rtf_vs_quality.png"):
        assert (sweep / "plots" / name).stat().st_size > 10_000
    assert step_summary.read_text().startswith("# q:")
    suite = ET.parse(sweep / "junit.xml").getroot()
    assert suite.get("tests") == "4" and len(suite.findall("testcase")) == 4
    assert all(r.roofline["flops_per_step"] > 0 for r in Results.load(sweep).records)
    results = Results.load(sweep)
    bf16 = [r for r in results.records if r.config["precision"] == "bf16"]
    assert all(r.quality["fidelity"]["mcd_db"] > 0 for r in bf16)  # precision change shows up


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (make test installs it)")
def test_report_renders_in_headless_chromium(sweep: Path, tmp_path: Path) -> None:
    assert cli_in_process("report", str(sweep)).returncode == 0
    page = (sweep / "report.html").resolve().as_uri()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, *profile, "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert '<table id="configurations">' in dom and dom.count("<tr class=") == 4
    assert '<table id="cost">' in dom and "outside timed regions" in dom
    # no stock row here: no speed-up plot; the plots are inside the page (it shows them in MLflow too)
    assert dom.count('<img src="data:image/png;base64,') == 4
    assert dom.count("<audio controls") == 4 and "RTF of every timed call per configuration" in dom
    results = load_judged(sweep)
    for record in results.records:  # every row that is not a pass says why, beside it
        if record.verdicts and any(v.get("level") == "critical" for v in record.verdicts.values()):
            assert "over the critical threshold" in dom.split(record.id, 1)[1].split("</tr>", 1)[0]
    shot = tmp_path / "report.png"
    subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, *profile, "--window-size=1400,2400", f"--screenshot={shot}", page],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 50_000  # a page with a table and four plots, not a blank one
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert (pixels[..., :3].mean(axis=2) < 0.9).mean() > 0.02  # ink on the page: text, tables, plots
    keep = Path("reports/runs/screenshots")
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep / "report.png")


def test_parts_merge_into_one_report(sweep: Path, tmp_path: Path) -> None:
    results = Results.load(sweep)
    parts = []
    for i in range(2):
        part = Results(
            suite=results.suite,
            platform=results.platform,
            git=results.git,
            records=results.records[i::2],
            status="complete",
            created_utc=results.created_utc,
            finished_utc=results.finished_utc,
        )
        parts.append(part.save(tmp_path / f"part{i}").parent)
    proc = cli_in_process("report", *map(str, parts), "--out", str(tmp_path / "merged"))
    assert proc.returncode == 0, proc.stderr
    merged = Results.load(tmp_path / "merged")
    assert sorted(r.id for r in merged.records) == sorted(r.id for r in results.records)


HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (make test installs it)")
def test_values_from_results_json_are_data_in_every_page(sweep: Path, tmp_path: Path) -> None:
    """A results.json is data: a field carrying markup renders as text in report.html (Chromium runs
    nothing) and as escaped text in summary.md."""
    data = json.loads((sweep / "results.json").read_text())
    data["platform"]["clocks_locked"] = HOSTILE
    data["git"]["commit"] = HOSTILE
    data["records"][0]["samples"] = ['x" onplay="document.title=1']
    data["records"][1]["status"], data["records"][1]["error"] = "error", {"message": HOSTILE + "|cell"}
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "results.json").write_text(json.dumps(data))
    assert cli_in_process("report", str(hostile)).returncode == 0
    dom = subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            "--user-data-dir=" + str(tmp_path / "p"),
            "--dump-dom",
            (hostile / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "<title>pwned</title>" not in dom and "<script>document" not in dom  # no handler or script ran
    assert "&lt;img src=x onerror" in dom and 'onplay="document' not in dom
    summary = (hostile / "summary.md").read_text()
    assert "<script>" not in summary and "<img" not in summary and "&lt;script&gt;" in summary
    assert "\\|cell" in summary  # a pipe in a value does not split the table's row
    data["records"][0]["id"] = "nfe2" + HOSTILE  # ids name rows and files: one that is not an id is refused
    (hostile / "results.json").write_text(json.dumps(data))
    assert_one_line_error(cli_in_process("report", str(hostile)), "a record needs an id of letters")


def test_a_compressed_results_file_reads_as_the_plain_one(sweep: Path, tmp_path: Path) -> None:
    import gzip

    (tmp_path / "results.json.gz").write_bytes(gzip.compress((sweep / "results.json").read_bytes()))
    assert Results.load(tmp_path).to_dict() == Results.load(sweep).to_dict()
    assert cli_in_process("report", str(tmp_path)).returncode == 0 and (tmp_path / "report.html").is_file()


def test_compare_two_sweeps(sweep: Path, tmp_path: Path) -> None:
    proc = cli_in_process("compare", str(sweep), str(sweep), "--json", str(tmp_path / "same.json"))
    assert proc.returncode == 0 and "| 1.000 |" in proc.stdout
    rows = json.loads((tmp_path / "same.json").read_text())
    # one sweep a side and no noise floor: nothing decided, nothing claimed detectable
    assert {row["outcome"] for row in rows} == {"inconclusive"} and all(r["ratio"] == 1 for r in rows)
    assert all(row["detectable"] is None and row["df"] == 0 for row in rows)
    timed = Results.load(sweep).sweep_cost_s["timed_s"]
    assert f"| timed | {timed:.1f} | {timed:.1f} |" in proc.stdout  # the two sweeps' cost side by side
    assert "one sweep a side and no noise floor" in proc.stdout and "| unknown |" in proc.stdout
    data = json.loads((sweep / "results.json").read_text())
    data["git"] = {"commit": "0" * 40, "dirty": False}  # A/A sweeps: one commit, a clean tree
    for name, scale in (("aa1", 1.0), ("aa2", 1.03)):  # two A/A sweeps 3% apart: a recorded noise floor
        for record in data["records"]:
            for run in record["runs"]:
                run["rtf"] *= scale
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(data))
    recorded = cli_in_process("noise", "record", *(str(tmp_path / n) for n in ("aa1", "aa2")), "--dir", str(tmp_path))
    assert recorded.returncode == 0 and "| 2 | 1 | 2.09% |" in recorded.stdout  # log(1.03) / sqrt(2)
    again = cli_in_process("noise", "record", *(str(tmp_path / n) for n in ("aa1", "aa2")), "--dir", str(tmp_path))
    assert_one_line_error(again, "a sweep counts once")  # recorded twice, its spread would count double
    floored = cli_in_process(
        "compare", str(sweep), str(sweep), "--noise-dir", str(tmp_path), "--json", str(tmp_path / "f.json")
    )
    assert floored.returncode == 0 and f"noise floor {tmp_path}/noise--" in floored.stdout
    rows = json.loads((tmp_path / "f.json").read_text())
    assert all(row["detectable"] > 0.02 and row["df"] == 1 for row in rows)  # finite: it knows the noise now
    repeated = cli_in_process("compare", f"{sweep},{sweep}", str(sweep))
    # the same sweep twice against itself: no spread at all, so the difference (none) is exact
    assert repeated.returncode == 0 and "| 2+1 | 1.00 / - | unchanged |" in repeated.stdout
    assert "one sweep a side" not in repeated.stdout
    plotted = cli_in_process("compare", str(sweep), str(sweep), "--plot", str(tmp_path / "ratios.png"))
    assert plotted.returncode == 0 and (tmp_path / "ratios.png").read_bytes().startswith(b"\x89PNG")
    data = json.loads((sweep / "results.json").read_text())
    for record in data["records"]:
        record["id"] += "-other"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "results.json").write_text(json.dumps(data))
    assert_one_line_error(cli_in_process("compare", str(sweep), str(tmp_path / "other")), "nothing to compare")


def test_bad_results_directories_are_one_line(sweep: Path, tmp_path: Path) -> None:
    assert_one_line_error(cli_in_process("report", str(tmp_path)), "no results.json")
    old = json.loads((sweep / "results.json").read_text())
    old["schema_version"] = 0
    (tmp_path / "results.json").write_text(json.dumps(old))
    assert_one_line_error(cli_in_process("report", str(tmp_path)), "schema version 0")
    (tmp_path / "results.json").write_text('{"schema": "tts-harness/results", "schema_ver')
    assert_one_line_error(cli_in_process("report", str(tmp_path)), "not valid JSON")


def test_summary_states_cache_speedups_and_cost(sweep: Path, tmp_path: Path) -> None:
    from harness.report.summary import markdown, stock_speedups

    results = Results.load(sweep)
    text = markdown(results)
    assert "## Sweep cost" in text and "outside timed regions" in text
    assert "TorchInductor cache" not in text  # nothing compiled: the cache does not matter
    fp32, bf16 = (
        next(r for r in results.records if r.id == f"nfe2-{p}-compile_none-voc_torch") for p in ("fp32", "bf16")
    )
    bf16.config["pipeline"] = "stock"  # stands in for the stock row of the same NFE
    speedups = stock_speedups(results.records)
    assert speedups[fp32.id] == pytest.approx(bf16.rtf["median"] / fp32.rtf["median"])  # type: ignore[index]
    assert speedups[bf16.id] == pytest.approx(1.0) and "nfe4-fp32-compile_none-voc_torch" not in speedups
    from harness.report.html import _configurations
    from harness.report.plots import speedup_bars

    row = next(r for r in _configurations(results)["rows"] if r["cells"][0] == fp32.id)
    assert f"{speedups[fp32.id]:.2f}x" in row["cells"]
    assert speedup_bars(results.records, tmp_path / "speedup.png").stat().st_size > 10_000  # type: ignore[union-attr]
    fp32.config["compile_mode"] = "default"
    results.options["process"]["inductor_cache_mib_at_start"] = 0.0
    assert "(empty: a cold sweep)" in markdown(results)


def test_ratio_plot_draws_intervals_and_points_past_its_axis(tmp_path: Path) -> None:
    """Clipped to the axis, a point outside it would give a negative error bar, which matplotlib
    refuses: the plot must still be drawn."""
    from harness.report.plots import ratio_intervals

    rows = [
        ("wide", 0.9, 0.19, 4.4, "inconclusive"),  # two sweeps against one: Student's t with one degree of freedom
        ("far-faster", 0.1, 0.08, 0.12, "improvement"),  # past the 0.25 edge altogether
        ("slower", 1.3, 1.2, 1.4, "regression"),
    ]
    path = ratio_intervals(rows, tmp_path / "ratios.png")
    assert path.read_bytes().startswith(b"\x89PNG")
