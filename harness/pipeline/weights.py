"""Where weights come from: the Hugging Face cache, a local path, or seeded random init."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputError, WeightsUnavailable
from harness.pipeline.presets import ModelPreset

CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt")


@dataclass(frozen=True)
class ResolvedWeights:
    """Files to load; ``kind`` is recorded with every result ('random', 'hf' or 'path')."""

    kind: str
    checkpoint: str | None = None
    vocab: str | None = None
    vocos_dir: str | None = None


def resolve(spec: str, preset: ModelPreset) -> ResolvedWeights:
    if spec == "random":
        return ResolvedWeights(kind="random")
    if spec == "hf":
        return _from_hub(preset)
    if spec.startswith("path:"):
        return _from_path(Path(spec[5:]).expanduser(), preset)
    raise InputError(f"unknown weights source {spec!r}")


def _from_hub(preset: ModelPreset) -> ResolvedWeights:
    if preset.name == "tiny":
        raise WeightsUnavailable("the 'tiny' preset has no published weights; use weights 'random'")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        checkpoint = hf_hub_download(preset.hf_repo, preset.hf_checkpoint)
        vocab = hf_hub_download(preset.hf_repo, preset.hf_vocab)
        config = hf_hub_download(preset.vocos_repo, "config.yaml")
        hf_hub_download(preset.vocos_repo, "pytorch_model.bin")
    except (LocalEntryNotFoundError, OSError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0")
        where = os.environ.get("HF_HOME", "~/.cache/huggingface")
        raise WeightsUnavailable(
            f"no cached checkpoint for {preset.hf_repo}/{preset.hf_checkpoint} or {preset.vocos_repo} "
            f"in {where}{' (HF_HUB_OFFLINE=1)' if offline else ''}: run `huggingface-cli download "
            f"{preset.hf_repo} {preset.hf_checkpoint} {preset.hf_vocab}` and `huggingface-cli download "
            f"{preset.vocos_repo}` on a connected machine, or use weights 'path:<dir>' "
            f"({type(exc).__name__})"
        ) from None
    return ResolvedWeights(kind="hf", checkpoint=checkpoint, vocab=vocab, vocos_dir=str(Path(config).parent))


def _vocos_dir_in(folder: Path) -> str | None:
    for candidate in (folder / "vocos", folder):
        if (candidate / "config.yaml").is_file() and (candidate / "pytorch_model.bin").is_file():
            return str(candidate)
    return None


def _from_path(path: Path, preset: ModelPreset) -> ResolvedWeights:
    """``path:FILE`` (a checkpoint) or ``path:DIR`` (checkpoint, optional vocab.txt and vocos/)."""
    if not path.exists():
        raise InputError(f"checkpoint path does not exist: {path}")
    if path.is_file():
        checkpoint, folder = path, path.parent
    else:
        found = sorted(p for p in path.iterdir() if p.suffix in CHECKPOINT_SUFFIXES)
        if not found:
            raise InputError(f"no checkpoint ({', '.join(CHECKPOINT_SUFFIXES)}) in {path}")
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise InputError(f"several checkpoints in {path} ({names}): name one with path:<file>")
        checkpoint, folder = found[0], path
    if checkpoint.suffix not in CHECKPOINT_SUFFIXES:
        raise InputError(f"not a checkpoint file (want {', '.join(CHECKPOINT_SUFFIXES)}): {checkpoint}")
    vocab = folder / "vocab.txt"
    vocos_dir = _vocos_dir_in(folder)
    if vocos_dir is None:
        raise InputError(
            f"no Vocos vocoder next to {checkpoint}: put config.yaml and pytorch_model.bin of "
            f"{preset.vocos_repo} in {folder / 'vocos'}"
        )
    return ResolvedWeights(
        kind="path",
        checkpoint=str(checkpoint),
        vocab=str(vocab) if vocab.is_file() else None,
        vocos_dir=vocos_dir,
    )
