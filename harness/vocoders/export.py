"""Vocos to ONNX with the inverse STFT inside the graph, validated against PyTorch on the spot.

Why a convolution-based inverse STFT: the whole Vocos fails to export (its ISTFTHead builds a
complex tensor, which neither the legacy nor the dynamo exporter handles), and exporting only up to
the spectrum would leave the ISTFT outside TensorRT. Vocos's "same"-padding ISTFT is an inverse
real DFT, a window, an overlap-add and a division by the summed squared window: the first three are
one ``conv_transpose1d`` with a fixed kernel, the envelope another. The graph reproduces
``Vocos.decode`` sample for sample (same length, no extra hop).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any, cast

import numpy as np

from harness.errors import InputError
from harness.extras import need

INPUT_NAME = "mel"
OUTPUT_NAME = "waveform"


def parity(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Max absolute error and SNR (dB) of ``candidate`` against ``reference`` (same length)."""
    n = min(reference.shape[-1], candidate.shape[-1])
    ref = np.asarray(reference[..., :n], dtype=np.float64)
    err = ref - np.asarray(candidate[..., :n], dtype=np.float64)
    noise = float(np.sum(err**2))
    signal = float(np.sum(ref**2))
    snr = math.inf if noise == 0 else 10 * math.log10(signal / noise) if signal > 0 else -math.inf
    return {
        "max_abs": float(np.max(np.abs(err))),
        "snr_db": snr,
        "length_diff": int(candidate.shape[-1] - reference.shape[-1]),
    }


def vocos_graph(vocos: Any) -> Any:
    """An ``nn.Module`` mel[B, n_mels, T] -> waveform[B, samples] equal to ``vocos.decode``."""
    import torch
    from torch import nn

    head = vocos.head
    istft = head.istft
    n_fft, hop, win = istft.n_fft, istft.hop_length, istft.win_length
    if istft.padding != "same" or win != n_fft:
        raise InputError("only Vocos ISTFT heads with 'same' padding and win_length == n_fft export")

    class VocosGraph(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = vocos.backbone
            self.out = head.out
            bins = n_fft // 2 + 1
            k = torch.arange(bins, dtype=torch.float64)[:, None]
            n = torch.arange(n_fft, dtype=torch.float64)[None, :]
            scale = torch.full((bins, 1), 2.0, dtype=torch.float64)
            scale[0] = scale[-1] = 1.0  # DC and Nyquist appear once in an inverse real DFT
            angle = 2 * math.pi * k * n / n_fft
            window = istft.window.to(torch.float64)[None, :]
            real = scale * torch.cos(angle) * window / n_fft
            imag = -scale * torch.sin(angle) * window / n_fft
            imag[0] = imag[-1] = 0.0  # irfft ignores their imaginary parts
            self.register_buffer("kernel", torch.cat([real, imag])[:, None, :].float())
            self.register_buffer("window_sq", (istft.window.float() ** 2)[None, None, :])
            self.pad = (win - hop) // 2

        def forward(self, mel: torch.Tensor) -> torch.Tensor:
            x = self.out(self.backbone(mel)).transpose(1, 2)
            log_mag, phase = x.chunk(2, dim=1)
            mag = torch.clip(torch.exp(log_mag), max=1e2)
            spec = torch.cat([mag * torch.cos(phase), mag * torch.sin(phase)], dim=1)
            kernel, window_sq = cast(torch.Tensor, self.kernel), cast(torch.Tensor, self.window_sq)
            frames = torch.nn.functional.conv_transpose1d(spec, kernel, stride=hop)
            ones = torch.ones_like(mel[:1, :1, :])
            envelope = torch.nn.functional.conv_transpose1d(ones, window_sq, stride=hop)
            y = frames[:, 0, self.pad : frames.shape[-1] - self.pad]
            return y / envelope[:, 0, self.pad : envelope.shape[-1] - self.pad]

    return VocosGraph().eval()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def validation_mels(n_mels: int) -> dict[str, Any]:
    """A mel of the real reference speech that ships with f5-tts, and a seeded random one."""
    import torch
    from vocos.feature_extractors import MelSpectrogramFeatures

    from harness.pipeline.audio import read_audio

    samples, rate = read_audio("f5tts:infer/examples/basic/basic_ref_en.wav")
    features = MelSpectrogramFeatures(sample_rate=rate, n_fft=1024, hop_length=256, n_mels=n_mels)
    speech = features(torch.from_numpy(samples)[None])
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(1, n_mels, 217, generator=generator) * 2 - 5
    return {"reference_speech": speech, "random": noise}


def export_onnx(
    out_dir: Path,
    model: str = "f5tts_v1_base",
    weights: str = "hf",
    opset: int = 17,
    vocos: Any = None,
) -> dict[str, Any]:
    """Write ``vocos.onnx`` and ``export.json`` (validation figures) to ``out_dir``."""
    import torch

    ort = need("onnxruntime", "onnx", "the ONNX export's validation")
    need("onnx", "onnx", "the ONNX export")

    from harness.pipeline.build import build_vocos

    if opset < 17:
        raise InputError(f"opset {opset} is too old: the graph needs opset 17 or newer")
    # Export from a CPU copy: the caller's Vocos stays where it is (it may be serving a GPU run).
    vocos = build_vocos(model, weights, "cpu") if vocos is None else copy.deepcopy(vocos).to("cpu")
    vocos = vocos.eval()
    graph = vocos_graph(vocos)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "vocos.onnx"
    n_mels = int(vocos.backbone.input_channels)
    example = torch.randn(1, n_mels, 64)
    start = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(
            graph,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch", 2: "frames"}, OUTPUT_NAME: {0: "batch", 1: "samples"}},
            opset_version=opset,
            dynamo=False,
        )
    export_s = time.perf_counter() - start
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    checks = {}
    with torch.no_grad():
        for name, mel in validation_mels(n_mels).items():
            expected = vocos.decode(mel).numpy()
            got = session.run([OUTPUT_NAME], {INPUT_NAME: mel.numpy()})[0]
            checks[name] = parity(expected, got)
    report = {
        "file": path.name,
        "sha256": sha256_file(path),
        "opset": opset,
        "input": INPUT_NAME,
        "output": OUTPUT_NAME,
        "istft": "conv_transpose1d (in graph)",
        "n_mels": n_mels,
        "model": model,
        "weights": weights,
        "export_s": round(export_s, 3),
        "validation": checks,
    }
    (out_dir / "export.json").write_text(json.dumps(report, indent=1))
    return report
