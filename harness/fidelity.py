"""Quality of a configuration against its reference render: the same text, seed and NFE through the
plain harness pipeline in the suite's reference precision, compile mode and vocoder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.config import RunConfig, SuiteConfig
from harness.pipeline import flags
from harness.pipeline.cache import BuildCache
from harness.pipeline.synth import Synthesis, Synthesizer

if TYPE_CHECKING:
    from harness.quality.assess import Assessor

CallFn = Callable[[Any, RunConfig, int], Synthesis]  # (synthesizer, run, text index) -> one synthesis


def reference_run(run: RunConfig, suite: SuiteConfig) -> RunConfig:
    """The plain configuration a run's fidelity is measured against: the harness pipeline with the
    suite's reference precision, compile mode and vocoder, and none of the pipeline knobs."""
    q = suite.quality
    return replace(
        run,
        batch_size=1,
        pipeline="harness",
        ode_fp32=False,
        frame_bucket=0,
        cudnn_benchmark=False,
        attention="auto",
        pos_conv="conv",
        freezing=False,
        quant="none",
        precision=q.reference_precision,
        compile_mode=q.reference_compile,
        vocoder=q.reference_vocoder,
    )


class References:
    """Reference renders (one per text and reference configuration, per sweep) and the assessor."""

    def __init__(self, suite: SuiteConfig, flags_before: Any) -> None:
        self.suite = suite
        self.cache = BuildCache()  # the reference configuration's model when it is not the run's
        self.renders: dict[tuple[str, int], np.ndarray] = {}
        self._flags_before = flags_before
        self._assessor: Assessor | None = None

    def render(self, ref_run: RunConfig, index: int, main: BuildCache, call: CallFn) -> np.ndarray:
        """The reference configuration's waveform for one text (rendered once per sweep)."""
        key = (ref_run.full_id, index)
        if key not in self.renders:
            # The main cache already holds the reference model when the run shares its build key.
            cache = main if main.holds(ref_run) else self.cache
            flags.apply(ref_run, self._flags_before)
            model, vocoder = cache.model(ref_run), cache.vocoder(ref_run, {})
            self.renders[key] = call(Synthesizer(model, vocoder), ref_run, index).waveform[0]
        return self.renders[key]

    def quality(
        self, run: RunConfig, synth: Any, last: dict[int, Synthesis], main: BuildCache, call: CallFn
    ) -> dict[str, Any]:
        """ASR, fidelity and speaker figures of a run's last waveform per text."""
        from harness.pipeline.audio import read_audio
        from harness.quality.assess import Assessor

        if self._assessor is None:
            self._assessor = Assessor(self.suite.quality, [t.text for t in self.suite.texts])
        indices = sorted(last)
        ref_run = reference_run(run, self.suite)
        if ref_run == run:  # the run is its own reference: its last waveforms are the renders
            self.renders.update({(run.full_id, i): last[i].waveform[0] for i in indices})
        references = [self.render(ref_run, i, main, call) for i in indices]
        # The renders are kept; the reference model is not, or the next rows' peak memory would hold it.
        self.cache.clear()
        return self._assessor.assess(
            rate=synth.sample_rate,
            generated=[last[i].waveform[0] for i in indices],
            texts=[self.suite.texts[i].text for i in indices],
            references=references,
            speakers=[read_audio(self.suite.texts[i].reference_audio) for i in indices],
            meaningful=synth.model.weights.kind != "random",
        )
