"""Typed suite and run configuration, each dataclass validating its own values; reading the TOML
file that makes one is ``suite_file``'s."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from harness.choices import check_choice, check_field_types
from harness.errors import ConfigError
from harness.pipeline.quant import QUANTS
from harness.sequential import GatePolicy
from harness.serving.config import ServingConfig

PRECISIONS = ("fp32", "fp16", "bf16", "amp-fp16", "amp-bf16")
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
MODEL_PRESETS = ("tiny", "f5tts_v1_base")
PREFLIGHT_POLICIES = ("fail", "warn", "tag")
PIPELINES = ("harness", "stock")
# Scaled-dot-product attention kernels a configuration may allow ("auto": torch's own choice).
ATTENTION_BACKENDS = ("auto", "flash", "efficient", "cudnn", "math")
_CUDA_ONLY_ATTENTION = ("efficient", "cudnn")
# The DiT's position-embedding convolutions: torch's Conv1d, or one GEMM per group and a shifted sum.
POS_CONVS = ("conv", "gemm")
# Matrix axes the command line and the pytest plugin filter on: field -> (option, what it keeps).
NARROWING = {
    "nfe": ("--nfe", "NFE values, e.g. 8,16"),
    "precision": ("--precision", "precisions"),
    "compile_mode": ("--compile", "compile modes"),
    "vocoder": ("--vocoder", "vocoder backends"),
    "device": ("--device", "devices"),
    "attention": ("--attention", "attention backends"),
    "pos_conv": ("--pos-conv", "position-convolution forms (conv, gemm)"),
    "quant": ("--quant", "quantizations (none, int8-weight, int8-dynamic, fp8)"),
    "pipeline": ("--pipeline", "pipelines (harness, stock: f5-tts's own inference path)"),
}
# Limits said before a sweep starts, rather than found by torch mid-sweep.
MAX_NFE = 1000  # f5-tts uses 8-64; thousands only exhaust time
MAX_TEXT_CHARS = 2000  # one call's text; f5-tts's own pipeline chunks longer texts
MAX_THREADS = 256  # torch intra-op threads
_TEXT_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DEVICE_RE = re.compile(r"^(cpu|cuda(:\d+)?)$")


def check_device(value: str) -> str:
    if not _DEVICE_RE.match(value):
        raise ConfigError(f"unknown device {value!r}; use 'cpu', 'cuda' or 'cuda:N'")
    return value


def check_weights(value: str) -> str:
    if value in ("random", "hf") or (value.startswith("path:") and len(value) > 5):
        return value
    raise ConfigError(f"unknown weights {value!r}; use 'random', 'hf' or 'path:<file or dir>'")


@dataclass(frozen=True)
class RunConfig:
    """One point of the matrix: everything that decides what is synthesized and how."""

    model: str = "tiny"
    weights: str = "random"
    nfe: int = 8
    precision: str = "fp32"
    compile_mode: str = "none"
    vocoder: str = "torch"
    device: str = "cpu"
    cfg_strength: float = 2.0
    sway_sampling_coef: float = -1.0
    use_epss: bool = True
    seed: int = 0
    batch_size: int = 1
    pipeline: str = "harness"  # "stock": f5-tts's own infer_batch_process, the reference row
    ode_fp32: bool = False  # keep noise, conditioning and the ODE time grid in fp32 around low-precision weights
    frame_bucket: int = 0  # pad the generated frame count up to a multiple of this (0: off)
    cudnn_benchmark: bool = False  # let cuDNN time its convolution algorithms (DiT's grouped conv)
    attention: str = "auto"  # the one SDPA kernel allowed (flash, efficient, cudnn, math), or torch's choice
    pos_conv: str = "conv"  # "gemm": the position-embedding convolutions as one GEMM and a shifted sum
    freezing: bool = False  # Inductor's freezing: weights as constants, what depends on them alone folded
    quant: str = "none"  # torchao on the DiT's per-frame linears: int8-weight, int8-dynamic or fp8
    stream: bool = False  # load scenario: text in chunks, each handed over as made
    max_batch: int = 1  # load scenario: the dynamic batcher's largest batch (1: one request at a time)

    def __post_init__(self) -> None:
        check_field_types(self, "[matrix]/[synthesis]")
        check_choice("model preset", self.model, MODEL_PRESETS)
        check_weights(self.weights)
        if not isinstance(self.nfe, int) or isinstance(self.nfe, bool) or not 1 <= self.nfe <= MAX_NFE:
            raise ConfigError(f"NFE must be an integer 1-{MAX_NFE}, got {self.nfe!r}")
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("compile mode", self.compile_mode, COMPILE_MODES)
        check_device(self.device)
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        check_choice("pipeline", self.pipeline, PIPELINES)
        check_choice("pos_conv", self.pos_conv, POS_CONVS)
        check_choice("quant", self.quant, QUANTS)
        if self.freezing and self.compile_mode == "none":
            raise ConfigError("freezing is an Inductor option: it needs a compile mode other than 'none'")
        if self.pipeline == "stock" and (
            self.batch_size != 1 or self.frame_bucket or self.ode_fp32 or self.pos_conv != "conv"
        ):
            raise ConfigError("the stock pipeline takes no batch_size, frame_bucket, ode_fp32 or pos_conv")
        check_choice("attention backend", self.attention, ATTENTION_BACKENDS)
        if self.attention in _CUDA_ONLY_ATTENTION and self.device == "cpu":
            raise ConfigError(
                f"attention {self.attention!r} is a CUDA kernel: use 'auto', 'flash' or 'math' on the CPU"
            )
        if not isinstance(self.max_batch, int) or not 1 <= self.max_batch <= 64:
            raise ConfigError(f"max_batch must be an integer 1-64, got {self.max_batch!r}")
        if not isinstance(self.frame_bucket, int) or self.frame_bucket < 0:
            raise ConfigError(f"frame_bucket must be an integer >= 0, got {self.frame_bucket!r}")
        from harness.vocoders import registry  # local: registry imports nothing heavy

        registry.check_name(self.vocoder)

    @property
    def build_key(self) -> tuple[str, str, str, str, str, str]:
        """What a model build depends on: NFE, texts and vocoder reuse the same build."""
        # cuDNN's and the attention kernel's choices are captured into CUDA graphs and compiled
        # models: a build per setting.
        flags = f"{self.ode_fp32}-{self.cudnn_benchmark}" + ("" if self.attention == "auto" else f"-{self.attention}")
        if self.pos_conv != "conv":
            flags += f"-{self.pos_conv}"
        if self.freezing:
            flags += "-frozen"
        if self.quant != "none":
            flags += f"-{self.quant}"
        return (self.model, self.weights, self.precision, self.compile_mode, self.device, flags)

    @property
    def build_group(self) -> tuple[str, ...]:
        """The configurations one process measures together: one model build and pipeline."""
        return (*self.build_key, self.pipeline)

    @property
    def id(self) -> str:
        """Readable, stable test id, e.g. ``nfe8-fp16-compile_default-voc_torch``."""
        parts = [f"nfe{self.nfe}", self.precision, f"compile_{self.compile_mode}", f"voc_{self.vocoder}"]
        if self.batch_size != 1:
            parts.append(f"bs{self.batch_size}")
        if self.ode_fp32:
            parts.append("odefp32")
        if self.frame_bucket:
            parts.append(f"bucket{self.frame_bucket}")
        if self.cudnn_benchmark:
            parts.append("cudnnbench")
        if self.attention != "auto":
            parts.append(f"attn_{self.attention}")
        if self.pos_conv != "conv":
            parts.append(f"posconv_{self.pos_conv}")
        if self.freezing:
            parts.append("frozen")
        if self.quant != "none":
            parts.append(f"quant_{self.quant}")
        if self.pipeline != "harness":
            parts.append(self.pipeline)
        if self.stream:
            parts.append("stream")
        if self.max_batch != 1:
            parts.append(f"mb{self.max_batch}")
        return "-".join(parts)

    @property
    def full_id(self) -> str:
        """Unique across every axis: the id plus model, weights and device."""
        weights = "path" if self.weights.startswith("path:") else self.weights
        return f"{self.id}-{self.model}-{weights}-{self.device.replace(':', '')}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TextItem:
    """A sentence to speak, with the reference speech (audio + its transcript) that conditions it."""

    id: str
    text: str
    reference_audio: str
    reference_text: str
    duration_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("id", "text", "reference_audio", "reference_text"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"[[texts]] {name} must be a string, got {getattr(self, name)!r:.40}")
        if not _TEXT_ID_RE.fullmatch(self.id):
            raise ConfigError(
                f"text id {self.id!r} must be 1-64 letters, digits, '.', '_' or '-' (it names files and rows)"
            )
        if self.duration_s is not None and (
            isinstance(self.duration_s, bool) or not isinstance(self.duration_s, (int, float)) or self.duration_s <= 0
        ):
            raise ConfigError(
                f"text {self.id!r}: duration_s must be a number of seconds > 0, got {self.duration_s!r:.40}"
            )
        if not self.text.strip():
            raise ConfigError(f"text {self.id!r} is empty")
        if len(self.text) > MAX_TEXT_CHARS:
            raise ConfigError(
                f"text {self.id!r} has {len(self.text)} characters; at most {MAX_TEXT_CHARS} are synthesized in "
                "one call: split it into several [[texts]]"
            )
        if not self.reference_text.strip():
            raise ConfigError(
                f"text {self.id!r}: reference_text is empty (f5-tts would download Whisper to transcribe)"
            )


@dataclass(frozen=True)
class TimingConfig:
    warmup: int = 1
    repeats: int = 3
    # pytest-benchmark's max_time: repeat until this many seconds are timed (at least ``repeats``
    # rounds, at most ``max_repeats``), rounds sized from the warm-up median. 0: ``repeats`` only.
    min_time_s: float = 0.0
    max_repeats: int = 1000
    until_stable: bool = False
    stable_cv: float = 0.05
    max_warmup: int = 10
    threads: int | None = None  # torch intra-op threads (CPU runs); None keeps torch's default
    matmul_precision: str = "highest"  # torch.set_float32_matmul_precision: "high" allows TF32

    def rounds(self, round_s: float) -> int:
        """Timed rounds for a configuration whose warm-up rounds took ``round_s`` (median)."""
        if self.min_time_s <= 0 or round_s <= 0:
            return self.repeats
        return max(self.repeats, min(self.max_repeats, math.ceil(self.min_time_s / round_s)))

    def __post_init__(self) -> None:
        check_field_types(self, "[timing]")
        if self.warmup < 0 or self.repeats < 1 or self.max_warmup < self.warmup:
            raise ConfigError("timing needs warmup >= 0, repeats >= 1 and max_warmup >= warmup")
        if self.min_time_s < 0 or self.max_repeats < self.repeats:
            raise ConfigError("timing needs min_time_s >= 0 and max_repeats >= repeats")
        check_choice("matmul_precision", self.matmul_precision, ("highest", "high", "medium"))
        if self.threads is not None and not 1 <= self.threads <= MAX_THREADS:
            raise ConfigError(f"timing.threads must be 1-{MAX_THREADS}, got {self.threads}")


@dataclass(frozen=True)
class Level:
    """Three-level threshold: below warning is good, above critical fails."""

    warning: float
    critical: float

    def __post_init__(self) -> None:
        for name in ("warning", "critical"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ConfigError(f"threshold {name} must be a number, got {value!r}")
        if self.warning > self.critical:
            raise ConfigError(f"threshold warning {self.warning} is above critical {self.critical}")


@dataclass(frozen=True)
class Thresholds:
    rtf: Level | None = None
    cv: Level | None = None
    vocoder_snr_db_min: float | None = None
    max_wer: float | None = None
    max_wer_increase: float | None = None
    max_mcd_db: float | None = None
    max_lsd_db: float | None = None
    min_speaker_similarity: float | None = None
    max_mos_drop: float | None = None  # DNSMOS overall of the reference render minus this row's (the plan: 0.2)
    max_utmos_drop: float | None = None  # UTMOS of the reference render minus this row's (where its weights exist)
    min_pesq_wb: float | None = None  # PESQ-WB against the reference render (real weights only)
    min_stoi: float | None = None  # STOI against the reference render (real weights only)
    min_quant_speedup: float | None = None  # a quantized row against its unquantized twin (RTF ratio)
    max_batch_time_ratio: float | None = None  # load: one call over max_batch texts / one text (the plan: 1.5)
    max_ttfa_p99_s: float | None = None  # load: p99 time to first audio at the scenario's rate
    min_rate_per_min: float | None = None  # load: sustainable (searched) or served requests per minute (the plan: 10)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if (
                f.name not in ("rtf", "cv")
                and value is not None
                and (not isinstance(value, (int, float)) or isinstance(value, bool))
            ):
                raise ConfigError(f"threshold {f.name} must be a number, got {value!r}")


@dataclass(frozen=True)
class RooflineConfig:
    """``[roofline]``: the card's ceilings where the table has none, or others than it has."""

    card: str | None = None  # a label for the override
    tflops: float | dict[str, float] | None = None  # one peak, or one per format (fp16, bf16, int8, ...)
    bandwidth_gbs: float | None = None

    def __post_init__(self) -> None:
        values = self.tflops.values() if isinstance(self.tflops, dict) else [self.tflops]
        for value in [*values, self.bandwidth_gbs]:
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                raise ConfigError(f"[roofline] peaks must be positive numbers, got {value!r}")


