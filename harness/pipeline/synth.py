"""Synthesis with per-stage times: audio prep, text to tokens, the ODE loop, vocoder, total."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import InputError, NonFiniteOutput
from harness.pipeline.audio import read_audio
from harness.pipeline.f5 import tokenize
from harness.pipeline.flops import StepShape
from harness.timing import StageTimer

if TYPE_CHECKING:
    import torch

    from harness.pipeline.build import BuiltModel
    from harness.vocoders.base import VocoderBackend

TARGET_RMS = 0.1  # f5-tts's loudness normalization of the reference
STAGES = ("audio_prep", "text_to_tokens", "ode", "vocoder")


@dataclass(frozen=True)
class Reference:
    """Prepared reference speech: normalized samples on the device and their mel (cached)."""

    audio: torch.Tensor
    mel: torch.Tensor
    rms: float
    frames: int


@dataclass
class Synthesis:
    waveform: np.ndarray  # [batch, samples], float32
    sample_rate: int
    audio_s: float  # generated seconds, summed over the batch
    total_s: float
    stages_s: dict[str, float]
    clock: str
    mel: Any = None  # the generated mel on the device (None where the pipeline does not expose it)
    shape: StepShape | None = None  # what one ODE step of this call ran on
    pieces: list[np.ndarray] = field(default_factory=list)  # each text's samples (a batch of texts)

    @property
    def rtf(self) -> float:
        return self.total_s / self.audio_s

    def check_finite(self) -> None:
        """Raise ``NonFiniteOutput`` when the mel or the waveform holds a NaN or an infinity (a
        precision or a quantization that broke the numbers is a failed configuration, not a timing)."""
        import torch

        bad = []
        if self.mel is not None and not bool(torch.isfinite(self.mel).all()):
            bad.append("mel")
        if not np.isfinite(self.waveform).all():
            bad.append("waveform")
        if bad:
            raise NonFiniteOutput(f"non-finite output: NaN or Inf in the {' and the '.join(bad)}")


def spoken_reference_text(text: str) -> str:
    """The reference text as f5-tts speaks it: a space after a one-byte last character."""
    return text + " " if text[-1:].isascii() and not text.endswith(" ") else text


def bucketed(frames: int, frame_bucket: int) -> int:
    """``frames`` rounded up to a multiple of ``frame_bucket`` (0: as they are)."""
    return -(-frames // frame_bucket) * frame_bucket if frame_bucket else frames


class Synthesizer:
    """F5-TTS + a vocoder backend; reuses each reference's mel across calls, as the service does."""

    def __init__(self, model: BuiltModel, vocoder: VocoderBackend) -> None:
        self.model = model
        self.vocoder = vocoder
        self.sample_rate = int(model.preset.mel["target_sample_rate"])
        self.hop = int(model.preset.mel["hop_length"])
        self._references: dict[str, Reference] = {}

    def reference(self, audio_spec: str) -> Reference:
        cached = self._references.get(audio_spec)
        if cached is not None:
            return cached
        import torch

        samples, rate = read_audio(audio_spec)
        if rate != self.sample_rate:
            from scipy.signal import resample_poly  # here: 0.8 s of a start, for other rates only

            samples = resample_poly(samples, self.sample_rate, rate).astype(np.float32)
        rms = float(np.sqrt(np.mean(np.square(samples))))
        if rms == 0.0:
            raise InputError(f"reference audio is silent: {audio_spec}")
        if rms < TARGET_RMS:
            samples = samples * (TARGET_RMS / rms)
        audio = torch.from_numpy(samples).unsqueeze(0).to(self.model.device)
        with torch.inference_mode():
            mel = self.model.cfm.mel_spec(audio).permute(0, 2, 1)  # [1, frames, n_mels]
        ref = Reference(audio=audio, mel=mel, rms=rms, frames=int(mel.shape[1]))
        self._references[audio_spec] = ref
        return ref

    def bucket(self, reference_audio: str, reference_text: str, text: str, frame_bucket: int) -> int:
        """The frames (reference and generated) a call over ``text`` runs, padded to ``frame_bucket``."""
        ref_text = spoken_reference_text(reference_text)
        return bucketed(self._frames(self.reference(reference_audio), ref_text, text, None), frame_bucket)

    def _frames(self, ref: Reference, ref_text: str, text: str, duration_s: float | None) -> int:
        if duration_s is not None:
            return ref.frames + int(duration_s * self.sample_rate / self.hop)
        speed = 0.3 if len(text.encode("utf-8")) < 10 else 1.0  # f5-tts's rule for short texts
        per_byte = ref.frames / len(ref_text.encode("utf-8"))
        return ref.frames + int(per_byte * len(text.encode("utf-8")) / speed)

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        import torch

        if self.model.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.model.device.type, dtype=self.model.autocast_dtype)

    def synthesize(
        self,
        reference_audio: str,
        reference_text: str,
        text: str,
        *,
        nfe: int,
        batch_size: int = 1,
        **options: Any,
    ) -> Synthesis:
        """``batch_size`` copies of one text in one ODE call (see ``synthesize_texts``)."""
        return self.synthesize_texts(reference_audio, reference_text, [text] * batch_size, nfe=nfe, **options)

    def synthesize_texts(
        self,
        reference_audio: str,
        reference_text: str,
        texts: list[str],
        *,
        nfe: int,
        cfg_strength: float = 2.0,
        sway_sampling_coef: float = -1.0,
        seed: int = 0,
        use_epss: bool = True,
        duration_s: float | None = None,
        frame_bucket: int = 0,
        inject_slowdown: float = 0.0,
    ) -> Synthesis:
        """Texts of any lengths in one ODE call, padded and masked as f5-tts's batched sampling
        does; ``Synthesis.pieces`` holds each text's own samples (``waveform`` is the first text's
        length, the batch's rows cut to it, for the callers that time copies of one text)."""
        import torch

        if not texts or any(not text.strip() for text in texts):
            raise InputError("text to speak is empty")
        if not reference_text.strip():
            raise InputError("reference text is empty (f5-tts would download Whisper to transcribe it)")
        if nfe < 1:
            raise InputError(f"NFE must be >= 1, got {nfe}")
        reference_text = spoken_reference_text(reference_text)
        timer = StageTimer(self.model.device, inject_slowdown=inject_slowdown)
        with torch.inference_mode(), timer:
            with timer.stage("audio_prep"):
                ref = self.reference(reference_audio)
                cond = ref.mel.expand(len(texts), -1, -1)
            with timer.stage("text_to_tokens"):
                tokens = tokenize([reference_text + text for text in texts], self.model.vocab_char_map)
                tokens = tokens.to(self.model.device)
                frames = [self._frames(ref, reference_text, text, duration_s) for text in texts]
                # Static shapes: pad to a bucket so compiled graphs are reused across lengths,
                # then keep only the requested frames (RTF counts the requested audio only).
                run_frames = [bucketed(n, frame_bucket) for n in frames]
                if frame_bucket and tokens.shape[1] < max(run_frames):
                    # and the tokens to the same bucket (f5-tts pads them with its filler to the
                    # frames anyway): a batch's shape is then its size and its bucket, not its texts
                    tokens = torch.nn.functional.pad(tokens, (0, max(run_frames) - tokens.shape[1]), value=-1)
                duration: int | torch.Tensor = run_frames[0]
                if len(set(run_frames)) > 1:
                    duration = torch.tensor(run_frames, device=self.model.device, dtype=torch.long)
            with timer.stage("ode"), self._autocast():
                out, _ = self.model.cfm.sample(
                    cond=cond,
                    text=tokens,
                    duration=duration,
                    steps=nfe,
                    cfg_strength=cfg_strength,
                    sway_sampling_coef=sway_sampling_coef,
                    seed=seed,
                    use_epss=use_epss,
                )
                mel = out.to(torch.float32)[:, ref.frames : max(frames), :].permute(0, 2, 1).contiguous()
            with timer.stage("vocoder"):
                wave = self.vocoder.decode(mel)
                if ref.rms < TARGET_RMS:
                    wave = wave * (ref.rms / TARGET_RMS)
                rows = wave.float().cpu().numpy()
        longest = max(frames) - ref.frames  # each row's own frames, in the vocoder's samples per frame
        pieces = [row[: round(rows.shape[1] * (n - ref.frames) / longest)] for row, n in zip(rows, frames, strict=True)]
        return Synthesis(
            waveform=rows[:, : pieces[0].shape[0]],
            sample_rate=self.sample_rate,
            audio_s=sum(piece.shape[0] for piece in pieces) / self.sample_rate,
            total_s=timer.total_s,
            stages_s=timer.stages_s(),
            clock=timer.clock,
            mel=mel,
            shape=StepShape(len(texts), max(run_frames), int(tokens.shape[1]), cfg_strength >= 1e-5),
            pieces=pieces,
        )
