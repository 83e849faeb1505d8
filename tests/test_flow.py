"""The data flows one way: suite -> config -> run -> results.json -> judge -> report / tracking.
Nothing that measures imports what reports or tracks (read from every module's imports)."""

from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).parents[1] / "harness"
# The commands, the pytest plugin and the report and tracking rooms read results and may use both.
DOWNSTREAM = ("cli.py", "commands.py", "gate_commands.py", "options.py", "pytest_plugin.py", "cli_reference.py",
              "__main__.py", "report/", "tracking/", "serving/report.py", "serving/commands.py")  # fmt: skip


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_nothing_that_measures_imports_report_or_tracking() -> None:
    upstream = [p for p in sorted(HARNESS.rglob("*.py")) if not str(p.relative_to(HARNESS)).startswith(DOWNSTREAM)]
    assert any(p.name == "sweep.py" for p in upstream) and any(p.name == "in_process.py" for p in upstream)
    crossing = {
        str(p.relative_to(HARNESS)): sorted(
            n for n in imported(p) if n.startswith(("harness.report", "harness.tracking"))
        )
        for p in upstream
    }
    assert {k: v for k, v in crossing.items() if v} == {}
