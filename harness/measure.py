"""One configuration, measured: build (or reuse), first call, warm-up, timed calls, then what the
calls say about quality and the roofline. Returns a ``Record``; thresholds judge it elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness import scenarios
from harness.config import RunConfig, SuiteConfig
from harness.errors import HarnessError
from harness.fidelity import References
from harness.pipeline import flags
from harness.pipeline.cache import BuildCache, peak_memory, reset_peak_memory
from harness.pipeline.stock import StockSynthesizer
from harness.pipeline.synth import Synthesis, Synthesizer
from harness.platform.sampler import Sampler
from harness.results import Record, RunSample, utc_now
from harness.scenarios import Timed
from harness.stats import Summary

log = logging.getLogger(__name__)
AnySynth = Synthesizer | StockSynthesizer
RoundsFn = Callable[[Callable[[], None], int], object]
COST_PHASES = ("build_s", "first_call_s", "warmup_s", "timed_s")


def _loop(round_fn: Callable[[], None], rounds: int) -> None:
    for _ in range(rounds):
        round_fn()


@dataclass(frozen=True)
class MeasureOptions:
    out_dir: Path  # audio samples go under it
    inject_slowdown: float = 0.0  # fraction of each timed call spent in a busy wait inside the timed region
    save_audio: bool = True
    telemetry: bool = True  # sample clocks, temperature and power beside the timed calls


def compiled_graphs() -> int:
    """Graphs Dynamo has compiled in this process so far."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def error_record(record: Record, exc: BaseException) -> Record:
    """The configuration's result when it failed: the error's type and one-line message."""
    import torch

    kind = "oom" if isinstance(exc, torch.cuda.OutOfMemoryError) else type(exc).__name__
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    message = " ".join(lines[:2]) if lines and lines[0].endswith(":") else (lines or [kind])[0]
    if kind == "FailOnRecompileLimitHit":
        message = (
            f"Dynamo's recompile limit ({flags.RECOMPILE_LIMIT} graphs per function) was reached: past it "
            "the model would run uncompiled; fewer text lengths or frame buckets (frame_bucket) bound the shapes"
        )
    record.status = "error"
    record.error = {"type": kind, "message": message[:500]}
    if not isinstance(exc, HarnessError):
        record.error["traceback"] = "".join(traceback.format_exception(exc))[-2000:]
    if kind == "oom":
        torch.cuda.empty_cache()
    return record


