"""The real tiny F5-TTS + Vocos pipeline end to end (no mocks of f5-tts, vocos or torch)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from harness.errors import InputError
from harness.pipeline.build import build_model, build_vocos, wrap_transformer
from harness.pipeline.synth import STAGES, Synthesizer
from harness.vocoders.torch_backend import TorchVocoder
from tests.conftest import REFERENCE, REFERENCE_TEXT


@pytest.fixture(scope="module")
def synth() -> Synthesizer:
    model = build_model("tiny", "random", "fp32", "none", "cpu", seed=0)
    return Synthesizer(model, TorchVocoder(build_vocos("tiny", "random", "cpu"), model.device))


def speak(synth: Synthesizer, **kwargs: object) -> object:
    return synth.synthesize(REFERENCE, REFERENCE_TEXT, "Hello from the harness.", nfe=4, **kwargs)  # type: ignore[arg-type]


def test_synthesis_returns_real_audio_and_stage_times(synth: Synthesizer) -> None:
    out = speak(synth)
    wave = out.waveform  # type: ignore[attr-defined]
    assert wave.ndim == 2 and wave.shape[0] == 1 and wave.shape[1] > 24000 // 2
    assert np.isfinite(wave).all() and float(np.abs(wave).max()) > 1e-4
    assert out.audio_s == pytest.approx(wave.shape[1] / 24000)  # type: ignore[attr-defined]
    stages = out.stages_s  # type: ignore[attr-defined]
    assert set(stages) == set(STAGES)
    assert all(v >= 0 for v in stages.values())
    assert sum(stages.values()) <= out.total_s * 1.01 + 1e-3  # type: ignore[attr-defined]
    assert out.clock == "perf_counter"  # type: ignore[attr-defined]


def test_reference_mel_is_computed_once(synth: Synthesizer) -> None:
    speak(synth)
    cached = synth.reference(REFERENCE)
    speak(synth)
    assert synth.reference(REFERENCE) is cached
    assert cached.mel.shape[0] == 1 and cached.mel.shape[2] == 100


def test_same_seed_same_audio_other_seed_other_audio(synth: Synthesizer) -> None:
    a = speak(synth, seed=3).waveform  # type: ignore[attr-defined]
    b = speak(synth, seed=3).waveform  # type: ignore[attr-defined]
    c = speak(synth, seed=4).waveform  # type: ignore[attr-defined]
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert np.abs(a - c).max() > 1e-3


def test_batched_synthesis_returns_one_waveform_per_request(synth: Synthesizer) -> None:
    out = speak(synth, batch_size=2)
    assert out.waveform.shape[0] == 2  # type: ignore[attr-defined]
    single = speak(synth)
    assert out.audio_s == pytest.approx(2 * single.audio_s)  # type: ignore[attr-defined]


def test_tokens_padded_with_the_filler_to_the_frames_change_nothing(synth: Synthesizer) -> None:
    """Bucketed calls pad a batch's tokens to its bucket, which f5-tts does itself inside the DiT:
    the same audio, and a batch's shape no longer depends on its texts."""
    from harness.pipeline.f5 import tokenize

    ref = synth.reference(REFERENCE)
    tokens = tokenize([REFERENCE_TEXT + " Hi.", REFERENCE_TEXT + " A longer comment."], synth.model.vocab_char_map)
    frames = ref.frames + 64
    duration = torch.tensor([frames - 32, frames])
    padded = torch.nn.functional.pad(tokens, (0, frames - tokens.shape[1]), value=-1)
    cond = ref.mel.expand(2, -1, -1)
    with torch.inference_mode():
        plain, _ = synth.model.cfm.sample(cond=cond, text=tokens, duration=duration, steps=2, seed=0)
        filled, _ = synth.model.cfm.sample(cond=cond, text=padded, duration=duration, steps=2, seed=0)
    torch.testing.assert_close(plain, filled)
    texts = ["Hi.", "A longer comment to speak, with more words in it."]
    out = synth.synthesize_texts(REFERENCE, REFERENCE_TEXT, texts, nfe=2, frame_bucket=64)
    buckets = [synth.bucket(REFERENCE, REFERENCE_TEXT, text, 64) for text in texts]
    assert out.shape.frames == out.shape.text_tokens == max(buckets) and all(b % 64 == 0 for b in buckets)
    assert buckets[0] < buckets[1]


