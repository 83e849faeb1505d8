"""The ``load`` scenario of a sweep: one configuration served to open-loop arrivals.

For a row of the matrix (``stream``, ``max_batch``): the pipeline behind the batcher, a load at the
scenario's rate (or an SLO search over rates), and what the plan asks of batching and streaming:
the time of one call over ``max_batch`` different texts against one text, and the streamed audio's
distance to the one-shot render of the same text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.config import RunConfig, ScenarioConfig, TextItem
from harness.errors import ConfigError
from harness.pipeline.synth import Synthesis, Synthesizer
from harness.quality.spectral import distances
from harness.results import RunSample
from harness.scenarios import Rows, Scenario, Timed
from harness.serving.arrivals import Arrival, schedule
from harness.serving.config import ServingConfig
from harness.serving.load import LoadOptions, records_json, run_load, summarize
from harness.serving.service import BatchOptions, BatchStats, PipelineService, Request, SpeakFn
from harness.serving.slo import SLO, search

if TYPE_CHECKING:
    from harness.table import Table

FIDELITY_TEXTS = 2  # streamed against one-shot: the texts with the most chunks


def pipeline_speaker(
    synth: Synthesizer, run: RunConfig, voice: TextItem, inject_slowdown: float = 0.0,
    on_call: Callable[[Synthesis, int], None] | None = None,
) -> SpeakFn:  # fmt: skip
    """The run's pipeline as a batcher's ``speak``: texts in one call, spoken in ``voice``'s
    reference; ``on_call(result, batch)`` sees every call (a sweep keeps each as a timed run)."""

    def speak(texts: list[str]) -> list[np.ndarray]:
        result = synth.synthesize_texts(
            voice.reference_audio, voice.reference_text, texts, nfe=run.nfe, cfg_strength=run.cfg_strength,
            sway_sampling_coef=run.sway_sampling_coef, seed=run.seed, use_epss=run.use_epss,
            frame_bucket=run.frame_bucket, inject_slowdown=inject_slowdown,
        )  # fmt: skip
        if on_call:
            on_call(result, len(texts))
        return result.pieces

    return speak


def suite_schedule(scenario: ScenarioConfig, serving: ServingConfig, suite_path: str, texts: list[tuple[str, str]],
                   rate: float | None = None) -> list[Arrival]:  # fmt: skip
    """A suite's arrivals for one load (``rate``: a search's, else the scenario's or the trace's)."""
    trace = serving.trace_path(suite_path) if serving.arrivals == "trace" else None
    return schedule(trace, serving.arrivals, scenario.rate_per_s, scenario.requests, scenario.seed, texts,
                    serving.burstiness, rate)  # fmt: skip


def warm_shapes(speak: SpeakFn, units: list[str], max_batch: int,
                bucket_of: Callable[[str], int] | None = None) -> dict[str, float]:  # fmt: skip
    """Untimed calls before any load, so that no shape's first compile or CUDA-graph capture is
    timed as some request's latency. Without ``bucket_of`` (eager rows): every batch size from 2 to
    ``max_batch``, the longest units. With it (compiled rows, frames padded to buckets, where a
    call's shape is its size and the bucket of its longest unit): every size from 1 to ``max_batch``
    at every bucket the units reach, each batch the bucket's longest unit and the shortest units.
    ``units`` are what the service speaks: texts, or a streamed row's chunks. Seconds each call
    took, by ``size`` or ``size x bucket`` (its first-time cost on a compiled row)."""
    spent: dict[str, float] = {}

    def call(key: str, batch: list[str]) -> None:
        began = time.perf_counter()
        speak(batch)
        spent[key] = round(time.perf_counter() - began, 4)

    longest = sorted(units, key=len, reverse=True)
    if bucket_of is None:
        for size in range(2, max_batch + 1):
            call(str(size), [longest[i % len(longest)] for i in range(size)])
        return spent
    shortest = longest[::-1]
    leads: dict[int, str] = {}
    for unit in longest:
        leads.setdefault(bucket_of(unit), unit)  # the longest unit of each bucket
    for bucket, lead in sorted(leads.items()):
        for size in range(1, max_batch + 1):
            call(f"{size}x{bucket}", [lead] + [shortest[i % len(shortest)] for i in range(size - 1)])
    return spent


def batch_scaling(speak: SpeakFn, texts: list[str], max_batch: int, repeats: int = 3) -> dict[str, Any]:
    """Median seconds of one call over ``max_batch`` different texts against one call over one
    text (each text of the batch once alone, then their mean): the plan's "4 in < 1.5x single"."""

    def seconds(batch: list[str]) -> float:
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            speak(batch)
            times.append(time.perf_counter() - began)
        return float(np.median(times))

    batch = [texts[i % len(texts)] for i in range(max_batch)]
    single = float(np.mean([seconds([text]) for text in batch]))
    together = seconds(batch)
    return {"batch": max_batch, "single_s": single, "batch_s": together, "ratio": together / single,
            "clock": "perf_counter around one call, median of 3"}  # fmt: skip


def stream_fidelity(service: PipelineService, speak: SpeakFn, texts: list[tuple[str, str]]) -> dict[str, Any]:
    """For the texts cut into the most chunks: the streamed audio (hand-overs joined) against the
    one-shot render of the same text (spectral distances; random weights make no speech, so the
    figures say whether chunking changes the audio, not how it sounds)."""
    chosen = sorted(texts, key=lambda item: -len(service.chunks(item[1])))[:FIDELITY_TEXTS]
    out: dict[str, Any] = {}
    for text_id, text in chosen:
        streamed: list[np.ndarray] = []
        service.handle(Request(0, text, text_id, 0.0), streamed.append)
        whole = speak([text])[0]
        out[text_id] = {"chunks": len(service.chunks(text))} | distances(whole, np.concatenate(streamed),
                                                                          service.sample_rate)  # fmt: skip
    return out


def serve_load(
    speak: SpeakFn,
    sample_rate: int,
    stream: bool,
    max_batch: int,
    scenario: ScenarioConfig,
    serving: ServingConfig,
    suite_path: str,
    texts: list[tuple[str, str]],
    untimed: SpeakFn,
    progress: Callable[[str], None] | None = None,
    bucket_of: Callable[[str], int] | None = None,
) -> dict[str, Any]:
    """The scenario's figures for one configuration, as stored in its record (``untimed``: the
    pipeline without recording its calls, for the warm-up of each shape; ``bucket_of``: a text's
    frame bucket, on a compiled row, ``warm_shapes``)."""
    service = PipelineService(
        speak, sample_rate, serving.stream_options(stream), BatchOptions(max_batch, serving.max_wait_ms)
    )
    options = LoadOptions(concurrency=max_batch, max_age_s=serving.max_age_s, max_seconds=serving.max_seconds)
    try:
        out: dict[str, Any] = {"kind": "load", "arrivals": serving.arrivals, "stream": stream, "max_batch": max_batch,
                               "max_wait_ms": serving.max_wait_ms, "max_age_s": serving.max_age_s}  # fmt: skip
        if max_batch > 1:
            units = [piece for _, text in texts for piece in service.chunks(text)] if stream else [t for _, t in texts]
            out["warm_batches_s"] = warm_shapes(untimed, units, max_batch, bucket_of)
            out["batch_scaling"] = batch_scaling(speak, [text for _, text in texts], max_batch)
        if stream:
            out["stream_fidelity"] = stream_fidelity(service, speak, texts)
        if serving.search_max_rate:
            slo = SLO(dict(serving.slo))

            def measure(rate: float) -> dict[str, Any]:
                if progress:
                    progress(f"load at {rate:.3g} req/s")
                return summarize(run_load(service, suite_schedule(scenario, serving, suite_path, texts, rate), options))

            out["search"] = search(measure, slo, serving.search_start_rate, serving.search_max_rate,
                                   serving.search_steps)  # fmt: skip
        service.batcher.stats = BatchStats()  # the batches of this load alone, not of the search's
        records = run_load(service, suite_schedule(scenario, serving, suite_path, texts), options)
        out["summary"] = summarize(records)
        if serving.slo:
            out["slo_misses"] = SLO(dict(serving.slo)).misses(out["summary"])
        out["requests"] = records_json(records)
        out["batches"] = {"sizes": service.batcher.stats.sizes, "seconds": service.batcher.stats.seconds}
        return out
    finally:
        service.close()


def timed_load(t: Timed) -> dict[str, Any]:
    """The load scenario's timed region: every synthesis call of the row (the loads', the batch
    timing's and the streaming check's) is one timed run of the record, named by its batch size."""
    if not isinstance(t.synth, Synthesizer):
        raise ConfigError("the load scenario batches different texts: the stock pipeline cannot")

    def timed_run(result: Synthesis, batch: int) -> None:
        t.record.runs.append(RunSample(result.total_s, result.audio_s, result.rtf, result.stages_s, f"batch{batch}"))
        t.record.clock = result.clock

    speak = pipeline_speaker(t.synth, t.run, t.suite.texts[0], t.inject_slowdown, timed_run)
    untimed = pipeline_speaker(t.synth, t.run, t.suite.texts[0], t.inject_slowdown)
    texts = [(item.id, item.text) for item in t.suite.texts]
    voice, synth, bucket = t.suite.texts[0], t.synth, t.run.frame_bucket

    def bucket_of(text: str) -> int:
        return synth.bucket(voice.reference_audio, voice.reference_text, text, bucket)

    compiled = t.run.compile_mode != "none" and bucket > 0
    return serve_load(speak, t.synth.sample_rate, t.run.stream, t.run.max_batch, t.suite.scenario, t.suite.serving,
                      t.suite.path, texts, untimed, bucket_of=bucket_of if compiled else None)  # fmt: skip


def load_figures(block: dict[str, Any]) -> dict[str, Any]:
    """What MLflow logs of a load: its summary's figures, the searched rate, the batch time ratio."""
    figures: dict[str, Any] = {k: v for k, v in block["summary"].items() if k not in ("counts", "errors")}
    figures["sustainable_rate_per_s"] = (block.get("search") or {}).get("sustainable_rate_per_s")
    figures["batch"] = {"time_ratio": (block.get("batch_scaling") or {}).get("ratio")}
    return figures


def _load_table(rows: Rows) -> Table | None:
    from harness.serving.report import load_table

    return load_table(rows)


SCENARIO = Scenario("load", timed_load, _load_table, load_figures)
