"""Vocoder backends against PyTorch Vocos: export, ONNX Runtime, torch.compile, TensorRT around it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.errors import BackendUnavailable, ConfigError, InputError
from harness.pipeline.build import build_vocos
from harness.vocoders import registry
from harness.vocoders.check import check_backend
from harness.vocoders.export import export_onnx, parity, validation_mels
from harness.vocoders.onnxruntime_backend import OnnxRuntimeVocoder
from harness.vocoders.tensorrt_backend import EngineSpec, cache_key, check_engine_metadata

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def vocos() -> object:
    return build_vocos("tiny", "random", "cpu")


@pytest.fixture(scope="module")
def exported(vocos: object, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx")
    export_onnx(out, vocos=vocos)
    return out


def test_export_matches_pytorch_on_real_speech_and_noise(exported: Path) -> None:
    report = json.loads((exported / "export.json").read_text())
    assert report["opset"] >= 17 and report["istft"].startswith("conv_transpose1d")
    for name in ("reference_speech", "random"):
        check = report["validation"][name]
        assert check["length_diff"] == 0 and check["snr_db"] > 90 and check["max_abs"] < 1e-5


def test_full_size_vocos_exports_exactly(tmp_path: Path) -> None:
    report = export_onnx(tmp_path, model="f5tts_v1_base", weights="random")
    assert min(v["snr_db"] for v in report["validation"].values()) > 90


def test_parity_figures() -> None:
    a = np.sin(np.linspace(0, 100, 24000))[None]
    assert parity(a, a)["snr_db"] == float("inf")
    noisy = parity(a, a + 0.01 * np.random.default_rng(0).standard_normal(a.shape))
    assert 30 < noisy["snr_db"] < 40 and noisy["max_abs"] > 0.01


def test_onnxruntime_backend_reproduces_torch_and_records_parity(vocos: object, exported: Path) -> None:
    backend = OnnxRuntimeVocoder(vocos, CPU, {"model": str(exported / "vocos.onnx")})
    info = check_backend(backend)
    assert info["parity"]["snr_db"] > 90 and info["alone_ms_per_audio_s"] > 0
    assert backend.info["provider"] == "CPUExecutionProvider" and backend.info["fallback_reason"] is None


def test_unavailable_provider_falls_back_with_a_reason(vocos: object, exported: Path) -> None:
    backend = OnnxRuntimeVocoder(vocos, CPU, {"model": str(exported / "vocos.onnx"), "provider": "tensorrt"})
    assert backend.info["provider"] == "CPUExecutionProvider"
    assert "TensorrtExecutionProvider" in backend.info["fallback_reason"]


def test_torch_compile_backend_reproduces_torch(vocos: object) -> None:
    backend = registry.backend_class("torch-compile")(vocos, CPU, {})
    assert check_backend(backend)["parity"]["snr_db"] > 90


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": "/no/such/vocos.onnx"}, "ONNX model not found: /no/such/vocos.onnx"),
        ({"provider": "rocm"}, "unknown onnxruntime provider 'rocm'"),
    ],
)
def test_bad_onnxruntime_options_are_one_line(vocos: object, options: dict[str, str], message: str) -> None:
    with pytest.raises((InputError, ConfigError)) as info:
        OnnxRuntimeVocoder(vocos, CPU, options)
    assert message in str(info.value)


def test_corrupt_onnx_file_is_one_line(vocos: object, tmp_path: Path) -> None:
    bad = tmp_path / "vocos.onnx"
    bad.write_bytes(b"\x08\x01garbage")
    with pytest.raises(InputError, match="cannot load ONNX model"):
        OnnxRuntimeVocoder(vocos, CPU, {"model": str(bad)})


def test_mel_with_wrong_channel_count_is_refused(vocos: object, exported: Path) -> None:
    backend = OnnxRuntimeVocoder(vocos, CPU, {"model": str(exported / "vocos.onnx")})
    with pytest.raises(InputError, match=r"expects a mel of shape \[batch, 100, frames\], got \[1, 80, 50\]"):
        backend.decode(torch.zeros(1, 80, 50))


def test_validation_mels_include_real_speech() -> None:
    mels = validation_mels(100)
    speech = mels["reference_speech"]
    assert speech.shape[1] == 100 and speech.shape[2] > 400  # 5.3 s at 24 kHz / 256
    assert float(speech.std()) > 0.5


# ---- TensorRT: everything around the runtime ---------------------------------------------------


def test_engine_cache_key_changes_with_every_input() -> None:
    spec = EngineSpec()
    base = cache_key("abc", "10.8.0", "NVIDIA H100 80GB HBM3", spec)
    assert base.startswith("vocos-fp16-nvidia-h100-80gb-hbm3-trt10.8.0-")
    variants = [
        cache_key("abd", "10.8.0", "NVIDIA H100 80GB HBM3", spec),
        cache_key("abc", "10.9.0", "NVIDIA H100 80GB HBM3", spec),
        cache_key("abc", "10.8.0", "Orin", spec),
        cache_key("abc", "10.8.0", "NVIDIA H100 80GB HBM3", EngineSpec(precision="fp32")),
        cache_key("abc", "10.8.0", "NVIDIA H100 80GB HBM3", EngineSpec(max_frames=4000)),
    ]
    assert len({base, *variants}) == 6
    assert cache_key("abc", "10.8.0", "NVIDIA H100 80GB HBM3", EngineSpec()) == base


def test_engine_profile_ranges() -> None:
    spec = EngineSpec(min_frames=10, opt_frames=100, max_frames=1000, max_batch=4)
    assert spec.profile() == ((1, 100, 10), (1, 100, 100), (4, 100, 1000))
    spec.check_shape((4, 100, 1000))
    with pytest.raises(InputError, match="outside the engine's profile"):
        spec.check_shape((1, 100, 1001))
    with pytest.raises(InputError, match="outside the engine's profile"):
        spec.check_shape((5, 100, 100))
    with pytest.raises(ConfigError, match="min_frames <= opt_frames"):
        EngineSpec(min_frames=200, opt_frames=100)
    with pytest.raises(ConfigError, match="unknown TensorRT precision 'int4'"):
        EngineSpec(precision="int4")


def test_engine_from_another_gpu_or_version_is_refused(tmp_path: Path) -> None:
    meta = {"tensorrt": "10.8.0", "gpu": "Orin"}
    check_engine_metadata(meta, "10.8.0", "Orin", tmp_path / "e.engine")
    with pytest.raises(InputError, match="built for Orin, this GPU is NVIDIA H100"):
        check_engine_metadata(meta, "10.8.0", "NVIDIA H100", tmp_path / "e.engine")
    with pytest.raises(InputError, match=r"built with TensorRT 10\.8\.0, this is 10\.9\.0"):
        check_engine_metadata(meta, "10.9.0", "Orin", tmp_path / "e.engine")


def test_tensorrt_backend_without_runtime_says_why(vocos: object) -> None:
    try:
        import tensorrt  # noqa: F401

        pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    with pytest.raises(BackendUnavailable, match="tensorrt is not installed"):
        registry.backend_class("tensorrt")(vocos, CPU, {})


def _has_tensorrt_and_cuda() -> bool:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(
    not _has_tensorrt_and_cuda(),
    reason="TensorRT runtime test needs the tensorrt package and a CUDA GPU; neither exists on CI "
    "(PyPI's tensorrt wheels download from NVIDIA's index, which these machines cannot reach)",
)
def test_tensorrt_engine_matches_pytorch(vocos: object, tmp_path: Path) -> None:
    cuda = torch.device("cuda")
    backend = registry.backend_class("tensorrt")(
        vocos.to(cuda), cuda, {"cache_dir": str(tmp_path), "precision": "fp32"}
    )  # type: ignore[attr-defined]
    assert check_backend(backend)["parity"]["snr_db"] > 60
