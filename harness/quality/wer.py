"""WER and CER with jiwer, per utterance and pooled over utterances, on normalized text."""

from __future__ import annotations

from typing import Any

from harness.errors import InputError
from harness.extras import need
from harness.quality.text import NORMALIZER, normalize


def score(references: list[str], hypotheses: list[str]) -> dict[str, Any]:
    jiwer = need("jiwer", "quality", "WER")

    if len(references) != len(hypotheses) or not references:
        raise InputError("WER needs one hypothesis per reference, and at least one")
    refs = [normalize(r) for r in references]
    for raw, ref in zip(references, refs, strict=True):
        if not ref:
            raise InputError(f"reference text normalizes to nothing: {raw!r}")
    hyps = [normalize(h) for h in hypotheses]
    per = []
    for ref, hyp in zip(refs, hyps, strict=True):
        words = jiwer.process_words(ref, hyp)
        chars = jiwer.process_characters(ref, hyp)
        per.append({"reference": ref, "hypothesis": hyp, "wer": words.wer, "cer": chars.cer})
    pooled_words = jiwer.process_words(refs, hyps)
    pooled_chars = jiwer.process_characters(refs, hyps)
    return {"wer": pooled_words.wer, "cer": pooled_chars.cer, "per_utterance": per, "normalizer": NORMALIZER}
