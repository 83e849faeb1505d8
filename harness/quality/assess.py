"""Quality of one configuration's audio: ASR WER, fidelity to a reference render, speaker similarity.

The reference render is the same text, seed and NFE synthesized with fp32 weights, no compile and
the PyTorch vocoder (configurable). With random weights the speech is not speech: WER and speaker
similarity are reported as not meaningful and never gate; fidelity to the reference still does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.config import QualityConfig
from harness.quality import spectral
from harness.quality.asr import ASRBackend, make_asr
from harness.quality.wer import score


class Assessor:
    """Holds the ASR backend (built once per sweep) and scores waveforms."""

    def __init__(self, config: QualityConfig, sentences: list[str]) -> None:
        self.config = config
        options: dict[str, Any] = {}
        if config.asr == "pocketsphinx":
            options = {"mode": config.asr_mode, "sentences": sentences}
        elif config.asr_model:
            options = {"model": config.asr_model}
        self.asr: ASRBackend | None = None if config.asr == "none" else make_asr(config.asr, **options)

    def assess(
        self,
        rate: int,
        generated: list[np.ndarray],
        texts: list[str],
        references: list[np.ndarray],
        speakers: list[tuple[np.ndarray, int]],
        meaningful: bool,
    ) -> dict[str, Any]:
        fidelity = [spectral.distances(ref, gen, rate) for ref, gen in zip(references, generated, strict=True)]
        out: dict[str, Any] = {
            "fidelity": {
                **{k: float(np.mean([f[k] for f in fidelity])) for k in fidelity[0]},
                "per_text": fidelity,
                "reference": dict(self.config.reference),
            },
        }
        if self.asr is not None:
            transcripts = [self.asr.transcribe(w, rate) for w in generated]
            asr = score(texts, [t.text for t in transcripts])
            reference_asr = score(texts, [self.asr.transcribe(w, rate).text for w in references])
            out["asr"] = {
                "backend": transcripts[0].backend,
                "mode": transcripts[0].mode,
                "normalizer": asr["normalizer"],
                "wer": asr["wer"],
                "cer": asr["cer"],
                "wer_increase": asr["wer"] - reference_asr["wer"],
                "per_utterance": asr["per_utterance"],
                "meaningful": meaningful,
            }
        if self.config.speaker and self.config.speaker != "none":
            from harness.quality.speaker import similarity

            values = [
                similarity(g, rate, s, s_rate, self.config.speaker)
                for g, (s, s_rate) in zip(generated, speakers, strict=True)
            ]
            out["speaker"] = {
                "encoder": self.config.speaker,
                "similarity": float(np.mean(values)),
                "meaningful": meaningful,
            }
        return out
