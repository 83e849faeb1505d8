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
            if self.config.mos != "none":
                out["mos"] = {"backend": self.config.mos, "meaningful": False, "skipped": NOT_SPEECH}
            if self.config.intrusive:
                out["intrusive"] = {"meaningful": False, "skipped": NOT_SPEECH}
            if self.config.utmos:
                out["utmos"] = {"backend": "utmos", "meaningful": False, "skipped": NOT_SPEECH}
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
        if self.config.mos != "none":
            out["mos"] = mos_block(generated, references, rate)
        if self.config.intrusive:
            from harness.quality import intrusive

            out["intrusive"] = intrusive.block(generated, references, rate)
        if self.config.utmos:
            from harness.quality import utmos

            out["utmos"] = utmos.block(generated, references, rate)
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


def mos_block(generated: list[np.ndarray], references: list[np.ndarray], rate: int) -> dict[str, Any]:
    """DNSMOS of every generated text and of its reference render: the means, the drop of the P.808
    MOS against the reference (the plan's "MOS drop"), and the per-text scores a paired gate compares."""
    from harness.quality import mos

    ours = [mos.score(w, rate) for w in generated]
    theirs = [mos.score(w, rate) for w in references]
    scored = [(a, b) for a, b in zip(ours, theirs, strict=True) if a.p808 is not None and b.p808 is not None]
    block: dict[str, Any] = {
        "backend": mos.NAME,
        "source": mos.SOURCE,
        "per_text": [m.as_dict() for m in ours],
        "meaningful": True,
    }
    if not scored:
        block["reason"] = next((m.reason for m in ours if m.reason), "no score")
        return block
    for name in mos.SCORES:
        block[name] = float(np.mean([getattr(a, name) for a, _ in scored]))
    # The headline is P.808: on real speech degraded in known steps it fell at every step, where the
    # P.835 overall score rose with faint noise on synthetic speech (reports/mos).
    block["headline"] = mos.HEADLINE
    block["reference_p808"] = float(np.mean([b.p808 for _, b in scored]))
    block["drop"] = block["reference_p808"] - block["p808"]
    return block
