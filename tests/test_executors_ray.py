"""The Ray executor on a real local cluster of two nodes, started inside a network namespace of its
own (``unshare -n``: only loopback exists there, so every Ray socket listens on 127.0.0.1; Ray is
never started outside one). A tiny-model suite of two model builds spread over both nodes; a node
killed mid-sweep (its group recorded as lost and measured again on a node that joins); Ctrl-C and
a resume."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.suite_file import load_suite
from tests.conftest import TWO_BUILDS
from tests.test_cli import cli

RAY = Path(sys.executable).parent / "ray"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not RAY.is_file(), reason="Ray is not installed (the 'ray' extra)"),
    pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="needs unshare -n as root"),
]
# Ray notices a dead node after its health checks fail: faster checks keep the node-loss test short
# (only there: on a loaded machine they would declare a live but slow node dead).
FAST_HEALTH = "RAY_health_check_period_ms=500 RAY_health_check_failure_threshold=3 RAY_health_check_initial_delay_ms=0"


def in_namespace(script: str, tmp_path: Path, head_cpus: int = 1, health: str = "") -> subprocess.CompletedProcess[str]:
    """``script`` in fresh network, process and mount namespaces (only loopback exists; ``ray stop``
    and ``pkill`` see only this test's processes; /tmp/ray is its own), with a Ray head on port 6399 (with
    ``head_cpus`` CPUs for tasks, ``health`` its health-check settings); ``$RUN`` is `tts-harness
    run`, ``$ADD`` starts one more node of one CPU; each node's object store is kept small (the
    tests pass only records); Ray is stopped at the end whatever happened."""
    prelude = f"""
set -um  # job control: a background driver keeps SIGINT (bash would ignore it there otherwise)
ip link set lo up
mkdir -p /tmp/ray && mount -t tmpfs -o size=1g tmpfs /tmp/ray
trap '{RAY} stop --force >/dev/null 2>&1' EXIT
cd {tmp_path}
STORE="--object-store-memory 100000000"
{health} {RAY} start --head --port 6399 --num-cpus {head_cpus} $STORE --disable-usage-stats >/dev/null || exit 90
RUN="{sys.executable} -m harness run"
ADD="{RAY} start --address 127.0.0.1:6399 --num-cpus 1 $STORE"
OPTIONS="--ray 127.0.0.1:6399 --no-progress --no-track --no-telemetry"
"""
    return subprocess.run(
        ["unshare", "--net", "--pid", "--fork", "--mount-proc", "bash", "-c", prelude + script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


def results(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "results.json").read_text())


@pytest.fixture
def suite(write_suite: Callable[..., Path]) -> Path:
    return write_suite(name="ray", nfe="[1, 2]", matrix=TWO_BUILDS)  # two model builds, two NFE each


def test_two_nodes_measure_the_suite_and_resources_pin_it(suite: Path, tmp_path: Path) -> None:
    script = f"""
$ADD --resources '{{"node_b": 1}}' >/dev/null || exit 91
$RUN {suite} --out both $OPTIONS > both.log 2>&1; echo "both=$?"
$RUN {suite} --out pinned $OPTIONS --ray-resources '{{"node_b": 1}}' > pinned.log 2>&1; echo "pinned=$?"
"""
    proc = in_namespace(script, tmp_path)
    assert "both=0" in proc.stdout and "pinned=0" in proc.stdout, proc.stdout + proc.stderr
    both = results(tmp_path / "both")
    assert {r["id"] for r in both["records"]} == {run.id for run in load_suite(suite).runs}
    assert both["status"] == "complete" and both["options"]["cluster"]["lost"] == []
    assert all(r["status"] == "ok" and r["part"]["executor"] == "ray" for r in both["records"])
    assert len({r["part"]["node"] for r in both["records"]}) == 2  # each build on its own node, at once
    pinned = results(tmp_path / "pinned")
    assert len(pinned["records"]) == 4 and len({r["part"]["node"] for r in pinned["records"]}) == 1


def test_a_node_lost_mid_sweep_is_recorded_and_its_group_measured_again(suite: Path, tmp_path: Path) -> None:
    """The head has no CPU for tasks: both groups go to node B, which is killed while measuring;
    the lost group is submitted again and measured on node C, which joins after the loss."""
    script = f"""