@dataclass(frozen=True)
class ScenarioConfig:
    """``[scenario]``: a registered scenario (``harness/scenarios.py``): single-stream (default),
    offline (batched), server (Poisson arrivals, one worker) or load (open-loop arrivals against the
    streaming, batching service: ``[serving]``)."""

    kind: str = "single-stream"
    rate_per_s: float = 1.0
    requests: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        check_field_types(self, "[scenario]")
        from harness import scenarios  # local: the registry imports config

        scenarios.SCENARIOS.check_name(self.kind)
        if self.rate_per_s <= 0 or self.requests < 1:
            raise ConfigError("scenario needs rate_per_s > 0 and requests >= 1")


@dataclass(frozen=True)
class QualityConfig:
    """Quality proxies computed after the timed runs (``[quality]`` in a suite)."""

    enabled: bool = False
    asr: str = "pocketsphinx"
    asr_mode: str = "grammar"
    asr_model: str | None = None
    speaker: str | None = "resemblyzer"
    mos: str = "dnsmos"  # the MOS estimate: dnsmos (offline, ONNX) or none
    intrusive: bool = True  # PESQ-WB and STOI against the reference render (real weights only)
    utmos: bool = False  # UTMOS as well, where its weights are in the torch.hub cache (else n/a with why)
    metrics: tuple[str, ...] = ()  # more registered quality metrics by name (harness/quality/registry.py)
    reference_precision: str = "fp32"
    reference_compile: str = "none"
    reference_vocoder: str = "torch"

    def __post_init__(self) -> None:
        check_field_types(self, "[quality]")
        from harness.quality import asr, speaker  # local: light once numpy is loaded

        check_choice("ASR backend", self.asr, asr.names())
        check_choice("pocketsphinx mode", self.asr_mode, ("grammar", "open"))
        check_choice("MOS estimate", self.mos, ("dnsmos", "none"))
        if not isinstance(self.metrics, (list, tuple)) or not all(isinstance(m, str) for m in self.metrics):
            raise ConfigError(f"[quality] metrics must be a list of metric names, got {self.metrics!r:.60}")
        object.__setattr__(self, "metrics", tuple(self.metrics))
        from harness.quality import registry as metrics  # local: the registries import nothing heavy

        for name in self.metrics:
            metrics.check_name(name)
        if self.speaker not in (None, "none"):
            speaker.check_name(str(self.speaker))
        check_choice("reference precision", self.reference_precision, PRECISIONS)
        check_choice("reference compile mode", self.reference_compile, COMPILE_MODES)
        from harness.vocoders import registry  # local: registry imports nothing heavy

        registry.check_name(self.reference_vocoder)

    def metric_names(self) -> list[str]:
        """The registered audio-quality metrics this suite computes, in order."""
        switched = ["mos"] * (self.mos != "none") + ["intrusive"] * self.intrusive + ["utmos"] * self.utmos
        return list(dict.fromkeys([*switched, *self.metrics]))

    @property
    def reference(self) -> dict[str, str]:
        return {
            "precision": self.reference_precision,
            "compile_mode": self.reference_compile,
            "vocoder": self.reference_vocoder,
        }


