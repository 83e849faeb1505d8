"""Ray as a cluster backend: ``tts-harness run SUITE --ray ADDRESS``.

Each group is one Ray task asking for one GPU (one CPU for a CPU suite) and the custom resources
``--ray-resources`` names (e.g. ``{"jetson_orin": 1}`` keeps groups on the Jetsons); Ray's own
retries are off, so a lost node is seen and recorded by the driver (``harness.sweep.Sweep``).

Ray listens on the machine's network address even when told 127.0.0.1 (ray-project/ray#26293):
run the cluster and the driver in a network namespace of their own where only loopback exists
(docs/cluster.md), never on a shared network.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from harness.config import SuiteConfig
from harness.errors import ConfigError, InputError, first_line
from harness.executors.base import Backend, Outcome
from harness.executors.in_process import measure_group
from harness.extras import need
from harness.results import Record

LOST = ("NodeDiedError", "WorkerCrashedError", "ActorDiedError", "ObjectLostError", "OwnerDiedError",
        "LocalRayletDiedError", "RaySystemError")  # fmt: skip


def measure_on_ray_node(suite: SuiteConfig, telemetry: bool, inject_slowdown: float) -> list[Record]:
    import ray

    return measure_group(suite, telemetry, inject_slowdown, f"ray:{ray.get_runtime_context().get_node_id()[:12]}")


class RayBackend(Backend):
    """A task returns its group's records together: not its process's costs, and none once
    cancelled (``costs`` and ``kept`` keep the defaults)."""

    name = "ray"

    def __init__(self, address: str, resources: dict[str, float], gpus: bool, telemetry: bool = False,
                 inject_slowdown: float = 0.0) -> None:  # fmt: skip
        self.telemetry, self.inject_slowdown = telemetry, inject_slowdown
        self.ray = need("ray", "ray", "the Ray executor")
        try:
            self.ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(f"no Ray cluster at {address}: {first_line(exc)}") from None
        self.task = self.ray.remote(measure_on_ray_node).options(
            num_cpus=1, num_gpus=1 if gpus else 0, resources=resources, max_retries=0
        )

    def submit(self, suite: SuiteConfig) -> Any:
        return self.task.remote(suite, self.telemetry, self.inject_slowdown)

    def wait(self, handles: list[Any], timeout_s: float) -> list[tuple[Any, Outcome]]:
        ready, _ = self.ray.wait(handles, num_returns=1, timeout=timeout_s)
        out: list[tuple[Any, Outcome]] = []
        for ref in ready:
            try:
                out.append((ref, self.ray.get(ref)))
            except Exception as exc:  # the job's failure is the driver's to record
                out.append((ref, exc))
        return out

    def lost(self, error: BaseException) -> bool:
        return any(name in type(error).__name__ for name in LOST)

    def cancel(self, handles: list[Any]) -> None:
        for ref in handles:
            self.ray.cancel(ref, force=True)

    def close(self) -> dict[str, Any]:
        self.ray.shutdown()
        return {}


def parse_resources(text: str | None) -> dict[str, float]:
    """``--ray-resources`` JSON: ``{"name": amount > 0, ...}``."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--ray-resources is not JSON: {exc.msg}") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
        for k, v in value.items()
    ):
        raise InputError('--ray-resources wants {"name": amount > 0, ...}')
    return {k: float(v) for k, v in value.items()}


def check_ray_options(args: Any) -> None:
    """``--ray`` refuses what it cannot honour, before anything starts."""
    for option, value in (("--gpus", args.gpus), ("--shard", args.shard), ("--time-limit", args.time_limit),
                          ("--compile-artifacts", args.compile_artifacts)):  # fmt: skip
        if value:
            raise ConfigError(f"--ray places the groups itself: leave out {option}")
