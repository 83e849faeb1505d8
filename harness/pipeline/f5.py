"""The one place that imports f5-tts; it wraps the library's traps (see FACTS in the README).

- f5-tts prints to stdout: its output is routed to this module's logger.
- ``f5_tts.infer.utils_infer`` changes process state at import (env vars, sys.path, matplotlib
  backend) and reads the hub for empty reference texts: only its loaders are used, with every
  argument passed explicitly.
- ``load_checkpoint`` picks fp16 silently on CUDA when ``dtype`` is None: we always pass one.
- ``f5_tts.model``'s ``__init__`` imports the training loop (wandb, datasets, accelerate: about a
  second of every process's start) that synthesis never uses: the package is entered without it.
- ``f5_tts.model.modules`` imports ``librosa.filters`` (1.4 s of imports, scipy.signal most of it)
  for the BigVGAN mel only, never the Vocos one: its ``mel`` is bound to a stand-in that imports
  librosa's on first call.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import sys
import types
import warnings
from collections.abc import Iterator
from importlib.resources import files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Capture f5-tts's prints and forward them to the debug log; silence pydub's import-time
    warning about ffmpeg (audio is read with soundfile, pydub is never used here)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Couldn't find ffmpeg")
        yield
    text = buffer.getvalue().strip()
    if text:
        log.debug("f5-tts: %s", text)


_LAZY_MODEL_NAMES = {
    "MMDiT": "f5_tts.model.backbones.mmdit",
    "UNetT": "f5_tts.model.backbones.unett",
    "Trainer": "f5_tts.model.trainer",
}


def _enter_model_package() -> None:
    """Register ``f5_tts.model`` without running its ``__init__``: DiT and CFM are set as it would
    set them, its other names (Trainer, MMDiT, UNetT) import on first use."""
    if "f5_tts.model" in sys.modules:
        return
    spec = importlib.util.find_spec("f5_tts.model")
    assert spec is not None, "f5-tts is a core dependency"
    package = importlib.util.module_from_spec(spec)

    def lazy_name(name: str) -> Any:
        if name not in _LAZY_MODEL_NAMES:
            raise AttributeError(f"module 'f5_tts.model' has no attribute {name!r}")
        return getattr(importlib.import_module(_LAZY_MODEL_NAMES[name]), name)

    package.__getattr__ = lazy_name  # type: ignore[method-assign]
    sys.modules["f5_tts.model"] = package
    try:
        with _librosa_mel_on_first_use():
            from f5_tts.model.backbones.dit import DiT
            from f5_tts.model.cfm import CFM
    except BaseException:
        del sys.modules["f5_tts.model"]
        raise
    vars(package).update(DiT=DiT, CFM=CFM)


def _librosa_mel(*args: Any, **kwargs: Any) -> Any:
    """librosa's ``filters.mel``, imported on its first call."""
    from librosa.filters import mel

    return mel(*args, **kwargs)


@contextlib.contextmanager
def _librosa_mel_on_first_use() -> Iterator[None]:
    """While f5-tts's modules import: ``librosa.filters`` is a stand-in holding ``_librosa_mel``,
    unless the real one is loaded already; afterwards an import of it loads the real one."""
    if "librosa.filters" in sys.modules:
        yield
        return
    stand_in = types.ModuleType("librosa.filters")
    stand_in.mel = _librosa_mel  # type: ignore[attr-defined]
    sys.modules["librosa.filters"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("librosa.filters") is stand_in:
            del sys.modules["librosa.filters"]


@contextlib.contextmanager
def _importing() -> Iterator[None]:
    """Around every import of f5-tts: its prints captured, its model package entered lean."""
    with quiet():
        _enter_model_package()
        yield


def model_classes() -> tuple[Any, Any]:
    """f5-tts's ``CFM`` and ``DiT`` classes."""
    with _importing():
        from f5_tts.model import CFM, DiT
    return CFM, DiT


def position_embedding_class() -> Any:
    """f5-tts's ``ConvPositionEmbedding``."""
    with _importing():
        from f5_tts.model.modules import ConvPositionEmbedding
    return ConvPositionEmbedding


def package_file(relative: str) -> str:
    """Path of a file shipped inside the f5-tts package, e.g. 'infer/examples/vocab.txt'."""
    return str(files("f5_tts").joinpath(relative))


def vocab(vocab_file: str | None = None) -> tuple[dict[str, int], int]:
    with _importing():
        from f5_tts.model.utils import get_tokenizer

    result: tuple[dict[str, int], int] = get_tokenizer(vocab_file or package_file("infer/examples/vocab.txt"), "custom")
    return result


def tokenize(texts: list[str], vocab_char_map: dict[str, int]) -> torch.Tensor:
    """Text to token ids exactly as f5-tts's inference does (pinyin conversion, char map)."""
    with _importing():
        from f5_tts.model.utils import convert_char_to_pinyin, list_str_to_idx

    tokens: torch.Tensor = list_str_to_idx(convert_char_to_pinyin(texts), vocab_char_map)
    return tokens


def new_cfm(dit_arch: dict[str, Any], mel: dict[str, Any], vocab_char_map: dict[str, int]) -> Any:
    """f5-tts's own CFM around its DiT, as ``load_model`` builds it (Euler ODE)."""
    CFM, DiT = model_classes()
    return CFM(
        transformer=DiT(**dit_arch, text_num_embeds=len(vocab_char_map), mel_dim=mel["n_mel_channels"]),
        mel_spec_kwargs=dict(mel),
        odeint_kwargs={"method": "euler"},
        vocab_char_map=vocab_char_map,
    )


def load_checkpoint(model: Any, path: str, device: str, dtype: torch.dtype) -> Any:
    """f5-tts's loader (safetensors, or torch.load with weights_only=True), dtype always explicit."""
    with _importing():
        from f5_tts.infer.utils_infer import load_checkpoint as f5_load_checkpoint

        return f5_load_checkpoint(model, path, device, dtype=dtype, use_ema=True)


def stock_inference() -> tuple[Any, Any]:
    """f5-tts's own ``chunk_text`` and ``infer_batch_process`` (the stock reference row)."""
    with _importing():
        from f5_tts.infer.utils_infer import chunk_text, infer_batch_process

    return chunk_text, infer_batch_process