@dataclass(frozen=True)
class SuiteConfig:
    name: str
    path: str
    runs: tuple[RunConfig, ...]
    texts: tuple[TextItem, ...]
    timing: TimingConfig = field(default_factory=TimingConfig)
    thresholds: Thresholds = field(default_factory=Thresholds)
    preflight: str = "tag"
    power_mode: str | None = None
    quality: QualityConfig = field(default_factory=QualityConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    gate: GatePolicy = field(default_factory=GatePolicy)
    roofline: RooflineConfig = field(default_factory=RooflineConfig)
    serving: ServingConfig = field(default_factory=ServingConfig)
    vocoder_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""
    sha256: str = ""

    def narrowed(self, **axes: Sequence[Any] | None) -> SuiteConfig:
        """Keep only runs whose fields are in the given value lists (None keeps all)."""
        keep = [
            run
            for run in self.runs
            if all(values is None or getattr(run, key) in values for key, values in axes.items())
        ]
        if not keep:
            raise ConfigError("the matrix is empty after narrowing: no configuration matches the options")
        return replace(self, runs=tuple(keep))

    def axes(self) -> dict[str, list[Any]]:
        """Every configuration field and the values the matrix gives it."""
        values: dict[str, set[Any]] = {}
        for run in self.runs:
            for key, value in run.as_dict().items():
                values.setdefault(key, set()).add(value)
        return {key: sorted(v, key=str) for key, v in values.items()}

    def build_groups(self) -> dict[tuple[str, ...], list[RunConfig]]:
        """Configurations by the model build (and pipeline) they share: the unit a shard takes."""
        groups: dict[tuple[str, ...], list[RunConfig]] = {}
        for run in self.runs:
            groups.setdefault(run.build_group, []).append(run)
        return groups

    @property
    def expected_config_s(self) -> float:
        """Expected seconds of one configuration past its compile: timed rounds, warm-up, saving."""
        return max(self.timing.min_time_s, 1.0) + 2.0

    def group_cost_s(self, runs: Sequence[RunConfig]) -> float:
        """Expected seconds of one build group: its cold compile and its configurations."""
        return compile_cost_s(runs[0].compile_mode) + self.expected_config_s * len(runs)

    def shard(self, index: int, count: int) -> SuiteConfig:
        """Part ``index`` (1-based) of ``count``: configurations sharing a model build stay together,
        builds go to the least loaded part, the costliest compile modes first (same split every time)."""
        if not 1 <= index <= count:
            raise ConfigError(f"shard {index}/{count}: need 1 <= index <= count")
        groups = self.build_groups()
        loads = [0.0] * count
        parts: list[list[RunConfig]] = [[] for _ in range(count)]
        for _, runs in sorted(groups.items(), key=lambda kv: (-self.group_cost_s(kv[1]), kv[0])):
            lightest = loads.index(min(loads))
            loads[lightest] += self.group_cost_s(runs)
            parts[lightest].extend(runs)
        if not parts[index - 1]:
            raise ConfigError(f"shard {index}/{count} is empty: the matrix has {len(groups)} model builds")
        return replace(self, runs=tuple(parts[index - 1]))


# A cold first call of F5TTS_v1_Base by compile mode, in seconds (an H100 took 341 s for
# max-autotune, about 30 s for default and CUDA graphs): what shards are balanced by.
_COMPILE_S = {"none": 0.0, "max-autotune": 340.0, "max-autotune-no-cudagraphs": 340.0}


def compile_cost_s(mode: str) -> float:
    """Expected cold first-call seconds of a compile mode (shard balance, cheap-first order)."""
    return _COMPILE_S.get(mode, 30.0)
