"""Quality of one configuration's audio: ASR WER, fidelity to a reference render, speaker similarity.

The reference render is the same text, seed and NFE synthesized with fp32 weights, no compile and
the PyTorch vocoder (configurable). With random weights the speech is not speech: WER and speaker
similarity are reported as not meaningful and never gate; fidelity to the reference still does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.config import QualityConfig
from harness.quality import registry, spectral
from harness.quality.asr import ASRBackend, make_asr
from harness.quality.wer import score

NOT_SPEECH = (
    "random weights: the audio is not speech, so WER, MOS (DNSMOS, UTMOS), PESQ, STOI and speaker similarity "
    "are not computed"
)


class Assessor:
    """Holds the ASR backend (built once per sweep, when first needed) and scores waveforms."""

    def __init__(self, config: QualityConfig, sentences: list[str]) -> None:
        self.config = config
        self._sentences = sentences
        self._asr: ASRBackend | None = None

    @property
    def asr(self) -> ASRBackend | None:
        if self.config.asr == "none":
            return None
        if self._asr is None:
            options: dict[str, Any] = {}
            if self.config.asr == "pocketsphinx":
                options = {"mode": self.config.asr_mode, "sentences": self._sentences}
            elif self.config.asr_model:
                options = {"model": self.config.asr_model}
            self._asr = make_asr(self.config.asr, **options)
        return self._asr

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
        if not meaningful:  # nothing to transcribe or to recognize the speaker of: do not spend the time
            if self.config.asr != "none":
                out["asr"] = {"backend": self.config.asr, "meaningful": False, "skipped": NOT_SPEECH}
            for name in self.config.metric_names():
                out[name] = {"backend": name, "meaningful": False, "skipped": NOT_SPEECH}
            if self.config.speaker and self.config.speaker != "none":
                out["speaker"] = {"encoder": self.config.speaker, "meaningful": False, "skipped": NOT_SPEECH}
            return out
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
        for name in self.config.metric_names():
            out[name] = registry.get(name).block(generated, references, rate)
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
