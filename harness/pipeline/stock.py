"""f5-tts's own inference path (``infer_batch_process``) as the stock reference row of a sweep.

Same built model and Vocos as the harness rows, so every speed-up is a ratio measured in one run.
It does what the service's unoptimized path does on every call: loudness normalization, resampling,
the reference mel inside ``CFM.sample``, text chunking, a thread pool, cross-fading. Only reading the
file is kept out (f5-tts's ``infer_process`` reads it with ``torchaudio.load``, which needs FFmpeg).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from harness.pipeline.audio import read_audio
from harness.pipeline.f5 import quiet, stock_inference
from harness.pipeline.flops import StepShape
from harness.pipeline.synth import Synthesis
from harness.timing import StageTimer

if TYPE_CHECKING:
    from harness.pipeline.build import BuiltModel
    from harness.vocoders.base import VocoderBackend


class StockSynthesizer:
    def __init__(self, model: BuiltModel, vocoder: VocoderBackend) -> None:
        self.model = model
        self.vocoder = vocoder
        self.sample_rate = int(model.preset.mel["target_sample_rate"])
        self._audio: dict[str, tuple[Any, int]] = {}

    def synthesize(
        self,
        reference_audio: str,
        reference_text: str,
        text: str,
        *,
        nfe: int,
        cfg_strength: float = 2.0,
        sway_sampling_coef: float = -1.0,
        seed: int = 0,
        duration_s: float | None = None,
        inject_slowdown: float = 0.0,
        **_: Any,
    ) -> Synthesis:
        import torch

        chunk_text, infer_batch_process = stock_inference()

        if reference_audio not in self._audio:
            samples, rate = read_audio(reference_audio)
            self._audio[reference_audio] = (torch.from_numpy(samples).unsqueeze(0), rate)
        audio, rate = self._audio[reference_audio]
        ref_seconds = audio.shape[-1] / rate
        max_chars = int(len(reference_text.encode("utf-8")) / ref_seconds * (22 - ref_seconds))  # as infer_process
        fix_duration = None if duration_s is None else ref_seconds + duration_s
        torch.manual_seed(seed)
        timer = StageTimer(self.model.device, inject_slowdown=inject_slowdown)
        with quiet(), timer, timer.stage("stock_total"):
            wave, sr, _ = next(
                infer_batch_process(
                    (audio, rate),
                    reference_text,
                    chunk_text(text, max_chars=max_chars),
                    self.model.cfm,
                    self.vocoder.vocos,
                    mel_spec_type="vocos",
                    progress=None,
                    nfe_step=nfe,
                    cfg_strength=cfg_strength,
                    sway_sampling_coef=sway_sampling_coef,
                    speed=1.0,
                    fix_duration=fix_duration,
                    device=str(self.model.device),
                )
            )
        waveform = np.asarray(wave, dtype=np.float32)[None, :]
        hop = int(self.model.preset.mel["hop_length"])
        frames = int((ref_seconds + waveform.shape[1] / sr) * sr / hop)
        tokens = len((reference_text + " " + text).encode("utf-8"))
        return Synthesis(
            waveform=waveform,
            sample_rate=int(sr),
            audio_s=waveform.shape[1] / sr,
            total_s=timer.total_s,
            stages_s=timer.stages_s(),
            clock=timer.clock,
            shape=StepShape(1, frames, tokens, cfg_strength >= 1e-5, estimated=True),
        )
