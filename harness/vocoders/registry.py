"""Vocoder backends found by name; heavy modules are imported only when a backend is built.

Adding a backend: write one module with a class that implements ``VocoderBackend`` and add its
``"module:attr"`` here (or call ``register`` from a plugin).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.choices import suggest
from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.vocoders.base import VocoderBackend

_BACKENDS: dict[str, str] = {
    "torch": "harness.vocoders.torch_backend:TorchVocoder",
    "torch-compile": "harness.vocoders.torch_backend:CompiledTorchVocoder",
    "onnxruntime": "harness.vocoders.onnxruntime_backend:OnnxRuntimeVocoder",
    "tensorrt": "harness.vocoders.tensorrt_backend:TensorRTVocoder",
}


def register(name: str, target: str) -> None:
    """Register a backend class given as ``"package.module:ClassName"``."""
    _BACKENDS[name] = target


def names() -> list[str]:
    return sorted(_BACKENDS)


def check_name(name: str) -> str:
    if name not in _BACKENDS:
        raise ConfigError(
            f"unknown vocoder backend {name!r}{suggest(name, _BACKENDS)}; choose from {', '.join(names())}"
        )
    return name


def backend_class(name: str) -> type[VocoderBackend]:
    module_name, attr = _BACKENDS[check_name(name)].split(":")
    cls: Any = getattr(importlib.import_module(module_name), attr)
    return cls  # type: ignore[no-any-return]
