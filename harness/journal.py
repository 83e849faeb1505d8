"""The sweep's ``results.json`` as a journal: opened new or resumed, stamped with the suite, the
machine and the code, checked by the preflight, saved after every configuration."""

from __future__ import annotations

import logging
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from harness.config import SuiteConfig
from harness.results import Results

log = logging.getLogger(__name__)


def _plain(obj: Any) -> Any:
    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj


def suite_record(suite: SuiteConfig) -> dict[str, Any]:
    """What ``results.json`` keeps of the suite: enough to re-gate and to log it without the file."""
    return {
        "name": suite.name,
        "path": suite.path,
        "sha256": suite.sha256,
        "thresholds": _plain(suite.thresholds),
        "timing": _plain(suite.timing),
        "gate": _plain(suite.gate),
        "matrix": suite.axes(),
        "texts": [_plain(t) for t in suite.texts],
    }


def open_results(suite: SuiteConfig, out_dir: Path, resume: bool, process: dict[str, Any], inject: float) -> Results:
    """The results a sweep writes to: resumed from ``out_dir``, or new with the fingerprint and git
    state; the process settings and the preflight go in either way, then it is saved."""
    from harness.platform import fingerprint
    from harness.platform.software import git_info

    if resume:
        results = Results.load(out_dir)
        if results.suite.get("sha256") != suite.sha256:
            log.warning("suite file changed since the interrupted sweep; resuming anyway")
    else:
        results = Results(
            suite=suite_record(suite),
            platform=fingerprint.collect(),
            git=git_info(),
            options={"inject_slowdown": inject},
        )
    results.options["process"] = process
    preflight(results, suite)
    results.status = "running"
    results.save(out_dir)
    return results


def preflight(results: Results, suite: SuiteConfig) -> None:
    """Check the machine state before measuring; the suite's policy decides what follows."""
    from harness.errors import GateFailure
    from harness.platform.preflight import checks_from, preflight_text

    checks = checks_from(results.platform, suite.power_mode)
    bad = [c for c in checks if c.level == "critical"]
    results.platform["preflight"] = {
        "policy": suite.preflight,
        "checks": [c.as_dict() for c in checks],
        "passed": not bad,
    }
    if bad and suite.preflight == "fail":
        raise GateFailure("preflight failed: " + "; ".join(f"{c.name}: {c.message}" for c in bad))
    if bad and suite.preflight == "warn":
        log.warning("preflight:\n%s", preflight_text(checks))