$ADD >/dev/null || exit 91
$RUN {suite} --out lost $OPTIONS --inject-slowdown 5 > lost.log 2>&1 &
DRIVER=$!
for i in $(seq 1 120); do pgrep -f '[r]ay::measure_on_ray_node' >/dev/null && break; sleep 0.5; done
pkill -9 -f 'sockets/raylet\\.1 ' && echo killed
$ADD >/dev/null || exit 92
wait $DRIVER; echo "lost=$?"
"""
    proc = in_namespace(script, tmp_path, head_cpus=0, health=FAST_HEALTH)
    log = (tmp_path / "lost.log").read_text() if (tmp_path / "lost.log").exists() else ""
    assert "killed" in proc.stdout and "lost=0" in proc.stdout, proc.stdout + proc.stderr + log
    state = results(tmp_path / "lost")
    (lost,) = state["options"]["cluster"]["lost"]
    assert lost["attempt"] == 1 and lost["error"].startswith(("NodeDiedError", "WorkerCrashedError")), lost
    assert {r["id"] for r in state["records"]} == {run.id for run in load_suite(suite).runs}
    assert all(r["status"] == "ok" for r in state["records"]) and state["status"] == "complete"
    dead = re.search(r"node ID: ([0-9a-f]{12})", lost["error"])
    again = [r["part"]["node"] for r in state["records"] if r["id"] in lost["group"]]
    assert dead and len(again) == 2 and f"ray:{dead.group(1)}" not in again  # measured again on node C


def test_ctrl_c_keeps_what_finished_and_a_resume_measures_the_rest(suite: Path, tmp_path: Path) -> None:
    """The head has one CPU: the groups run one after the other. Once the first group's records are
    saved, the workers are stopped (SIGSTOP), so the second cannot finish before Ctrl-C reaches the
    driver however loaded the machine is; the driver cancels it (Ray kills the stopped worker)."""
    script = f"""
$RUN {suite} --out cut $OPTIONS --inject-slowdown 5 > cut.log 2>&1 &
DRIVER=$!
for i in $(seq 1 600); do grep -q '"executor"' cut/results.json 2>/dev/null && break; sleep 0.2; done
pkill -STOP -f '^ray::'
kill -INT $DRIVER; wait $DRIVER; echo "cut=$?"
cp cut/results.json cut-before.json
$RUN {suite} --resume cut $OPTIONS > again.log 2>&1; echo "again=$?"
"""
    proc = in_namespace(script, tmp_path)
    log = (tmp_path / "cut.log").read_text() if (tmp_path / "cut.log").exists() else ""
    assert "cut=130" in proc.stdout and "again=0" in proc.stdout, proc.stdout + proc.stderr + log
    assert "--resume cut" in log  # the command that completes it
    before = json.loads((tmp_path / "cut-before.json").read_text())
    assert before["status"] == "interrupted" and 1 <= len(before["records"]) < 4
    after = results(tmp_path / "cut")
    assert after["status"] == "complete" and len(after["records"]) == 4
    kept = {r["id"]: r["finished_utc"] for r in before["records"]}
    assert all(r["finished_utc"] == kept[r["id"]] for r in after["records"] if r["id"] in kept)  # not measured again


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ray-resources", "{"], "--ray-resources is not JSON"),
        (["--ray-resources", '{"jetson_orin": 0}'], "amount > 0"),
        (["--gpus", "0,1"], "leave out --gpus"),
        (["--time-limit", "60"], "leave out --time-limit"),
    ],
)
def test_ray_options_it_cannot_honour_are_one_line(suite: Path, tmp_path: Path, extra: list[str], message: str) -> None:
    """Refused before Ray is imported or reached (nothing starts outside a namespace)."""
    proc = cli("run", str(suite), "--ray", "127.0.0.1:1", *extra, "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