def test_duration_can_be_fixed_in_seconds(synth: Synthesizer) -> None:
    out = speak(synth, duration_s=2.0)
    assert out.audio_s == pytest.approx(2.0, abs=0.02)  # type: ignore[attr-defined]


def test_empty_text_and_missing_reference_are_input_errors(synth: Synthesizer, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty"):
        synth.synthesize(REFERENCE, REFERENCE_TEXT, "  ", nfe=4)
    with pytest.raises(InputError, match="not found"):
        synth.synthesize(str(tmp_path / "nope.wav"), REFERENCE_TEXT, "hi there friend", nfe=4)
    bogus = tmp_path / "text.wav"
    bogus.write_text("not audio")
    with pytest.raises(InputError, match="not a readable audio file"):
        synth.synthesize(str(bogus), REFERENCE_TEXT, "hi there friend", nfe=4)


def save_release_layout(folder: Path) -> None:
    """Random tiny weights saved the way F5-TTS and Vocos publish theirs."""
    from safetensors.torch import save_file

    model = build_model("tiny", "random", "fp32", "none", "cpu", seed=0)
    state = {f"ema_model.{k}": v.contiguous() for k, v in model.cfm.state_dict().items()}
    save_file(state, str(folder / "model_tiny.safetensors"))
    vocos = build_vocos("tiny", "random", "cpu")
    (folder / "vocos").mkdir()
    torch.save(vocos.state_dict(), folder / "vocos" / "pytorch_model.bin")
    config = {
        "feature_extractor": {
            "class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
            "init_args": {"sample_rate": 24000, "n_fft": 1024, "hop_length": 256, "n_mels": 100, "padding": "center"},
        },
        "backbone": {
            "class_path": "vocos.models.VocosBackbone",
            "init_args": {"input_channels": 100, "dim": 128, "intermediate_dim": 384, "num_layers": 2},
        },
        "head": {
            "class_path": "vocos.heads.ISTFTHead",
            "init_args": {"dim": 128, "n_fft": 1024, "hop_length": 256, "padding": "same"},
        },
    }
    (folder / "vocos" / "config.yaml").write_text(yaml.safe_dump(config))


def test_local_checkpoint_loads_through_f5tts_loaders(synth: Synthesizer, tmp_path: Path) -> None:
    save_release_layout(tmp_path)
    model = build_model("tiny", f"path:{tmp_path}", "fp32", "none", "cpu")
    assert model.weights.kind == "path"
    loaded = Synthesizer(model, TorchVocoder(build_vocos("tiny", f"path:{tmp_path}", "cpu"), model.device))
    np.testing.assert_allclose(speak(loaded).waveform, speak(synth).waveform, atol=1e-5)  # type: ignore[attr-defined]


HEAD = "vocos.heads.ISTFTHead"


@pytest.mark.parametrize(
    ("part", "spec", "needle"),
    [
        ("head", {"class_path": "os.system", "init_args": {"command": "touch {marker}"}}, "is not one of"),
        ("backbone", {"class_path": "builtins.eval", "init_args": {}}, "is not one of"),
        ("feature_extractor", {"init_args": {}}, "needs a class_path"),
        ("head", {"class_path": HEAD, "init_args": {"dim": {"class_path": "os.system"}}}, "init_args"),
        ("head", {"class_path": HEAD, "init_args": {"dim": 128, "bogus": 1}}, "unexpected keyword"),
    ],
)
def test_a_weights_folder_config_names_only_vocos_own_classes(
    tmp_path: Path, part: str, spec: dict[str, Any], needle: str
) -> None:
    """Nothing a config.yaml names is imported or called: a hostile class_path is one error, never run."""
    save_release_layout(tmp_path)
    marker = tmp_path / "ran"
    config_path = tmp_path / "vocos" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config[part] = yaml.safe_load(yaml.safe_dump(spec).replace("{marker}", str(marker)))
    config_path.write_text(yaml.safe_dump(config))
    with pytest.raises(InputError, match=needle):
        build_vocos("tiny", f"path:{tmp_path}", "cpu")
    assert not marker.exists()


def test_a_pickled_vocos_weights_file_is_refused(tmp_path: Path) -> None:
    save_release_layout(tmp_path)
    torch.save({"x": _Pickled()}, tmp_path / "vocos" / "pytorch_model.bin")
    with pytest.raises(InputError, match="cannot be loaded"):
        build_vocos("tiny", f"path:{tmp_path}", "cpu")


class _Pickled:
    """An object ``weights_only`` loading refuses to unpickle."""


def test_bf16_needs_the_fp32_ode_grid_and_then_stays_close_to_fp32(synth: Synthesizer) -> None:
    model = build_model("tiny", "random", "bf16", "none", "cpu", seed=0)
    assert model.weight_dtype == torch.bfloat16
    with pytest.raises(AssertionError, match="t must be strictly increasing"):  # raised by torchdiffeq
        Synthesizer(model, synth.vocoder).synthesize(REFERENCE, REFERENCE_TEXT, "Hello from the harness.", nfe=16)
    island = build_model("tiny", "random", "bf16", "none", "cpu", seed=0, ode_fp32=True)
    low = Synthesizer(island, synth.vocoder).synthesize(REFERENCE, REFERENCE_TEXT, "Hello from the harness.", nfe=16)
    full = synth.synthesize(REFERENCE, REFERENCE_TEXT, "Hello from the harness.", nfe=16)
    diff = np.abs(low.waveform - full.waveform).max()
    assert 0 < diff < 1e-2  # bf16 arithmetic shows, the fp32 noise and time grid keep it close


def _watched_text_cache(synth: Synthesizer, watch: Callable[[Any], None]) -> tuple[Synthesizer, Any]:
    """A tiny model whose DiT is wrapped to own its text cache; ``watch(dit)`` runs before each ODE
    step. Returns the synthesizer and the unwrapped DiT."""
    model = build_model("tiny", "random", "fp32", "none", "cpu", seed=0)
    dit = model.cfm.transformer
    model.cfm.transformer = wrap_transformer(dit, fp32_ode=False, own_text_cache=True)
    original_forward = dit.forward

    def spy(*args: object, **kwargs: object) -> object:
        watch(dit)
        return original_forward(*args, **kwargs)

    dit.forward = spy
    return Synthesizer(model, synth.vocoder), dit


def test_text_cache_outside_the_graph_pool_changes_nothing_but_ownership(synth: Synthesizer) -> None:
    seen: list[bool] = []  # before each step: does the DiT read no cache, or the wrapper's own copy?
    wrapped, dit = _watched_text_cache(
        synth,
        lambda dit: seen.append(
            dit.text_cond is None or any(dit.text_cond is t for t in wrapped.model.cfm.transformer._owned.values())
        ),
    )
    np.testing.assert_array_equal(speak(wrapped).waveform, speak(synth).waveform)  # type: ignore[attr-defined]
    assert len(seen) == 4 and all(seen)  # NFE 4: steps 2-4 read the wrapper's own copy
    assert dit.text_cond is None  # f5-tts clears its cache after sampling, through the wrapper


def test_each_text_length_reads_its_text_cache_from_one_tensor_whatever_ran_between(synth: Synthesizer) -> None:
    """Dynamo guards on the cached tensor's identity (with freezing) and CUDA graphs on its address:
    a new tensor per call recompiled or re-recorded whenever calls of other lengths came between."""
    read: list[tuple[int, int, int]] = []  # (frames, id, data pointer) of the cache each later step reads

    def watch(dit: Any) -> None:
        if dit.text_cond is not None:
            read.append((dit.text_cond.shape[1], id(dit.text_cond), dit.text_cond.data_ptr()))

    wrapped, _ = _watched_text_cache(synth, watch)
    for seconds in (1.0, 2.0, 1.0, 2.0):
        speak(wrapped, duration_s=seconds)
    by_frames: dict[int, set[tuple[int, int]]] = {}
    for frames, identity, pointer in read:
        by_frames.setdefault(frames, set()).add((identity, pointer))
    assert len(by_frames) == 2 and len(read) == 4 * 3  # two lengths; steps 2-4 of each call read the cache
    assert all(len(seen) == 1 for seen in by_frames.values())  # one tensor, one address per length
    short, long = (next(iter(seen)) for seen in by_frames.values())
    assert short[1] != long[1]


def test_the_attention_setting_is_part_of_the_compile_cache_key() -> None:
    """The SDPA flags choose the kernel when a graph is traced, but torch's caches do not key on
    them: without the harness's key, a graph traced for one kernel is loaded for another."""
    import torch
    from torch._dynamo.utils import counters

    try:
        from torch._inductor.utils import fresh_cache
    except ImportError:  # torch < 2.7 names it fresh_inductor_cache
        from torch._inductor.utils import fresh_inductor_cache as fresh_cache

    from harness.config import RunConfig
    from harness.pipeline import flags

    def attend(q: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.scaled_dot_product_attention(q, q, q)

    before = flags.current()
    seen = []
    try:
        with fresh_cache():
            for attention in ("auto", "math", "auto"):
                flags.apply(RunConfig(attention=attention), before)
                torch._dynamo.reset()  # as a new process would: trace again, then ask the caches
                counters.clear()
                torch.compile(attend)(torch.randn(1, 2, 8, 4))
                seen.append((counters["aot_autograd"]["autograd_cache_hit"], counters["inductor"]["fxgraph_cache_hit"]))
    finally:
        flags.restore(before)
    assert seen == [(0, 0), (0, 0), (1, 1)]  # math compiled afresh; auto found its own graph again
    assert torch._inductor.config.post_grad_custom_post_pass is before.post_grad_pass


def test_grouped_convolution_as_gemm_equals_conv1d() -> None:
    from harness.pipeline.pos_conv import grouped_conv1d_as_gemm

    torch.manual_seed(0)
    for channels, groups, kernel, bias in ((64, 16, 31, True), (12, 3, 5, False), (8, 1, 3, True)):
        conv = torch.nn.Conv1d(channels, channels, kernel, groups=groups, padding=kernel // 2, bias=bias)
        x = torch.randn(2, channels, 57)
        got = grouped_conv1d_as_gemm(x, conv.weight, conv.bias, groups, kernel // 2)
        torch.testing.assert_close(got, conv(x), rtol=1e-5, atol=1e-5)


def test_gemm_position_convolution_renders_what_conv1d_renders(synth: Synthesizer) -> None:
    from harness.pipeline.pos_conv import use_gemm_pos_conv

    model = build_model("tiny", "random", "fp32", "none", "cpu", seed=0, pos_conv="gemm")
    pos_convs = model.cfm.transformer.input_embed.conv_pos_embed.conv1d
    assert [type(layer).__name__ for layer in pos_convs] == ["GemmConv1d", "Mish", "GemmConv1d", "Mish"]
    assert use_gemm_pos_conv(model.cfm.transformer) == 0  # already switched; the text convolutions untouched
    assert model.cfm.state_dict().keys() == synth.model.cfm.state_dict().keys()  # checkpoints load either way
    gemm = Synthesizer(model, synth.vocoder)
    np.testing.assert_allclose(speak(gemm).waveform, speak(synth).waveform, atol=1e-4)  # type: ignore[attr-defined]


def test_a_compiled_build_starts_from_empty_dynamo_caches() -> None:
    """Dynamo's guards see shapes and dtypes, not the attention or cuDNN flags: code compiled for an
    earlier build must not serve the next one."""
    from torch._dynamo.utils import counters

    double = torch.compile(lambda x: x * 2, backend="eager")
    double(torch.ones(3))
    traced = counters["stats"]["unique_graphs"]
    double(torch.ones(3))
    assert counters["stats"]["unique_graphs"] == traced  # cached while nothing is built
    build_model("tiny", "random", "fp32", "default", "cpu", seed=0)
    double(torch.ones(3))
    assert counters["stats"]["unique_graphs"] == traced + 1  # traced again after the compiled build


def test_past_the_raised_recompile_limit_a_row_fails_instead_of_running_uncompiled() -> None:
    """Dynamo's default (8 graphs, then the function runs uncompiled) would let a compiled row time
    an eager DiT; a configuration's flags raise the limit and make reaching it an error."""
    from harness.config import RunConfig
    from harness.measure import compiled_graphs, error_record
    from harness.pipeline import flags
    from harness.results import Record

    before = flags.current()
    torch._dynamo.reset()
    shaped = torch.compile(lambda x: x + 1, backend="eager", dynamic=False)  # one graph per shape
    try:
        flags.apply(RunConfig(), before)
        start = compiled_graphs()
        for n in range(1, flags.RECOMPILE_LIMIT + 1):
            shaped(torch.ones(n))
        assert compiled_graphs() - start == flags.RECOMPILE_LIMIT  # well past Dynamo's default of 8
        with pytest.raises(torch._dynamo.exc.FailOnRecompileLimitHit) as caught:
            shaped(torch.ones(flags.RECOMPILE_LIMIT + 1))
    finally:
        flags.restore(before)
        torch._dynamo.reset()
    record = error_record(Record(id="row", config={}), caught.value)
    assert record.status == "error" and record.error is not None
    assert record.error["message"].startswith("Dynamo's recompile limit (64 graphs per function) was reached")
    assert torch._dynamo.config.recompile_limit == before.recompile_limit  # the process's own limit restored


def test_a_build_imports_neither_the_training_loop_nor_librosa_filters_and_both_stay_reachable() -> None:
    """f5-tts's training loop and librosa's filters (its BigVGAN mel only) are left out of a start;
    f5-tts's names for them still work."""
    script = (
        "import sys\n"
        "from harness.pipeline.build import build_model\n"
        "from harness.pipeline.synth import Synthesizer\n"
        "from tests.conftest import REFERENCE\n"
        "Synthesizer(build_model('tiny', 'random', 'fp32', 'none', 'cpu', seed=0), None).reference(REFERENCE)\n"
        "print(sorted(m for m in ('f5_tts.model.trainer', 'wandb', 'datasets', 'librosa.filters', 'scipy.signal')"
        " if m in sys.modules))\n"
        "from f5_tts.model import Trainer, MMDiT\n"
        "print(Trainer.__module__, MMDiT.__module__)\n"
        "from f5_tts.model.modules import librosa_mel_fn\n"
        "import librosa.filters, numpy\n"
        "kwargs = dict(sr=24000, n_fft=1024, n_mels=100, fmin=0, fmax=None)\n"
        "print(librosa.filters.__file__.endswith('filters.py'), numpy.array_equal("
        "librosa_mel_fn(**kwargs), librosa.filters.mel(**kwargs)))\n"
    )
    root = Path(__file__).parents[1]  # where ``tests.conftest`` imports from
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:3] == ["[]", "f5_tts.model.trainer f5_tts.model.backbones.mmdit", "True True"]
