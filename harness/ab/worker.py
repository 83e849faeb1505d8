"""A resident ``ab`` worker: one side's process that builds and warms every configuration once, then
times a block of calls each time it is asked, until it is told to stop.

Run in a side's own tree (``python -m harness.ab.worker SUITE [narrowing]``, the side's root first
on ``PYTHONPATH``), so it measures that side's code. It speaks JSON lines: after start-up one
``{"ready": ...}`` line with its start-up seconds and the configurations that failed; then, for
every request ``{"calls": m, "inject": f}`` on stdin, one line with the RTF of each of the ``m``
calls of every configuration. End of input ends it at once (``os._exit``): it has nothing to save,
and an interpreter's orderly exit (CUDA teardown, Inductor's compile pool) cost a GPU cluster more
than its timed rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any


def _reply(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(prog="python -m harness.ab.worker")
    parser.add_argument("suite")
    from harness.options import add_narrowing, narrowed_suite

    add_narrowing(parser)
    args = parser.parse_args(argv)
    from harness.errors import first_line
    from harness.measure import ready_measurer

    suite = narrowed_suite(args)
    measurer = ready_measurer(suite)
    ready: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for run in suite.runs:  # build, first call and warm-up: untimed, once per process
        try:
            ready[run.id] = (run, measurer.prepared(run))
        except Exception as exc:  # a configuration that fails is a result: the others go on
            errors[run.id] = first_line(exc)
    _reply({"ready": True, "startup_s": time.perf_counter() - started, "errors": errors})
    for line in sys.stdin:
        request = json.loads(line)
        calls, inject = int(request["calls"]), float(request.get("inject", 0.0))
        block_started = time.perf_counter()
        rtf: dict[str, list[float]] = {}
        for run_id, (run, synth) in ready.items():
            try:
                rtf[run_id] = [_call_rtf(measurer, synth, run, len(suite.texts), inject) for _ in range(calls)]
            except Exception as exc:
                errors[run_id] = first_line(exc)
        for run_id in errors:
            ready.pop(run_id, None)
        _reply({"rtf": rtf, "errors": errors, "seconds": time.perf_counter() - block_started})
    sys.stderr.flush()
    os._exit(0)


def _call_rtf(measurer: Any, synth: Any, run: Any, texts: int, inject: float) -> float:
    """One timed call of the configuration: every suite text spoken once, its total time over the
    audio it made (the synchronized timed region ``measure`` uses)."""
    results = [measurer.call(synth, run, index, inject) for index in range(texts)]
    return float(sum(r.total_s for r in results) / sum(r.audio_s for r in results))


if __name__ == "__main__":
    sys.exit(main())
