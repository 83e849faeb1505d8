"""Vocos as a native TensorRT engine (TensorRT 10 Python API: named tensors, ``execute_async_v3``).

The engine is built from the exported ONNX graph (``export.py``) with FP16 (or FP32), one
optimization profile over a range of frame counts, and cached on disk under a key made of the
ONNX file's hash, the TensorRT version, the GPU name, the precision and the profile. A cached
engine whose metadata names another GPU or TensorRT version is refused with one line.

Options: ``model`` (ONNX file; default: export), ``precision`` (``fp16``|``fp32``),
``min_frames``/``opt_frames``/``max_frames``, ``max_batch``, ``cache_dir``, ``workspace_gib``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.choices import check_choice
from harness.errors import BackendUnavailable, ConfigError, InputError
from harness.vocoders.base import VocoderBackend
from harness.vocoders.export import INPUT_NAME, OUTPUT_NAME, sha256_file
from harness.vocoders.onnxruntime_backend import exported_model

if TYPE_CHECKING:
    import torch

DEFAULT_CACHE = Path("~/.cache/tts-harness/tensorrt")


@dataclass(frozen=True)
class EngineSpec:
    """What an engine is built for; frames bound the mel length (94 frames = 1 s at 24 kHz/256)."""

    precision: str = "fp16"
    min_frames: int = 16
    opt_frames: int = 940
    max_frames: int = 3000
    max_batch: int = 8
    n_mels: int = 100
    workspace_gib: float = 2.0

    def __post_init__(self) -> None:
        check_choice("TensorRT precision", self.precision, ("fp16", "fp32"))
        if not 1 <= self.min_frames <= self.opt_frames <= self.max_frames:
            raise ConfigError(
                f"TensorRT profile needs 1 <= min_frames <= opt_frames <= max_frames, got "
                f"{self.min_frames}/{self.opt_frames}/{self.max_frames}"
            )
        if self.max_batch < 1:
            raise ConfigError(f"TensorRT max_batch must be >= 1, got {self.max_batch}")

    @classmethod
    def from_options(cls, options: dict[str, Any], n_mels: int) -> EngineSpec:
        known = {k: v for k, v in options.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "n_mels": n_mels})

    def profile(self) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
        """(min, opt, max) shapes of the ``mel`` input."""
        return (
            (1, self.n_mels, self.min_frames),
            (1, self.n_mels, self.opt_frames),
            (self.max_batch, self.n_mels, self.max_frames),
        )

    def check_shape(self, shape: tuple[int, ...]) -> None:
        batch, _, frames = shape
        if not (1 <= batch <= self.max_batch and self.min_frames <= frames <= self.max_frames):
            raise InputError(
                f"mel of {batch} x {frames} frames is outside the engine's profile "
                f"(batch 1-{self.max_batch}, frames {self.min_frames}-{self.max_frames}): "
                "rebuild with a wider max_frames/max_batch"
            )


def cache_key(onnx_sha256: str, trt_version: str, gpu_name: str, spec: EngineSpec) -> str:
    """File stem of a cached engine; any change of model, TensorRT, GPU or profile changes it."""
    fields = {"onnx": onnx_sha256, "tensorrt": trt_version, "gpu": gpu_name, **asdict(spec)}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    gpu = "".join(c if c.isalnum() else "-" for c in gpu_name.lower())
    return f"vocos-{spec.precision}-{gpu}-trt{trt_version}-{digest}"


def check_engine_metadata(meta: dict[str, Any], trt_version: str, gpu_name: str, path: Path) -> None:
    if meta.get("tensorrt") != trt_version:
        raise InputError(
            f"engine {path} was built with TensorRT {meta.get('tensorrt')}, this is {trt_version}: delete it to rebuild"
        )
    if meta.get("gpu") != gpu_name:
        raise InputError(f"engine {path} was built for {meta.get('gpu')}, this GPU is {gpu_name}: delete it to rebuild")


def require_runtime(device: torch.device) -> Any:
    """Import tensorrt and check for CUDA, or raise BackendUnavailable with the reason."""
    import torch

    try:
        import tensorrt as trt
    except ImportError:
        raise BackendUnavailable(
            "tensorrt is not installed (pip install 'tts-harness[tensorrt]' where NVIDIA's index is "
            "reachable, or JetPack's python3-libnvinfer on a Jetson)"
        ) from None
    if device.type != "cuda" or not torch.cuda.is_available():
        raise BackendUnavailable(f"the tensorrt vocoder needs a CUDA device, run device is {device}")
    return trt


def build_engine(trt: Any, onnx_path: Path, spec: EngineSpec) -> bytes:
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise InputError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(spec.workspace_gib * 2**30))
    if spec.precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    profile.set_shape(INPUT_NAME, *spec.profile())
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise InputError(f"TensorRT failed to build an engine from {onnx_path}")
    return bytes(serialized)


class TensorRTVocoder(VocoderBackend):
    NAME = "tensorrt"

    def __init__(self, vocos: Any, device: torch.device, options: dict[str, Any] | None = None) -> None:
        super().__init__(vocos, device, options)
        import torch

        trt = require_runtime(device)
        self.spec = EngineSpec.from_options(self.options, self.n_mels)
        onnx_path = exported_model(vocos, self.options)
        gpu = torch.cuda.get_device_name(device)
        key = cache_key(sha256_file(onnx_path), trt.__version__, gpu, self.spec)
        cache = Path(self.options.get("cache_dir", DEFAULT_CACHE)).expanduser()
        engine_path, meta_path = cache / f"{key}.engine", cache / f"{key}.json"
        if engine_path.is_file() and meta_path.is_file():
            check_engine_metadata(json.loads(meta_path.read_text()), trt.__version__, gpu, engine_path)
            blob, built = engine_path.read_bytes(), False
        else:
            blob, built = build_engine(trt, onnx_path, self.spec), True
            cache.mkdir(parents=True, exist_ok=True)
            engine_path.write_bytes(blob)
            meta = {"tensorrt": trt.__version__, "gpu": gpu, "onnx": str(onnx_path), **asdict(self.spec)}
            meta_path.write_text(json.dumps(meta, indent=1))
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = runtime.deserialize_cuda_engine(blob)
        if self.engine is None:
            raise InputError(f"engine {engine_path} does not load on this GPU/TensorRT: delete it to rebuild")
        self.context = self.engine.create_execution_context()
        self.info.update(
            {
                "engine": str(engine_path),
                "engine_built_now": built,
                "tensorrt": trt.__version__,
                "precision": self.spec.precision,
                "profile": [list(s) for s in self.spec.profile()],
            }
        )

    def decode(self, mel: torch.Tensor) -> torch.Tensor:
        import torch

        self.check_mel(mel)
        mel = mel.float().contiguous()
        self.spec.check_shape(tuple(mel.shape))
        self.context.set_input_shape(INPUT_NAME, tuple(mel.shape))
        out = torch.empty(tuple(self.context.get_tensor_shape(OUTPUT_NAME)), device=mel.device, dtype=torch.float32)
        self.context.set_tensor_address(INPUT_NAME, mel.data_ptr())
        self.context.set_tensor_address(OUTPUT_NAME, out.data_ptr())
        if not self.context.execute_async_v3(torch.cuda.current_stream(mel.device).cuda_stream):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        return out
