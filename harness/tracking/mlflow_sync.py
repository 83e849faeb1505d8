"""Log a results directory to MLflow: one experiment per suite, a parent run per sweep, a nested run
per configuration. Idempotent: runs carry the sweep id and configuration id as tags, and a
configuration already logged (and finished) is skipped, so ``sync`` can run any number of times,
during a sweep (after every configuration) or long after it, on another machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import scenarios
from harness.errors import InputError, first_line, redact
from harness.extras import need
from harness.gates import judged, load_comparison, recorded_thresholds
from harness.journal import SYNC_LOCK_FILE, folder_lock
from harness.report.summary import reason, verdict
from harness.results import Record, Results

DEFAULT_URI = "sqlite:///reports/mlflow.db"
SWEEP_TAG = "tts_harness.sweep_id"
CONFIG_TAG = "tts_harness.config_id"
STATUS_TAG = "tts_harness.status"


def tracking_uri(explicit: str | None = None) -> str:
    return explicit or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def sweep_id(results: Results) -> str:
    seed = (
        f"{results.suite.get('name')}|{results.suite.get('sha256')}|{results.created_utc}|{results.platform.get('key')}"
    )
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def _client(uri: str) -> Any:
    mlflow = need("mlflow", "mlflow", "MLflow tracking")
    from mlflow.tracking import MlflowClient

    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri)


# MLflow 3 opens an experiment without this tag on its GenAI overview (traces); a sweep is runs.
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")


def _experiment(client: Any, name: str, uri: str) -> str:
    try:
        found = client.get_experiment_by_name(name)
    except Exception as exc:  # MlflowException, requests errors: the server is not there
        raise InputError(f"MLflow tracking server at {redact(uri)} is unreachable: {redact(first_line(exc))}") from None
    if found is not None:
        if found.tags.get(EXPERIMENT_KIND[0]) is None:
            client.set_experiment_tag(found.experiment_id, *EXPERIMENT_KIND)
        return str(found.experiment_id)
    artifacts = None
    if uri.startswith("sqlite:///"):  # artifacts beside the database file, wherever the command runs
        artifacts = (Path(uri[len("sqlite:///") :]).resolve().parent / "mlartifacts").as_uri()
    try:
        return str(client.create_experiment(name, artifact_location=artifacts, tags=dict([EXPERIMENT_KIND])))
    except Exception:  # another process created it a moment ago (RESOURCE_ALREADY_EXISTS): use that one
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


def epoch_ms(utc: str) -> int | None:
    """An ISO 8601 UTC time as MLflow's milliseconds (None for a time not recorded)."""
    from datetime import datetime

    return int(datetime.fromisoformat(utc).timestamp() * 1000) if utc else None


