"""Optional parts of the harness and the extra that installs each: a missing one is one line."""

from __future__ import annotations

import importlib
from types import ModuleType

from harness.errors import BackendUnavailable

# extra -> what it brings (pyproject.toml's [project.optional-dependencies])
EXTRAS = {
    "quality": "ASR WER (pocketsphinx, jiwer), speaker similarity (resemblyzer), DNSMOS, PESQ-WB and STOI",
    "mlflow": "MLflow tracking: live logging, sync, compare by run id",
    "onnx": "the ONNX export and the onnxruntime vocoder backend",
    "nvml": "GPU telemetry and fingerprint through NVML (nvidia-ml-py)",
    "quant": "quantized DiT linears through torchao",
    "ray": "sweeps spread over a Ray cluster (run --ray)",
}


def need(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module``, or raise one line naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise BackendUnavailable(
            f"{what} needs {module.split('.')[0]}, from the '{extra}' extra: pip install 'tts-harness[{extra}]'"
        ) from None
