"""MLflow tracking against a real `mlflow server` on 127.0.0.1, stopped mid-sweep."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.results import Results
from tests.test_cli import ROOT, assert_one_line_error, cli_in_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, store: Path, port: int) -> None:
        self.store, self.port = store, port
        self.uri = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.store / 'db.sqlite'}",
                "--artifacts-destination",
                str(self.store / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            # No job runner (it serves GenAI jobs): its huey consumers cost 23 CPU-s more per start.
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        )
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("mlflow server did not answer /health in 90 s")

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "mlflow", free_port())
    srv.store.mkdir()
    srv.start()
    yield srv
    srv.stop()


def child_runs(uri: str, experiment: str = "track") -> list:  # type: ignore[type-arg]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    return runs


def test_sweep_survives_server_loss_and_sync_delivers_it(
    server: Server, write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    suite = write_suite(name="track", nfe="[2, 3, 4, 5]", repeats=3)
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    sweep = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            str(suite),
            "--out",
            str(out),
            "--no-progress",
            "--tracking-uri",
            server.uri,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline:  # stop the server once the first configuration is in MLflow
        if any(r.data.tags.get("tts_harness.status") == "logged" for r in child_runs(server.uri)):
            break
        time.sleep(0.3)
    server.stop()
    _, stderr = sweep.communicate(timeout=600)
    assert sweep.returncode == 0, stderr
    assert "MLflow logging failed" in stderr and "tts-harness sync" in stderr
    results = Results.load(out)
    assert results.status == "complete" and len(results.records) == 4  # nothing lost locally

    server.start()  # same store: the configurations logged before the loss are still there
    # completely logged before the loss; a run cut off mid-logging is completed by sync, not duplicated
    before = [r for r in child_runs(server.uri) if r.data.tags.get("tts_harness.status") == "logged"]
    assert 1 <= len(before) < 4
    synced = cli_in_process("sync", str(out), "--tracking-uri", server.uri)
    assert synced.returncode == 0, synced.stderr
    assert f"{4 - len(before)} configuration(s) logged, {len(before)} already there" in synced.stdout
    assert f"{server.uri}/#/experiments/" in synced.stdout  # the page of the sweep's run
    again = cli_in_process("sync", str(out), "--tracking-uri", server.uri)
    assert "0 configuration(s) logged, 4 already there" in again.stdout

    runs = child_runs(server.uri)
    parents = [r for r in runs if "tts_harness.config_id" not in r.data.tags]
    children = [r for r in runs if "tts_harness.config_id" in r.data.tags]
    assert len(parents) == 1 and len(children) == 4  # no duplicates after two syncs
    parent_id = parents[0].info.run_id
    client = MlflowClient(tracking_uri=server.uri)
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parent_id
        assert child.data.params["precision"] == "fp32" and child.data.params["nfe"] in {"2", "3", "4", "5"}
        assert child.data.metrics["rtf.median"] > 0 and "stage_ms.ode" in child.data.metrics
        assert len(client.get_metric_history(child.info.run_id, "rtf_run")) == 3
        assert [a.path for a in client.list_artifacts(child.info.run_id, "audio")]
        assert child.data.tags["weights"] == "random" and child.data.tags["git.commit"]
    names = {a.path for a in client.list_artifacts(parent_id)}
    assert {"results.json", "summary.md", "environment.json"} <= names
    assert parents[0].data.tags["platform.fingerprint"] == results.platform["key"]
    assert parents[0].data.metrics["sweep_timed_s"] == pytest.approx(results.sweep_cost_s["timed_s"])
    _what_the_rest_api_shows(
        server.uri, results, parent_id, {c.data.tags["tts_harness.config_id"]: c for c in children}
    )


def _rest(uri: str, path: str, **query: str) -> dict:  # type: ignore[type-arg]
    from urllib.parse import urlencode

    with urllib.request.urlopen(f"{uri}/api/2.0/mlflow/{path}?{urlencode(query)}", timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _what_the_rest_api_shows(uri: str, results: Results, parent_id: str, children: dict) -> None:  # type: ignore[type-arg]
    """What a user browsing MLflow sees, read through the server's REST API: a runs experiment,
    the measurement's own times (not the sync's), the verdict, the suite as input, the commit."""
    from harness.tracking.mlflow_sync import epoch_ms

    experiment = _rest(uri, "experiments/get-by-name", experiment_name="track")["experiment"]
    assert {"key": "mlflow.experimentKind", "value": "custom_model_development"} in experiment["tags"]
    parent = _rest(uri, "runs/get", run_id=parent_id)["run"]
    assert int(parent["info"]["start_time"]) == epoch_ms(results.created_utc)
    assert int(parent["info"]["end_time"]) == epoch_ms(results.finished_utc)
    params = {p["key"]: p["value"] for p in parent["data"]["params"]}
    assert params["suite"] == "track" and params["suite_sha256"] == results.suite["sha256"]
    assert params["matrix.nfe"] == "2,3,4,5" and params["gate.min_effect"] == "0.02"
    inputs = parent["inputs"]["dataset_inputs"]
    assert inputs[0]["dataset"]["name"] == "track" and inputs[0]["dataset"]["digest"] == results.suite["sha256"][:16]
    for record in results.records:
        run = _rest(uri, "runs/get", run_id=children[record.id].info.run_id)["run"]
        assert int(run["info"]["start_time"]) == epoch_ms(record.started_utc)
        assert int(run["info"]["end_time"]) == epoch_ms(record.finished_utc)
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert tags["mlflow.source.git.commit"] == results.git["commit"] and tags["verdict"] in (
            "pass",
            "warning",
            "FAIL",
        )
        metrics = {m["key"] for m in run["data"]["metrics"]}
        assert "verdict_level" in metrics and not any(m.startswith("telemetry") for m in metrics)


def test_unreachable_tracking_uri_is_one_line(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli_in_process("run", str(write_suite(nfe="[2]")), "--out", str(out), "--no-progress").returncode == 0
    proc = cli_in_process("sync", str(out), "--tracking-uri", f"http://127.0.0.1:{free_port()}")
    assert_one_line_error(proc, "unreachable")


def test_credentials_in_a_tracking_uri_appear_in_no_output(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.tracking.live import LiveTracking
    from tests.test_gates import results_with

    secret_uri = f"http://alice:s3cret@127.0.0.1:{free_port()}"
    out = tmp_path / "out"
    results_with({"a": [1.0, 1.1]}).save(out)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    LiveTracking(out, secret_uri)()  # what `run` calls after every configuration: the server is down
    warned = caplog.text
    assert "MLflow logging failed" in warned and "--tracking-uri 'http://***@127.0.0.1:" in warned
    sync = cli_in_process("sync", str(out), "--tracking-uri", secret_uri)
    assert_one_line_error(sync, "unreachable", "http://***@127.0.0.1")
    for text in (warned, sync.stdout, sync.stderr):
        assert "s3cret" not in text and "alice" not in text


def test_a_tracked_run_says_where_its_mlflow_run_is_and_keeps_artifacts_beside_the_database(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    out = tmp_path / "out"
    tracked = {"TTS_HARNESS_NO_TRACK": ""}
    proc = cli_in_process(
        "run", str(write_suite(nfe="[2]")), "--out", str(out), "--no-progress", "--tracking-uri", uri, env=tracked
    )
    assert proc.returncode == 0, proc.stderr
    assert "MLflow: run " in proc.stdout and f"of {uri} (browse: `mlflow ui --backend-store-uri {uri}`)" in proc.stdout
    assert any((tmp_path / "store" / "mlartifacts").rglob("results.json"))  # beside the database, not in ./reports


def test_compare_by_mlflow_run_id(
    write_suite: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "out"
    suite = write_suite(name="bycompare", nfe="[2]")
    monkeypatch.chdir(tmp_path)  # outside the project's tree
    args = ("run", str(suite), "--out", str(out), "--no-progress", "--tracking-uri", uri)
    proc = cli_in_process(*args, env={"TTS_HARNESS_NO_TRACK": ""})  # tracked as it is
    assert proc.returncode == 0, proc.stderr
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("bycompare")
    parent = next(r for r in client.search_runs([exp.experiment_id]) if "tts_harness.config_id" not in r.data.tags)
    compared = cli_in_process("compare", parent.info.run_id, str(out), "--tracking-uri", uri)
    assert compared.returncode == 0, compared.stderr
    assert "| nfe2-fp32-compile_none-voc_torch |" in compared.stdout and "| 1.000 |" in compared.stdout


def test_telemetry_is_logged_as_mlflow_system_metrics() -> None:
    from harness.results import Record
    from harness.tracking.mlflow_sync import record_metrics

    record = Record(id="a", config={}, telemetry={"source": "nvml", "gpu_temp_c_max": 61.0, "power_w": {"mean": 310.0}})
    metrics = record_metrics(record)
    assert metrics["system/gpu_temp_c_max"] == 61.0 and metrics["system/power_w.mean"] == 310.0


def test_a_load_is_logged_by_its_figures_and_sustainable_rate() -> None:
    from harness.results import Record
    from harness.tracking.mlflow_sync import record_metrics

    summary = {"ttfa_s": {"p99": 0.8}, "drop_rate": 0.0, "counts": {"ok": 3}, "errors": ["x"], "clock": "c"}
    load = {"kind": "load", "summary": summary, "search": {"sustainable_rate_per_s": 6.5}}
    metrics = record_metrics(Record(id="a", config={}, scenario=load))
    assert metrics["load.ttfa_s.p99"] == 0.8 and metrics["load.sustainable_rate_per_s"] == 6.5
    assert metrics["load.drop_rate"] == 0.0 and not any("counts" in k or "batch" in k for k in metrics)


def test_a_run_cut_off_before_it_ended_is_ended_by_the_next_sync(
    server: Server, write_suite: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection lost at the moment a run is ended: the next sync ends it with the measured
    time instead of skipping it as logged (MLflow would show it running for ever)."""
    from mlflow.tracking import MlflowClient

    from harness.tracking.mlflow_sync import epoch_ms, sync

    out = tmp_path / "out"
    assert (
        cli_in_process("run", str(write_suite(name="track", nfe="[2]")), "--out", str(out), "--no-progress").returncode
        == 0
    )
    ended = MlflowClient.set_terminated

    def lost(self: MlflowClient, run_id: str, *args: object, **kwargs: object) -> None:
        raise ConnectionError("the server went away")

    monkeypatch.setattr(MlflowClient, "set_terminated", lost)
    with pytest.raises(ConnectionError):
        sync(out, server.uri)
    monkeypatch.setattr(MlflowClient, "set_terminated", ended)
    assert sync(out, server.uri)["logged"] == 1
    (child,) = [r for r in child_runs(server.uri) if "tts_harness.config_id" in r.data.tags]
    assert child.info.status == "FINISHED"
    assert child.info.end_time == epoch_ms(Results.load(out).records[0].finished_utc)


def test_two_syncs_of_one_folder_at_once_log_each_configuration_once(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from tests.test_gates import results_with

    results_with({f"nfe{n}": [1.0, 1.1] for n in range(2, 8)}).save(tmp_path / "sweep")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    command = [sys.executable, "-m", "harness", "sync", str(tmp_path / "sweep"), "--tracking-uri", uri]
    procs = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in "ab"
    ]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    said = sorted(out for out, _ in outputs)
    assert "6 configuration(s) logged, 0 already there" in said[1] and "0 configuration(s) logged, 6 already" in said[0]
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("s").experiment_id])
    assert len(runs) == 7  # one parent, six children: nothing twice
    assert f"(browse: `mlflow ui --backend-store-uri {uri}`)" in said[1]
    child = next(r for r in runs if r.data.tags.get("tts_harness.config_id") == "nfe2")
    history = client.get_metric_history(child.info.run_id, "rtf_run")
    assert len(history) == 2 and all(abs(m.timestamp / 1000 - time.time()) < 3600 for m in history)  # not 1970
