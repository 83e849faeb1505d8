"""UTMOS: a learned non-intrusive MOS predictor of speech naturalness, used where its weights exist.

Source: Saeki et al., "UTMOS: UTokyo-SaruLab System for VoiceMOS Challenge 2022" (Interspeech
2022), the *strong learner* (wav2vec 2.0 base, data-domain and listener embeddings, a BLSTM and a
frame-wise projection; utterance score = 2 x mean + 3). f5-tts's evaluation loads it through
torch.hub as ``utmos22_strong`` (tarepan/SpeechMOS), whose checkpoint torch.hub keeps at
``<torch.hub.get_dir()>/checkpoints/utmos22_strong_step7459_v1.pt``.

The harness never runs the hub's code: this module defines the same inference network (the
parameter names and shapes of that checkpoint, ``tests/fixtures/utmos22_strong_keys.json``) and
loads the file as tensors only (``torch.load(weights_only=True)``, every key checked). Nothing is
downloaded: without the file, a score is ``n/a`` with the path it looked at. 16 kHz input (other
rates are resampled), 1-5, higher is better. Cost: reports/mos/utmos-cost.md.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import BackendUnavailable, InputError
from harness.quality.registry import Metric, Score

NAME = "utmos"
RATE = 16_000
MIN_AUDIO_S = 0.5
CHECKPOINT = "utmos22_strong_step7459_v1.pt"
SOURCE = "UTMOS22 strong learner (Saeki et al. 2022), weights from the torch.hub cache"

_CONV_LAYERS = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2
_SSL, _FFN, _HEADS, _LAYERS = 768, 3072, 12, 12
_EMBED, _RNN, _PROJ = 128, 512, 2048


def checkpoint_path() -> Path:
    """Where torch.hub keeps the checkpoint (``$TORCH_HOME/hub/checkpoints`` by default)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / CHECKPOINT


