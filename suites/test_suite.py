"""Benchmark suites as pytest tests: ``pytest suites/ --suite smoke`` (one test per configuration).

Each test measures its configuration through pytest-benchmark (``--benchmark-json``,
``--benchmark-autosave``) and applies the suite's thresholds: critical fails, warning warns.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.config import RunConfig
from harness.results import Record


def test_config(tts_config: RunConfig, tts_measure: Callable[[RunConfig], Record]) -> None:
    record = tts_measure(tts_config)
    assert record.rtf is not None and record.rtf["median"] > 0
