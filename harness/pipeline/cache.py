"""Models and vocoders kept between configurations that share them; device memory peaks."""

from __future__ import annotations

import gc
from typing import Any

from harness.config import RunConfig
from harness.pipeline.build import BuiltModel, build_model, build_vocos, check_device


class BuildCache:
    """One model per build key and one PyTorch Vocos per (model, weights, device), kept while
    consecutive configurations share them; ``builds`` counts real model builds."""

    def __init__(self) -> None:
        self.builds = 0
        self._model: tuple[tuple[str, ...], BuiltModel] | None = None
        self._vocos: dict[tuple[str, str, str], Any] = {}
        self._backends: dict[tuple[str, str, str, str], Any] = {}

    def clear(self) -> None:
        """Let go of every model and vocoder (their device memory is freed with them)."""
        if self._model is None and not self._vocos and not self._backends:
            return
        self._model = None
        self._vocos.clear()
        self._backends.clear()
        gc.collect()

    def holds(self, run: RunConfig) -> bool:
        return self._model is not None and self._model[0] == run.build_key

    def model(self, run: RunConfig) -> BuiltModel:
        if self._model is not None and self._model[0] == run.build_key:
            return self._model[1]
        self._model = None
        gc.collect()
        built = build_model(
            run.model,
            run.weights,
            run.precision,
            run.compile_mode,
            run.device,
            run.seed,
            ode_fp32=run.ode_fp32,
            pos_conv=run.pos_conv,
            quant=run.quant,
        )
        self.builds += 1
        self._model = (run.build_key, built)
        return built

    def vocos(self, run: RunConfig) -> Any:
        key = (run.model, run.weights, run.device)
        if key not in self._vocos:
            self._vocos[key] = build_vocos(run.model, run.weights, run.device, run.seed)
        return self._vocos[key]

    def vocoder(self, run: RunConfig, options: dict[str, Any]) -> Any:
        from harness.vocoders.registry import backend_class

        key = (run.vocoder, run.model, run.weights, run.device)
        if key not in self._backends:
            from harness.vocoders.check import check_backend

            backend = backend_class(run.vocoder)(self.vocos(run), check_device(run.device), options)
            backend.info.update(check_backend(backend))
            self._backends[key] = backend
        return self._backends[key]


def reset_peak_memory(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: Any) -> dict[str, Any]:
    """Peak device memory during the timed runs, and the process's peak resident set so far."""
    import resource

    import torch

    out: dict[str, Any] = {"rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        out["cuda_peak_allocated_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
        out["cuda_peak_reserved_mib"] = torch.cuda.max_memory_reserved(device) / 2**20
    return out
