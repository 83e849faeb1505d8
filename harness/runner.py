"""Runs a suite's matrix: builds once, measures, writes results after every configuration, resumes."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.config import RunConfig, SuiteConfig, compile_cost_s
from harness.errors import HarnessError, first_line
from harness.gates import apply_cross_verdicts, threshold_verdicts
from harness.pipeline import flags
from harness.pipeline.build import check_device
from harness.pipeline.cache import BuildCache, peak_memory, reset_peak_memory
from harness.pipeline.stock import StockSynthesizer
from harness.pipeline.synth import Synthesis, Synthesizer
from harness.platform.sampler import Sampler
from harness.results import Record, Results, RunSample, utc_now
from harness.scenarios import serve
from harness.stats import Summary

if TYPE_CHECKING:
    from harness.parallel import Claims
    from harness.quality.assess import Assessor

log = logging.getLogger(__name__)
AnySynth = Synthesizer | StockSynthesizer
RoundsFn = Callable[[Callable[[], None], int], object]


def _loop(round_fn: Callable[[], None], rounds: int) -> None:
    for _ in range(rounds):
        round_fn()


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    resume: bool = False
    retry_failed: bool = False  # on resume, measure again the configurations that errored
    inject_slowdown: float = 0.0  # fraction of each call's time slept inside the timed region
    save_audio: bool = True
    progress: bool = True
    telemetry: bool = True  # sample clocks, temperature and power beside the timed runs
    tracking_uri: str | None = None  # log each finished configuration to MLflow (None: off)
    time_limit_s: float | None = None  # start no configuration expected to end past this (resumable)
    compile_artifacts: Path | None = None  # load torch.compiler artifacts beside it first, save them here
    claims: Claims | None = None  # a part of `run --gpus`: measure the build groups it claims
    first: frozenset[str] = frozenset()  # with claims: this part's shard, measured before the others'


# CUDA errors that leave the process's context unusable: every later call would fail the same way.
_CONTEXT_LOST = (
    "illegal memory access",
    "unspecified launch failure",
    "device-side assert",
    "misaligned address",
    "illegal instruction",
)


def context_lost(record: Record) -> bool:
    """Whether the configuration failed with an error that a fresh process alone recovers from."""
    message = str((record.error or {}).get("message", ""))
    return any(text in message for text in _CONTEXT_LOST)


def _error_record(record: Record, exc: BaseException) -> Record:
    import torch

    kind = "oom" if isinstance(exc, torch.cuda.OutOfMemoryError) else type(exc).__name__
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    message = " ".join(lines[:2]) if lines and lines[0].endswith(":") else (lines or [kind])[0]
    record.status = "error"
    record.error = {"type": kind, "message": message[:500]}
    if not isinstance(exc, HarnessError):
        record.error["traceback"] = "".join(traceback.format_exception(exc))[-2000:]
    if kind == "oom":
        torch.cuda.empty_cache()
    return record


class Runner:
    def __init__(self, suite: SuiteConfig, options: RunOptions) -> None:
        self.suite = suite
        self.options = options
        self.cache = BuildCache()
        self.reference_cache = BuildCache()  # the quality reference configuration's model
        self._renders: dict[tuple[str, int], np.ndarray] = {}
        self._warm: set[tuple[int, RunConfig]] = set()  # (model build number, the run at NFE 1)
        self._compile_scale: float | None = None  # largest seen / expected compile seconds so far
        self._assessor: Assessor | None = None
        self._tracking_failed = False
        self._flags_before = flags.current()  # restored after the sweep; "auto" attention keeps them
        self.on_round: Callable[[], None] | None = None
        self.on_rounds_planned: Callable[[int], None] | None = None
        self.cost = {"build_s": 0.0, "first_call_s": 0.0, "warmup_s": 0.0, "timed_s": 0.0, "other_s": 0.0}
        self.card = "unknown"  # the accelerator's name (fingerprint), for its roofline ceilings

    # ---- one configuration ---------------------------------------------------------------

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

    def synthesizer(self, run: RunConfig) -> AnySynth:
        """The run's pipeline on the cached (or newly built) model and vocoder."""
        flags.apply(run, self._flags_before)
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
            model, vocoder = synth.model, synth.vocoder
            built = self.cache.builds > builds_before
            if built:
                record.build_s = model.build_s
            record.weights_kind = model.weights.kind
            # Measured before on this very model but for its NFE: nothing left to compile or capture,
            # so the first call is a warm-up round already.
            warm_key = (self.cache.builds, replace(run, nfe=1))  # any NFE: the same shapes
            done = int(warm_key in self._warm and self.suite.timing.warmup > 0)
            with self._phase("first_call_s"):
                first = self.call(synth, run, 0)
            first.check_finite()
            record.first_call_s = first.total_s
            if built:
                self.observe_compile(run.compile_mode, record.first_call_s)
            with self._phase("warmup_s"):
                warm_rounds = self._warm_up(synth, run, done=done)
            record.warmup_runs = len(warm_rounds) + done
            # No warm-up: the first call (compile included) would size the rounds; use repeats.
            sizing = warm_rounds or ([record.first_call_s] if done else [])
            rounds = self.suite.timing.rounds(float(np.median(sizing)) if sizing else 0.0)
            if self.on_rounds_planned:
                self.on_rounds_planned(rounds)
            last: dict[int, Synthesis] = {}

            def one_request(index: int) -> None:
                result = self.call(synth, run, index, self.options.inject_slowdown)
                text = self.suite.texts[index].id
                record.runs.append(RunSample(result.total_s, result.audio_s, result.rtf, result.stages_s, text))
                record.clock = result.clock
                last[index] = result

            def one_round() -> None:
                for index in range(len(self.suite.texts)):
                    one_request(index)
                if self.on_round:
                    self.on_round()

            def timed() -> None:
                if self.suite.scenario.kind == "server":
                    texts = self.suite.texts
                    record.scenario = serve(
                        lambda i: one_request(i % len(texts)), self.suite.scenario, lambda i: texts[i % len(texts)].id
                    )
                else:
                    (timed_rounds or _loop)(one_round, rounds)

            reset_peak_memory(model.device)
            with self._phase("timed_s"):
                if self.options.telemetry:
                    sampler = Sampler(device_index=model.device.index or 0)
                    with sampler:
                        timed()
                    record.telemetry = sampler.summary(sum(r.audio_s for r in record.runs))
                else:
                    timed()
            for result in last.values():
                result.check_finite()
            self._warm.add(warm_key)
            record.memory = peak_memory(model.device)
            record.vocoder = dict(vocoder.info)
            if self.options.save_audio and last:
                record.samples = self._save_audio(run, last[0])
            record.summarize()
            record.roofline = self._roofline(run, record, synth, last)
            if self.suite.quality.enabled:
                record.quality = self._quality(run, synth, last)
            record.verdicts = threshold_verdicts(record, self.suite.thresholds)
        except Exception as exc:
            log.warning("%s failed: %s", run.id, exc)
            _error_record(record, exc)
        record.finished_utc = utc_now()
        return record

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

    @contextlib.contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        """Adds the block's seconds to the sweep cost, also when an error or Ctrl-C ends it."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.cost[name] += time.perf_counter() - t0

    def _reference_run(self, run: RunConfig) -> RunConfig:
        """The plain configuration a run's fidelity is measured against: the harness pipeline with the
        suite's reference precision, compile mode and vocoder, and none of the pipeline knobs."""
        q = self.suite.quality
        return replace(
            run,
            batch_size=1,
            pipeline="harness",
            ode_fp32=False,
            frame_bucket=0,
            cudnn_benchmark=False,
            attention="auto",
            pos_conv="conv",
            freezing=False,
            quant="none",
            precision=q.reference_precision,
            compile_mode=q.reference_compile,
            vocoder=q.reference_vocoder,
        )

    def _reference_render(self, ref_run: RunConfig, index: int) -> np.ndarray:
        """The reference configuration's waveform for one text (rendered once per sweep)."""
        key = (ref_run.full_id, index)
        if key not in self._renders:
            # The main cache already holds the reference model when the run shares its build key.
            cache = self.cache if self.cache.holds(ref_run) else self.reference_cache
            flags.apply(ref_run, self._flags_before)
            model, vocoder = cache.model(ref_run), cache.vocoder(ref_run, {})
            self._renders[key] = self.call(Synthesizer(model, vocoder), ref_run, index).waveform[0]
        return self._renders[key]

    def _quality(self, run: RunConfig, synth: AnySynth, last: dict[int, Synthesis]) -> dict[str, Any]:
        from harness.pipeline.audio import read_audio
        from harness.quality.assess import Assessor

        if self._assessor is None:
            self._assessor = Assessor(self.suite.quality, [t.text for t in self.suite.texts])
        indices = sorted(last)
        ref_run = self._reference_run(run)
        if ref_run == run:  # the run is its own reference: its last waveforms are the renders
            self._renders.update({(run.full_id, i): last[i].waveform[0] for i in indices})
        return self._assessor.assess(
            rate=synth.sample_rate,
            generated=[last[i].waveform[0] for i in indices],
            texts=[self.suite.texts[i].text for i in indices],
            references=[self._reference_render(ref_run, i) for i in indices],
            speakers=[read_audio(self.suite.texts[i].reference_audio) for i in indices],
            meaningful=synth.model.weights.kind != "random",
        )

    def _save_audio(self, run: RunConfig, result: Synthesis) -> list[str]:
        from harness.pipeline.audio import write_wav

        relative = f"samples/{run.full_id}.wav"
        write_wav(self.options.out_dir / relative, result.waveform[0], result.sample_rate)
        return [relative]

    # ---- the sweep -----------------------------------------------------------------------

    def track(self) -> None:
        """Best-effort live logging: results are on disk already; on the first failure, stop trying
        and leave the rest to ``tts-harness sync``."""
        if self.options.tracking_uri is None or self._tracking_failed:
            return
        from harness.tracking.mlflow_sync import sync

        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        try:
            sync(self.options.out_dir, self.options.tracking_uri)
        except Exception as exc:
            self._tracking_failed = True
            log.warning(
                "MLflow logging failed (%s); results stay in %s: run `tts-harness sync %s` later",
                first_line(exc),
                self.options.out_dir,
                self.options.out_dir,
            )

    def validate_inputs(self) -> None:
        """Fail fast, before any build, on what would fail every configuration alike."""
        from harness.pipeline.audio import read_audio
        from harness.pipeline.presets import get_preset
        from harness.pipeline.weights import resolve

        for device in sorted({r.device for r in self.suite.runs}):
            check_device(device)
        for model, weights in sorted({(r.model, r.weights) for r in self.suite.runs}):
            resolve(weights, get_preset(model))
        for item in self.suite.texts:
            read_audio(item.reference_audio)

    def start(self) -> Results:
        from harness.platform import fingerprint
        from harness.platform.software import git_info

        if self.options.resume:
            results = Results.load(self.options.out_dir)
            if results.suite.get("sha256") != self.suite.sha256:
                log.warning("suite file changed since the interrupted sweep; resuming anyway")
        else:
            results = Results(
                suite={
                    "name": self.suite.name,
                    "path": self.suite.path,
                    "sha256": self.suite.sha256,
                    "thresholds": _plain(self.suite.thresholds),
                    "timing": _plain(self.suite.timing),
                    "gate": _plain(self.suite.gate),
                    "matrix": self.suite.axes(),
                    "texts": [_plain(t) for t in self.suite.texts],
                },
                platform=fingerprint.collect(),
                git=git_info(),
                options={"inject_slowdown": self.options.inject_slowdown},
            )
        results.options["process"] = self.apply_process_settings()
        self.card = fingerprint.accelerator_name(results.platform)
        self.preflight(results)
        results.status = "running"
        results.save(self.options.out_dir)
        return results

    def preflight(self, results: Results) -> None:
        """Check the machine state before measuring; the suite's policy decides what follows."""
        from harness.errors import GateFailure
        from harness.platform.preflight import checks_from, preflight_text

        checks = checks_from(results.platform, self.suite.power_mode)
        bad = [c for c in checks if c.level == "critical"]
        results.platform["preflight"] = {
            "policy": self.suite.preflight,
            "checks": [c.as_dict() for c in checks],
            "passed": not bad,
        }
        if bad and self.suite.preflight == "fail":
            raise GateFailure("preflight failed: " + "; ".join(f"{c.name}: {c.message}" for c in bad))
        if bad and self.suite.preflight == "warn":
            log.warning("preflight:\n%s", preflight_text(checks))

    def apply_process_settings(self) -> dict[str, Any]:
        """Process-wide torch settings the suite asks for; recorded with the results."""
        import torch

        from harness.platform.compile_cache import compile_cache_state, load_compile_artifacts

        if self.suite.timing.threads:
            torch.set_num_threads(self.suite.timing.threads)
        torch.set_float32_matmul_precision(self.suite.timing.matmul_precision)
        started = time.perf_counter()
        for device in sorted({r.device for r in self.suite.runs if r.device.startswith("cuda")}):
            torch.zeros(1, device=device)  # the driver's and CUDA's start-up, counted as startup
            torch.cuda.synchronize(device)
        return {
            "device_init_s": round(time.perf_counter() - started, 3),
            "torch_threads": torch.get_num_threads(),
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "cudnn_deterministic": torch.backends.cudnn.deterministic,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            **compile_cache_state(),
            **(
                {"compile_artifacts_loaded": load_compile_artifacts(self.options.compile_artifacts.parent)}
                if self.options.compile_artifacts
                else {}
            ),
        }

    def expected_s(self, run: RunConfig) -> float:
        """Seconds a configuration is expected to take: its compile (none once built) at the cold
        estimate, scaled by the largest ratio of seen to expected compiles in this process, so a
        warm cache shortens the estimates and a slow machine lengthens them."""
        scale = 1.0 if self._compile_scale is None else self._compile_scale
        compile_s = 0.0 if self.cache.holds(run) else compile_cost_s(run.compile_mode) * scale
        return compile_s + self.suite.expected_config_s

    def restore_process_flags(self) -> None:
        """cuDNN's and the attention flags as they were before this runner's first configuration."""
        flags.restore(self._flags_before)

    def _claim_order(self, todo: list[RunConfig]) -> list[RunConfig]:
        """This part's shard in the usual order, then the other parts' builds, costliest first: a
        part that has finished its own takes what the others have not started."""
        groups = self.suite.build_groups()
        own = [r for r in todo if r.id in self.options.first]
        others = sorted(
            (r for r in todo if r.id not in self.options.first),
            key=lambda r: (-self.suite.group_cost_s(groups[r.build_group]), r.build_group, r.nfe, r.vocoder),
        )
        return own + others

    def observe_compile(self, mode: str, first_call_s: float) -> None:
        """Record a new build's first call against the cold estimate of its compile mode."""
        expected = compile_cost_s(mode)
        if expected > 0:
            ratio = first_call_s / expected
            self._compile_scale = ratio if self._compile_scale is None else max(self._compile_scale, ratio)

    def run(self, process_start: float | None = None) -> Results:
        """Measure every configuration not yet in the results; ``process_start`` (a
        ``perf_counter`` value) makes the startup before the loop part of the sweep's cost."""
        from harness.platform.compile_cache import fx_graph_cache_counts, save_compile_artifacts

        started = time.perf_counter() if process_start is None else process_start
        self.validate_inputs()
        results = self.start()
        before = dict(results.sweep_cost_s)  # what earlier processes of a resumed sweep spent
        done = {r.id for r in results.records if r.status == "ok" or not self.options.retry_failed}
        # Builds that compile quickly first: a sweep cut short by a time limit has measured the most
        # configurations, and its resume starts with the long compiles.
        todo = sorted(
            (r for r in self.suite.runs if r.id not in done),
            key=lambda r: (compile_cost_s(r.compile_mode), r.build_key, r.nfe, r.vocoder),
        )
        claims = self.options.claims
        planned = set(results.suite.get("planned", []))
        if claims is None:
            planned.update(r.id for r in self.suite.runs)
        else:
            todo = self._claim_order(todo)
        results.suite["planned"] = sorted(planned)
        self.cost["startup_s"] = time.perf_counter() - started
        bar = _Progress(len(todo), self.suite.timing.repeats, self.options.progress)
        self.on_rounds_planned = bar.plan_runs

        def cost(wall: float | None = None) -> dict[str, float]:
            mine = dict(self.cost)
            if wall is not None:
                mine["wall_s"] = wall
                mine["other_s"] = max(0.0, wall - sum(v for k, v in mine.items() if k not in ("other_s", "wall_s")))
            total = {k: before.get(k, 0.0) + mine.get(k, 0.0) for k in {*before, *mine}}
            total["processes"] = before.get("processes", 0.0) + 1
            total["model_builds"] = before.get("model_builds", 0.0) + self.cache.builds
            for key, count in fx_graph_cache_counts().items():
                total[key] = before.get(key, 0.0) + count
            return total

        deadline = None if self.options.time_limit_s is None else started + self.options.time_limit_s
        left: list[RunConfig] = []
        results.options.pop("stop_reason", None)
        try:
            for position, run in enumerate(todo):
                if claims is not None and claims.owner(run.build_group) not in (None, claims.part):
                    bar.next_config()  # another part measures it
                    continue
                if deadline is not None and time.perf_counter() + self.expected_s(run) > deadline:
                    left.append(run)  # its compile would not fit: a resume measures it
                    results.options["stop_reason"] = "time limit"
                    bar.next_config()
                    continue
                if claims is not None and not claims.take(run.build_group):
                    bar.next_config()  # another part started it a moment ago
                    continue
                planned.add(run.id)
                results.suite["planned"] = sorted(planned)
                bar.set_description(run.id)
                self.on_round = lambda: bar.update_runs(1)
                record = self.measure(run)
                results.upsert(record)
                apply_cross_verdicts(results.records, self.suite.thresholds)
                results.sweep_cost_s = cost()  # kept if killed
                results.save(self.options.out_dir)
                self.track()
                bar.next_config()
                if context_lost(record):
                    left.extend(todo[position + 1 :])
                    results.options["stop_reason"] = f"CUDA context lost at {run.id}"
                    log.error("%s left the CUDA context unusable: stopping; a fresh process measures the rest", run.id)
                    break
            if claims is not None:  # what another part took after this one left it is not left
                left = [r for r in left if claims.owner(r.build_group) in (None, claims.part)]
            results.suite["planned"] = sorted(planned.union(r.id for r in left))
            results.status = "stopped" if left else "complete"
        except KeyboardInterrupt:
            results.status = "interrupted"
            raise
        finally:
            bar.close()
            self.restore_process_flags()
            if self.options.compile_artifacts:
                try:
                    saved = save_compile_artifacts(self.options.compile_artifacts)
                except Exception as exc:  # the results matter more than the artifacts: keep going
                    log.warning("compile artifacts not saved: %s", first_line(exc))
                    saved = None
                if saved:
                    results.options["compile_artifacts_saved"] = saved
            results.sweep_cost_s = cost(wall=time.perf_counter() - started)
            results.finished_utc = utc_now()
            results.save(self.options.out_dir)
        self.track()
        return results


def _plain(obj: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj


class _Progress:
    """Two tqdm bars on stderr: configurations, and timed runs of the current one."""

    def __init__(self, configs: int, repeats: int, enabled: bool) -> None:
        from tqdm import tqdm

        self.configs = tqdm(total=configs, unit="config", position=0, disable=not enabled, leave=True)
        self.runs = tqdm(total=repeats, unit="run", position=1, disable=not enabled, leave=False)

    def set_description(self, text: str) -> None:
        self.configs.set_description(text)

    def plan_runs(self, total: int) -> None:
        self.runs.reset(total=total)

    def update_runs(self, n: int) -> None:
        self.runs.update(n)

    def next_config(self) -> None:
        self.configs.update(1)
        self.runs.reset()

    def close(self) -> None:
        self.runs.close()
        self.configs.close()