def build() -> Any:
    """The UTMOS22 strong inference network, random (untrained) weights."""
    import torch
    import torch.nn.functional as F
    from torch import Tensor, nn

    class PosConv(nn.Module):
        """wav2vec 2.0's convolutional position embedding: a grouped convolution with weight
        normalization over the kernel axis (stored as ``weight_g`` and ``weight_v``)."""

        def __init__(self) -> None:
            super().__init__()
            self.weight_g = nn.Parameter(torch.ones(1, 1, 128))
            self.weight_v = nn.Parameter(torch.randn(_SSL, _SSL // 16, 128) * 0.02)
            self.bias = nn.Parameter(torch.zeros(_SSL))

        def forward(self, x: Tensor) -> Tensor:
            weight = self.weight_v * (self.weight_g / self.weight_v.norm(dim=(0, 1), keepdim=True))
            out: Tensor = F.conv1d(x, weight, self.bias, padding=64, groups=16)
            return out

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(_SSL, _SSL) for _ in range(4))

        def forward(self, x: Tensor, keep: Tensor | None) -> Tensor:
            batch, frames, _ = x.shape

            def heads(t: Tensor) -> Tensor:
                return t.view(batch, frames, _HEADS, _SSL // _HEADS).transpose(1, 2)

            mask = None if keep is None else keep[:, None, None, :]
            out = F.scaled_dot_product_attention(heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x)),
                                                 attn_mask=mask)  # fmt: skip
            joined: Tensor = self.out_proj(out.transpose(1, 2).reshape(batch, frames, _SSL))
            return joined

    class Layer(nn.Module):
        """Post-norm transformer layer (wav2vec 2.0 base)."""

        def __init__(self) -> None:
            super().__init__()
            self.self_attn = Attention()
            self.self_attn_layer_norm = nn.LayerNorm(_SSL)
            self.fc1, self.fc2 = nn.Linear(_SSL, _FFN), nn.Linear(_FFN, _SSL)
            self.final_layer_norm = nn.LayerNorm(_SSL)

        def forward(self, x: Tensor, keep: Tensor | None) -> Tensor:
            x = self.self_attn_layer_norm(x + self.self_attn(x, keep))
            out: Tensor = self.final_layer_norm(x + self.fc2(F.gelu(self.fc1(x))))
            return out

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pos_conv = nn.Sequential(PosConv())
            self.layer_norm = nn.LayerNorm(_SSL)
            self.layers = nn.ModuleList(Layer() for _ in range(_LAYERS))

        def forward(self, x: Tensor) -> Tensor:
            x = x + F.gelu(self.pos_conv(x.transpose(1, 2))[:, :, :-1]).transpose(1, 2)
            x = self.layer_norm(x)
            frames = x.shape[1]
            keep = None
            if frames % 2:  # padded to an even length, the pad masked out of every key
                x = F.pad(x, (0, 0, 0, 1))
                keep = torch.ones(x.shape[0], frames + 1, dtype=torch.bool, device=x.device)
                keep[:, -1] = False
            for layer in self.layers:
                x = layer(x, keep)
            return x[:, :frames]

    class Features(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers, channels = [], 1
            for index, (dim, kernel, stride) in enumerate(_CONV_LAYERS):
                norm = [nn.Dropout(0.0), nn.GroupNorm(dim, dim, affine=True)] if index == 0 else [nn.Dropout(0.0)]
                conv = nn.Conv1d(channels, dim, kernel, stride=stride, bias=False)
                layers.append(nn.Sequential(conv, *norm, nn.GELU()))
                channels = dim
            self.conv_layers = nn.ModuleList(layers)

        def forward(self, wave: Tensor) -> Tensor:
            x = wave.unsqueeze(1)
            for conv in self.conv_layers:
                x = conv(x)
            return x

    class Wav2Vec2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.feature_extractor = Features()
            self.layer_norm = nn.LayerNorm(512)
            self.post_extract_proj = nn.Linear(512, _SSL)
            self.encoder = Encoder()
            self.mask_emb = nn.Parameter(torch.zeros(_SSL))  # training only; kept for the checkpoint's keys

        def forward(self, wave: Tensor) -> Tensor:
            units: Tensor = self.encoder(
                self.post_extract_proj(self.layer_norm(self.feature_extractor(wave).transpose(1, 2)))
            )
            return units

    class UTMOS22Strong(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wav2vec2 = Wav2Vec2()
            self.domain_emb = nn.Parameter(torch.randn(1, _EMBED), requires_grad=False)
            self.judge_emb = nn.Parameter(torch.randn(1, _EMBED), requires_grad=False)
            self.blstm = nn.LSTM(_SSL + 2 * _EMBED, _RNN, batch_first=True, bidirectional=True)
            self.projection = nn.Sequential(nn.Linear(2 * _RNN, _PROJ), nn.ReLU(), nn.Linear(_PROJ, 1))

        def forward(self, wave16k: Tensor) -> Tensor:
            """(batch, samples at 16 kHz) -> (batch,) MOS."""
            units = self.wav2vec2(wave16k)
            batch, frames, _ = units.shape
            embeds = [e.unsqueeze(1).expand(batch, frames, -1) for e in (self.domain_emb, self.judge_emb)]
            frame_scores = self.projection(self.blstm(torch.cat([units, *embeds], dim=2))[0])
            scores: Tensor = frame_scores.mean(dim=1).squeeze(1) * 2 + 3
            return scores

    return UTMOS22Strong().eval()


def load(path: Path) -> Any:
    """The network with the checkpoint at ``path``: tensors only, every key and shape checked."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle that names code, a truncated file: never executed, said
        first = str(exc).splitlines()[0]
        raise BackendUnavailable(f"UTMOS checkpoint {path} is not a plain state dict: {first}") from None
    if not isinstance(state, dict):
        raise BackendUnavailable(f"UTMOS checkpoint {path} holds a {type(state).__name__}, not a state dict")
    model = build()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = str(exc).splitlines()
        first = lines[1].strip() if len(lines) > 1 else lines[0]
        raise BackendUnavailable(f"UTMOS checkpoint {path} does not fit the UTMOS22 strong network: {first}") from None
    return model


@functools.lru_cache(maxsize=1)
def _loaded(path: str) -> tuple[Any, str, str]:
    """The network on the best device here, with the checkpoint's sha256 (first 12) and the device."""
    import torch

    model = load(Path(path))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return model.to(device), digest.hexdigest()[:12], device


def model_or_reason() -> tuple[tuple[Any, str, str] | None, str]:
    """The loaded network (model, sha256, device), or why there is none."""
    path = checkpoint_path()
    if not path.is_file():
        return None, f"UTMOS weights are not in the torch.hub cache ({path}); nothing is downloaded"
    try:
        return _loaded(str(path)), ""
    except BackendUnavailable as exc:
        return None, str(exc)


@dataclass(frozen=True)
class Utmos:
    """One clip's UTMOS, or why there is none (``reason``)."""

    utmos: float | None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"utmos": self.utmos, "reason": self.reason}


def score_with(model: Any, device: str, wave: np.ndarray, rate: int) -> Utmos:
    """UTMOS of a mono clip with a loaded network. Too short or silent input is ``n/a``."""
    import torch
    import torchaudio.functional as AF

    x = np.asarray(wave, dtype=np.float32).reshape(-1)
    if not np.isfinite(x).all():
        raise InputError("audio for UTMOS contains NaN or infinity")
    if x.size < MIN_AUDIO_S * rate:
        return Utmos(None, f"shorter than {MIN_AUDIO_S:g} s ({x.size / rate:.2f} s)")
    if float(np.max(np.abs(x))) < 1e-4:
        return Utmos(None, "silent")
    with torch.inference_mode():
        tensor = torch.from_numpy(x)[None].to(device)
        if rate != RATE:  # torchaudio's resampler, as the published model's own forward uses
            tensor = AF.resample(tensor, orig_freq=rate, new_freq=RATE)
        return Utmos(float(model(tensor)[0]))


def block(generated: list[np.ndarray], references: list[np.ndarray], rate: int) -> dict[str, Any]:
    """UTMOS of every generated text and of its reference render: the means, the drop against the
    reference, the per-text scores a paired gate compares; ``n/a`` with the reason without weights."""
    loaded, reason = model_or_reason()
    out: dict[str, Any] = {"backend": NAME, "source": SOURCE, "meaningful": True}
    if loaded is None:
        return out | {"reason": reason}
    model, sha, device = loaded
    ours = [score_with(model, device, w, rate) for w in generated]
    theirs = [score_with(model, device, w, rate) for w in references]
    out |= {"checkpoint_sha256": sha, "device": device, "per_text": [m.as_dict() for m in ours]}
    scored = [(a.utmos, b.utmos) for a, b in zip(ours, theirs, strict=True)
              if a.utmos is not None and b.utmos is not None]  # fmt: skip
    if not scored:
        return out | {"reason": next((m.reason for m in ours if m.reason), "no score")}
    out["utmos"] = float(np.mean([a for a, _ in scored]))
    out["reference_utmos"] = float(np.mean([b for _, b in scored]))
    out["drop"] = out["reference_utmos"] - out["utmos"]
    return out


METRIC = Metric(NAME, block, (Score("utmos", "utmos", "UTMOS (1-5)", True, 0.1),), SOURCE)