class Measurer:
    """Measures configurations of one suite, keeping the model build between those that share it."""

    def __init__(self, suite: SuiteConfig, options: MeasureOptions) -> None:
        self.suite = suite
        self.options = options
        self.cache = BuildCache()
        self.flags_before = flags.current()  # restored after the sweep; "auto" attention keeps them
        self.references = References(suite, self.flags_before)
        self._warm: set[tuple[int, RunConfig]] = set()  # (model build number, the run at NFE 1)
        self.card = "unknown"  # the accelerator's name (fingerprint), for its roofline ceilings
        self.cost = dict.fromkeys(COST_PHASES, 0.0)
        self.on_round: Callable[[], None] | None = None
        self.on_rounds_planned: Callable[[int], None] | None = None

    def call(self, synth: AnySynth, run: RunConfig, text_index: int, slowdown: float = 0.0) -> Synthesis:
        """One synthesis of the suite's text ``text_index`` (``slowdown``: a known delay inside the timed region)."""
        item = self.suite.texts[text_index]
        return synth.synthesize(
            item.reference_audio,
            item.reference_text,
            item.text,
            nfe=run.nfe,
            cfg_strength=run.cfg_strength,
            sway_sampling_coef=run.sway_sampling_coef,
            seed=run.seed,
            use_epss=run.use_epss,
            duration_s=item.duration_s,
            batch_size=run.batch_size,
            frame_bucket=run.frame_bucket,
            inject_slowdown=slowdown,
        )

    def synthesizer(self, run: RunConfig) -> AnySynth:
        """The run's pipeline on the cached (or newly built) model and vocoder."""
        flags.apply(run, self.flags_before)
        model = self.cache.model(run)
        vocoder = self.cache.vocoder(run, self.suite.vocoder_options.get(run.vocoder, {}))
        return (StockSynthesizer if run.pipeline == "stock" else Synthesizer)(model, vocoder)

    def prepared(self, run: RunConfig) -> AnySynth:
        """For tools that measure outside a sweep: the synthesizer after the untimed first call and
        the suite's warm-up, as ``measure`` makes them."""
        synth = self.synthesizer(run)
        self.call(synth, run, 0)
        self._warm_up(synth, run)
        return synth

    def restore_process_flags(self) -> None:
        """cuDNN's and the attention flags as they were before the first configuration."""
        flags.restore(self.flags_before)

    def measure(self, run: RunConfig, timed_rounds: RoundsFn | None = None) -> Record:
        """Build (or reuse), first call, warm up, time; never raises for a failing configuration.

        ``timed_rounds(round_fn, rounds)`` calls ``round_fn`` ``rounds`` times: by default a plain
        loop; the pytest plugin passes pytest-benchmark's ``pedantic`` so it sees the same calls.
        """
        record = Record(id=run.id, config=run.as_dict(), started_utc=utc_now())
        try:
            builds_before = self.cache.builds
            with self._phase("build_s"):
                synth = self.synthesizer(run)
            if self.cache.builds > builds_before:
                record.build_s = synth.model.build_s
            record.weights_kind = synth.model.weights.kind
            rounds, warm_key = self._first_and_warm_up(synth, run, record)
            last = self._timed(synth, run, record, rounds, timed_rounds)
            self._warm.add(warm_key)
            self._describe(synth, run, record, last)
        except Exception as exc:
            log.warning("%s failed: %s", run.id, exc)
            error_record(record, exc)
        record.finished_utc = utc_now()
        return record

    def _first_and_warm_up(self, synth: AnySynth, run: RunConfig, record: Record) -> tuple[int, tuple[int, RunConfig]]:
        """The first call (compilation included) and the warm-up; returns the timed rounds to run."""
        # Measured before on this very model but for its NFE: nothing left to compile or capture,
        # so the first call is a warm-up round already.
        warm_key = (self.cache.builds, replace(run, nfe=1))  # any NFE: the same shapes
        done = int(warm_key in self._warm and self.suite.timing.warmup > 0)
        graphs_before = compiled_graphs()
        with self._phase("first_call_s"):
            # Each text's first call: a compiled model compiles (and captures) once per frame count.
            firsts = [self.call(synth, run, index) for index in range(len(self.suite.texts))]
        for first in firsts:
            first.check_finite()
        record.first_call_s = sum(first.total_s for first in firsts)
        with self._phase("warmup_s"):
            warm_rounds = self._warm_up(synth, run, done=done)
        record.warmup_runs = len(warm_rounds) + done
        record.compiled_graphs = compiled_graphs() - graphs_before
        # No warm-up: the first call (compile included) would size the rounds; use repeats.
        sizing = warm_rounds or ([record.first_call_s] if done else [])
        return self.suite.timing.rounds(float(np.median(sizing)) if sizing else 0.0), warm_key

    def _timed(
        self, synth: AnySynth, run: RunConfig, record: Record, rounds: int, timed_rounds: RoundsFn | None
    ) -> dict[int, Synthesis]:
        """The timed calls (rounds over the texts, or the server scenario); the last result per text."""
        if self.on_rounds_planned:
            self.on_rounds_planned(rounds)
        texts = self.suite.texts
        last: dict[int, Synthesis] = {}

        def one_request(index: int) -> None:
            result = self.call(synth, run, index, self.options.inject_slowdown)
            record.runs.append(RunSample(result.total_s, result.audio_s, result.rtf, result.stages_s, texts[index].id))
            record.clock = result.clock
            last[index] = result

        def one_round() -> None:
            for index in range(len(texts)):
                one_request(index)
            if self.on_round:
                self.on_round()

        scenario = scenarios.get(self.suite.scenario.kind)
        region = Timed(one_request, one_round, rounds, timed_rounds or _loop, self.suite, run, synth, record,
                       self.options.inject_slowdown)  # fmt: skip

        def timed() -> None:
            record.scenario = scenario.timed(region) or {}

        device = synth.model.device
        reset_peak_memory(device)
        graphs_before = compiled_graphs()
        with self._phase("timed_s"):
            if self.options.telemetry:
                sampler = Sampler(device_index=device.index or 0)
                with sampler:
                    timed()
                record.telemetry = sampler.summary(sum(r.audio_s for r in record.runs))
            else:
                timed()
        record.memory = peak_memory(device)
        if (late := compiled_graphs() - graphs_before) > 0:
            raise HarnessError(
                f"compiled during the timed calls ({late} graph{'s' * (late > 1)}): the timings include "
                "compilation; every shape a timed call meets must be compiled by the first calls"
            )
        for result in last.values():
            result.check_finite()
        return last

    def _describe(self, synth: AnySynth, run: RunConfig, record: Record, last: dict[int, Synthesis]) -> None:
        """Statistics, audio, roofline and quality from the timed calls."""
        record.vocoder = dict(synth.vocoder.info)
        if self.options.save_audio and last:
            record.samples = self._save_audio(run, last[0])
        record.summarize()
        record.roofline = self._roofline(run, record, synth, last)
        if self.suite.quality.enabled:
            record.quality = self.references.quality(run, synth, last, self.cache, self.call)

    def _warm_up(self, synth: AnySynth, run: RunConfig, done: int = 0) -> list[float]:
        """Untimed rounds until ``warmup`` (``done`` of them counted already; and, if asked, a stable
        CV); returns each round's seconds."""
        timing = self.suite.timing
        totals: list[float] = []
        rounds: list[float] = []
        count = done
        while count < timing.max_warmup:
            if count >= timing.warmup and (not timing.until_stable or self._stable(totals)):
                break
            t0 = time.perf_counter()
            for index in range(len(self.suite.texts)):
                totals.append(self.call(synth, run, index).total_s)
            rounds.append(time.perf_counter() - t0)
            count += 1
        return rounds

    def _stable(self, totals: list[float]) -> bool:
        last = totals[-3 * len(self.suite.texts) :]
        return len(last) >= 3 and Summary.of(last).cv < self.suite.timing.stable_cv

    def _roofline(self, run: RunConfig, record: Record, synth: AnySynth, last: dict[int, Synthesis]) -> dict[str, Any]:
        """FLOPs per step at each text's shapes against the card: how far the row is from its floor."""
        from harness.roofline import roofline

        texts = len(self.suite.texts)
        if record.rtf is None:
            return {}
        calls = []
        for index in range(texts):
            shape = last[index].shape if index in last else None
            if shape is None:
                return {}
            ode = [r.stages_s["ode"] for r in record.runs[index::texts] if "ode" in r.stages_s]
            calls.append((shape, float(np.median(ode)) if ode else None, last[index].audio_s))
        return roofline(
            model=run.model,
            vocab_size=len(synth.model.vocab_char_map),
            calls=calls,
            nfe=run.nfe,
            precision=run.precision,
            quant=run.quant,
            matmul_precision=self.suite.timing.matmul_precision,
            card_name=self.card,
            override=self.suite.roofline,
            rtf=record.rtf["median"],
        )

    def _save_audio(self, run: RunConfig, result: Synthesis) -> list[str]:
        from harness.pipeline.audio import write_wav

        relative = f"samples/{run.full_id}.wav"
        write_wav(self.options.out_dir / relative, result.waveform[0], result.sample_rate)
        return [relative]

    @contextlib.contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        """Adds the block's seconds to the sweep cost, also when an error or Ctrl-C ends it."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.cost[name] += time.perf_counter() - t0


def ready_measurer(suite: SuiteConfig) -> Measurer:
    """A measurer for tools that measure outside a sweep: inputs checked, process settings applied."""
    from harness.platform.process import apply_process_settings, validate_inputs

    validate_inputs(suite)
    apply_process_settings(suite)
    return Measurer(suite, MeasureOptions(out_dir=Path("."), save_audio=False, telemetry=False))