def _flat(prefix: str, value: Any, out: dict[str, float]) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        out[prefix] = float(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in ("per_utterance", "per_text", "per_input"):
                _flat(f"{prefix}.{k}" if prefix else str(k), v, out)


VERDICT_LEVEL = {"pass": 0.0, "warning": 1.0, "FAIL": 2.0, "error": 3.0}


def record_metrics(record: Record) -> dict[str, float]:
    """A configuration's metrics; telemetry under ``system/``, where MLflow shows system metrics."""
    out: dict[str, float] = {"verdict_level": VERDICT_LEVEL[verdict(record)]}
    _flat("rtf", record.rtf, out)
    _flat("stage_ms", record.stages_ms, out)
    _flat("system", record.telemetry, out)
    _flat("quality", record.quality, out)
    _flat("memory", record.memory, out)
    _flat("roofline", {k: v for k, v in record.roofline.items() if k != "shape"}, out)
    _flat("latency", {k: v for k, v in record.latency.items() if k != "by_text"}, out)
    _flat("vocoder", {k: v for k, v in record.vocoder.items() if k in ("parity", "alone_ms_per_audio_s")}, out)
    scenario = scenarios.known(record.scenario.get("kind"))
    if scenario is not None and scenario.figures is not None:  # e.g. the load's figures and searched rate
        _flat(scenario.name, scenario.figures(record.scenario), out)
    for name in ("first_call_s", "build_s"):
        value = getattr(record, name)
        if value is not None:
            out[name] = float(value)
    return {k.replace("@", "_").replace("system.", "system/", 1): v for k, v in out.items() if v == v}  # drop NaN


def _tags(results: Results) -> dict[str, str]:
    platform = results.platform
    software = platform.get("software", {})
    return {
        "mlflow.source.git.commit": str(results.git.get("commit")),
        "mlflow.source.name": f"tts-harness run {results.suite.get('path') or results.suite.get('name')}",
        "mlflow.source.type": "LOCAL",
        "git.commit": str(results.git.get("commit")),
        "git.dirty": str(results.git.get("dirty")),
        "platform.fingerprint": str(platform.get("key")),
        "platform.clocks_locked": str(platform.get("clocks_locked")),
        **{f"version.{k}": str(v) for k, v in software.items()},
        SWEEP_TAG: sweep_id(results),
    }


def _existing(client: Any, experiment: str, sid: str) -> tuple[Any, dict[str, Any]]:
    runs = client.search_runs([experiment], filter_string=f"tags.`{SWEEP_TAG}` = '{sid}'", max_results=5000)
    parent = next((r for r in runs if CONFIG_TAG not in r.data.tags), None)
    children = {r.data.tags[CONFIG_TAG]: r for r in runs if CONFIG_TAG in r.data.tags}
    return parent, children


def sync(results_dir: Path, uri: str | None = None) -> dict[str, Any]:
    """Log what is not yet logged; returns counts of logged and skipped configurations. Syncs of one
    folder take turns (a second waits, then finds the first's runs and logs nothing twice)."""
    need("mlflow", "mlflow", "MLflow tracking")
    Results.load(results_dir)  # a folder that holds no sweep is refused before a lock file is made there
    load_comparison(results_dir)  # so is a malformed comparison.json, before anything is logged
    with folder_lock(results_dir, SYNC_LOCK_FILE, wait_s=SYNC_WAIT_S):
        return _sync(Results.load(results_dir), results_dir, uri)


SYNC_WAIT_S = 600.0  # how long a sync waits for another sync of the same folder


def _sync(results: Results, results_dir: Path, uri: str | None) -> dict[str, Any]:
    from mlflow.entities import Metric, Param

    results = judged(results, recorded_thresholds(results))  # verdicts are computed when read

    uri = tracking_uri(uri)
    client = _client(uri)
    experiment = _experiment(client, results.suite.get("name", "suite"), uri)
    sid = sweep_id(results)
    parent, children = _existing(client, experiment, sid)
    tags = _tags(results)
    if parent is None:
        parent = client.create_run(
            experiment,
            run_name=f"{results.suite.get('name')} {results.created_utc}",
            tags=tags,
            start_time=epoch_ms(results.created_utc),
        )
        client.log_batch(parent.info.run_id, params=sweep_params(results))
        _log_suite_input(client, parent.info.run_id, results)
    parent_id = parent.info.run_id
    gate = load_comparison(results_dir)
    logged = skipped = 0
    for record in results.records:
        done = children.get(record.id)
        if done is not None and done.data.tags.get(STATUS_TAG) == "logged":
            _log_gate(client, done.info.run_id, gate.get(record.id))  # a comparison made after the sweep
            skipped += 1
            continue
        run = done or client.create_run(
            experiment,
            run_name=record.id,
            tags={
                **tags,
                CONFIG_TAG: record.id,
                "mlflow.parentRunId": parent_id,
                "weights": record.weights_kind,
                "status": record.status,
                "verdict": verdict(record),
                **({"verdict.reason": reason(record)[:500]} if reason(record) else {}),
            },
            start_time=epoch_ms(record.started_utc),
        )
        run_id = run.info.run_id
        params = [Param(k, str(v)) for k, v in record.config.items()]
        params.append(Param("vocoder_provider", str(record.vocoder.get("provider", record.vocoder.get("backend")))))
        # when it was measured (MLflow shows metric times; 0 would read as 1970)
        measured_ms = epoch_ms(record.finished_utc) or epoch_ms(record.started_utc) or int(time.time() * 1000)
        metrics = [Metric(k, v, measured_ms, 0) for k, v in record_metrics(record).items()]
        metrics += [Metric("rtf_run", s.rtf, measured_ms, i) for i, s in enumerate(record.runs)]
        client.log_batch(run_id, metrics=metrics, params=params if done is None else [])
        if record.error:
            client.set_tag(run_id, "error", record.error.get("message", "")[:500])
        _log_gate(client, run_id, gate.get(record.id))
        for sample in record.samples:
            path = results_dir / sample
            if path.is_file():
                client.log_artifact(run_id, str(path), artifact_path="audio")
        client.set_terminated(
            run_id, "FINISHED" if record.status == "ok" else "FAILED", end_time=epoch_ms(record.finished_utc)
        )
        client.set_tag(run_id, STATUS_TAG, "logged")  # last: a run cut off before it is completed by sync
        logged += 1
    now_ms = int(time.time() * 1000)
    cost = [Metric(f"sweep_{k}", float(v), now_ms, 0) for k, v in results.sweep_cost_s.items()]
    if cost:  # where the sweep's time went, on the parent run (the latest sync's values)
        client.log_batch(parent_id, metrics=cost)
    _parent_artifacts(client, parent_id, results_dir, results)
    if results.status == "complete":
        client.set_terminated(parent_id, "FINISHED", end_time=epoch_ms(results.finished_utc))
    return {"experiment": experiment, "parent_run": parent_id, "logged": logged, "skipped": skipped, "uri": redact(uri)}


def sweep_params(results: Results) -> list[Any]:
    """The parent run's params: the suite, its hash, every matrix axis's values, timing and gate."""
    from mlflow.entities import Param

    axes: dict[str, list[Any]] = results.suite.get("matrix") or {}
    params = {
        "suite": str(results.suite.get("name")),
        "suite_sha256": str(results.suite.get("sha256")),
        **{f"matrix.{k}": ",".join(map(str, v))[:500] for k, v in sorted(axes.items())},
        **{f"timing.{k}": str(v) for k, v in (results.suite.get("timing") or {}).items()},
        **{f"gate.{k}": str(v) for k, v in (results.suite.get("gate") or {}).items()},
    }
    return [Param(k, v) for k, v in params.items()]


def _log_suite_input(client: Any, run_id: str, results: Results) -> None:
    """The suite as the sweep's input dataset (name, file, hash; its texts as the profile)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    texts = results.suite.get("texts") or []
    dataset = Dataset(
        name=str(results.suite.get("name")),
        digest=str(results.suite.get("sha256", ""))[:16],
        source_type="local",
        source=json.dumps({"uri": str(results.suite.get("path"))}),
        schema=json.dumps(
            {"mlflow_colspec": [{"name": "text", "type": "string"}, {"name": "reference_audio", "type": "string"}]}
        ),
        profile=json.dumps({"texts": len(texts), "ids": [t.get("id") for t in texts]}),
    )
    client.log_inputs(run_id, datasets=[DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "suite")])])


def _log_gate(client: Any, run_id: str, row: dict[str, Any] | None) -> None:
    """The baseline gate's outcome (a tag) and its ratio and detectable slowdown (metrics)."""
    if not row:
        return
    client.set_tag(run_id, "gate.outcome", row["outcome"])
    for name in ("ratio", "detectable"):
        if row.get(name) is not None:
            client.log_metric(run_id, f"gate.{name}", float(row[name]))


def _parent_artifacts(client: Any, run_id: str, results_dir: Path, results: Results) -> None:
    for name in ("results.json", "summary.md", "report.html", "junit.xml", "comparison.json"):
        if (results_dir / name).is_file():
            client.log_artifact(run_id, str(results_dir / name))
    plots = results_dir / "plots"
    if plots.is_dir():
        client.log_artifacts(run_id, str(plots), artifact_path="plots")
    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp) / "environment.json"
        env.write_text(
            json.dumps(
                {"platform": results.platform, "git": results.git, "options": results.options}, indent=1, default=str
            )
        )
        client.log_artifact(run_id, str(env))


def run_url(uri: str, experiment: str, run_id: str) -> str:
    """Where a person sees a run: the server's page for it, or how to open a local store."""
    shown = redact(uri)
    if uri.startswith(("http://", "https://")):
        return f"{shown.rstrip('/')}/#/experiments/{experiment}/runs/{run_id}"
    return f"run {run_id} in experiment {experiment} of {shown} (browse: `mlflow ui --backend-store-uri {shown}`)"


def fetch_results(run_id: str, uri: str | None = None) -> Path:
    """Download the results.json of a sweep's parent run (for ``compare`` by run id)."""
    client = _client(tracking_uri(uri))
    try:
        local = client.download_artifacts(run_id, "results.json", tempfile.mkdtemp())
    except Exception as exc:
        raise InputError(f"cannot fetch results.json of MLflow run {run_id}: {first_line(exc)}") from None
    return Path(local).parent
