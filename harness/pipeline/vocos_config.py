"""Vocos from a folder's ``config.yaml`` and ``pytorch_model.bin``, built from a config this module
parses and checks itself.

``Vocos.from_hparams`` (and f5-tts's ``load_vocoder``, which calls it) imports and calls whatever
``class_path`` the YAML names: a weights folder could run ``os.system``. Here each part must name one
of Vocos's own mel classes, its arguments must be plain numbers, strings or booleans, and the classes
are taken from a fixed table, never imported by name. The weights load with ``weights_only=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import InputError

# The parts of a mel Vocos (charactr/vocos-mel-24khz), by the names its config.yaml uses.
ALLOWED = {
    "feature_extractor": ("vocos.feature_extractors.MelSpectrogramFeatures",),
    "backbone": ("vocos.models.VocosBackbone",),
    "head": ("vocos.heads.ISTFTHead",),
}
_PLAIN = (int, float, str, bool, type(None))


def _classes() -> dict[str, type]:
    from vocos.feature_extractors import MelSpectrogramFeatures
    from vocos.heads import ISTFTHead
    from vocos.models import VocosBackbone

    return {
        "vocos.feature_extractors.MelSpectrogramFeatures": MelSpectrogramFeatures,
        "vocos.models.VocosBackbone": VocosBackbone,
        "vocos.heads.ISTFTHead": ISTFTHead,
    }


def parse_config(path: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each part's class name and arguments, checked against ``ALLOWED``; else one ``InputError``."""
    import yaml

    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"Vocos config {path} cannot be read: {str(exc).splitlines()[0]}") from None
    if not isinstance(config, dict):
        raise InputError(f"Vocos config {path} is not a mapping of feature_extractor, backbone and head")
    parts: dict[str, tuple[str, dict[str, Any]]] = {}
    for part, allowed in ALLOWED.items():
        spec = config.get(part)
        if not isinstance(spec, dict) or not isinstance(spec.get("class_path"), str):
            raise InputError(f"Vocos config {path}: {part} needs a class_path")
        name, args = spec["class_path"], spec.get("init_args") or {}
        if name not in allowed:
            raise InputError(f"Vocos config {path}: {part} class {name!r} is not one of {', '.join(allowed)}")
        if not isinstance(args, dict) or not all(isinstance(k, str) and isinstance(v, _PLAIN) for k, v in args.items()):
            raise InputError(f"Vocos config {path}: {part} init_args must map names to numbers, strings or booleans")
        parts[part] = (name, args)
    return parts


def load_vocos_dir(folder: str, device: str) -> Any:
    """A Vocos from ``folder`` (config.yaml, pytorch_model.bin), in eval mode on ``device``."""
    import torch
    from vocos import Vocos

    parts = parse_config(Path(folder) / "config.yaml")
    classes = _classes()
    try:
        built = {part: classes[name](**args) for part, (name, args) in parts.items()}
    except (TypeError, ValueError) as exc:
        raise InputError(f"Vocos config {folder}/config.yaml: {str(exc).splitlines()[0]}") from None
    model = Vocos(**built)
    weights = Path(folder) / "pytorch_model.bin"
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # unpickling refused, wrong keys or shapes: the folder is unusable
        raise InputError(f"Vocos weights {weights} cannot be loaded: {str(exc).splitlines()[0][:200]}") from None
    return model.eval().to(device)
