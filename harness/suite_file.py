"""Reading a suite file: TOML to a checked ``SuiteConfig``; every key checked, a typo names the key
and the file."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import tomllib

from harness.choices import check_choice, suggest
from harness.config import (
    PREFLIGHT_POLICIES,
    Level,
    QualityConfig,
    RooflineConfig,
    RunConfig,
    ScenarioConfig,
    SuiteConfig,
    TextItem,
    Thresholds,
    TimingConfig,
)
from harness.errors import ConfigError
from harness.results import SAFE_ID
from harness.sequential import GatePolicy
from harness.serving.config import ServingConfig

_MATRIX_AXES = {
    "model": "model",
    "weights": "weights",
    "nfe": "nfe",
    "precision": "precision",
    "compile": "compile_mode",
    "vocoder": "vocoder",
    "device": "device",
    "batch_size": "batch_size",
    "pipeline": "pipeline",
    "ode_fp32": "ode_fp32",
    "frame_bucket": "frame_bucket",
    "cudnn_benchmark": "cudnn_benchmark",
    "attention": "attention",
    "pos_conv": "pos_conv",
    "freezing": "freezing",
    "quant": "quant",
    "stream": "stream",
    "max_batch": "max_batch",
}
_SYNTHESIS_KEYS = ("cfg_strength", "sway_sampling_coef", "use_epss", "seed")
_TOP_KEYS = (
    "suite",
    "matrix",
    "synthesis",
    "texts",
    "texts_from",
    "reference",
    "timing",
    "thresholds",
    "preflight",
    "exclude",
    "vocoder_options",
    "quality",
    "scenario",
    "gate",
    "roofline",
    "serving",
)
# Keys that moved to another table: the error says where they went.
_MOVED = {"min_effect": "[gate]", "alpha": "[gate]"}


def _check_keys(table: Mapping[str, Any], allowed: Iterable[str], where: str, path: Path) -> None:
    allowed = list(allowed)
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{path}: unknown key {key!r} in {where}{suggest(key, allowed)}")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _level(table: Any, name: str, path: Path) -> Level | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: thresholds.{name} must be a table with warning and critical")
    _check_keys(table, ("warning", "critical"), f"[thresholds.{name}]", path)
    if "warning" not in table or "critical" not in table:
        raise ConfigError(f"{path}: thresholds.{name} needs both warning and critical")
    try:
        return Level(warning=table["warning"], critical=table["critical"])
    except ConfigError as exc:
        raise ConfigError(f"{path}: thresholds.{name}: {exc}") from None


def resolve_suite_path(name: str | Path) -> Path:
    """A suite path as given, or a bare name looked up under ``suites/``."""
    path = Path(name)
    if path.exists():
        return path
    for candidate in (Path("suites") / path, Path("suites") / f"{path}.toml"):
        if candidate.exists():
            return candidate
    raise ConfigError(f"suite file not found: {name}")


def _test_set_texts(data: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """``texts_from = "NAME"``: a test set's texts as [[texts]] entries, spoken against the suite's
    ``[reference]`` (``audio`` and ``text``)."""
    name = data.get("texts_from")
    if name is None:
        if "reference" in data:
            raise ConfigError(f"{path}: [reference] is for texts_from; [[texts]] name their own reference")
        return []
    from harness.textsets import load_test_set, test_set_path

    if not isinstance(name, str):
        raise ConfigError(f'{path}: texts_from names a test set, e.g. "live-stream"; got {name!r:.40}')
    reference = data.get("reference")
    if not isinstance(reference, dict) or set(reference) != {"audio", "text"}:
        raise ConfigError(f"{path}: texts_from needs [reference] with audio and text (the voice of every text)")
    return [
        {"id": t.id, "text": t.text, "reference_audio": reference["audio"], "reference_text": reference["text"]}
        for t in load_test_set(test_set_path(name, path))
    ]


def load_suite(name: str | Path) -> SuiteConfig:
    """A suite file as a checked ``SuiteConfig``; anything malformed is one ``ConfigError``."""
    path = resolve_suite_path(name)
    if not path.is_file():
        raise ConfigError(f"{path} is not a file: a suite is a TOML file")
    try:
        return _load_suite(path)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a table or value of the wrong kind
        raise ConfigError(f"{path}: malformed suite ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None


def _load_suite(path: Path) -> SuiteConfig:
    raw_bytes = path.read_bytes()
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    _check_keys(data, _TOP_KEYS, "the suite", path)
    head = data.get("suite", {})
    _check_keys(head, ("name", "description"), "[suite]", path)
    name = head.get("name", path.stem)
    if not isinstance(name, str) or not SAFE_ID.fullmatch(name) or name.startswith("."):
        raise ConfigError(
            f"{path}: [suite] name {name!r:.60} must be letters, digits, '.', '_' or '-' (it names folders and files)"
        )
    matrix = data.get("matrix", {})
    _check_keys(matrix, _MATRIX_AXES, "[matrix]", path)
    synthesis = data.get("synthesis", {})
    _check_keys(synthesis, _SYNTHESIS_KEYS, "[synthesis]", path)
    timing_raw = data.get("timing", {})
    _check_keys(timing_raw, [f.name for f in fields(TimingConfig)], "[timing]", path)
    thresholds_raw = data.get("thresholds", {})
    for key in thresholds_raw:
        if key in _MOVED:
            raise ConfigError(f"{path}: [thresholds] {key} is now {_MOVED[key]} {key}")
    _check_keys(thresholds_raw, [f.name for f in fields(Thresholds)], "[thresholds]", path)
    gate_raw = data.get("gate", {})
    _check_keys(gate_raw, [f.name for f in fields(GatePolicy)], "[gate]", path)
    roofline_raw = data.get("roofline", {})
    _check_keys(roofline_raw, [f.name for f in fields(RooflineConfig)], "[roofline]", path)
    scenario_raw = data.get("scenario", {})
    _check_keys(scenario_raw, [f.name for f in fields(ScenarioConfig)], "[scenario]", path)
    quality_raw = data.get("quality", {})
    serving_raw = data.get("serving", {})
    _check_keys(serving_raw, [f.name for f in fields(ServingConfig)], "[serving]", path)
    _check_keys(quality_raw, [f.name for f in fields(QualityConfig)], "[quality]", path)

    axes = {field_name: _as_list(matrix[key]) for key, field_name in _MATRIX_AXES.items() if key in matrix}
    if any(len(values) == 0 for values in axes.values()):
        raise ConfigError(f"{path}: the matrix is empty (an axis has no values)")
    excludes = [dict(item) for item in data.get("exclude", [])]
    for item in excludes:
        _check_keys(item, _MATRIX_AXES, "[[exclude]]", path)
    runs: list[RunConfig] = []
    names = list(axes)
    for combo in itertools.product(*(axes[name] for name in names)):
        point = dict(zip(names, combo, strict=True))
        if any(all(point.get(_MATRIX_AXES[k]) in _as_list(v) for k, v in ex.items()) for ex in excludes):
            continue
        try:
            runs.append(RunConfig(**point, **synthesis))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        except TypeError as exc:
            raise ConfigError(f"{path}: bad value in [matrix] or [synthesis]: {exc}") from None
    if not runs:
        raise ConfigError(f"{path}: the matrix is empty")

    texts_raw = data.get("texts", []) + _test_set_texts(data, path)
    if not texts_raw:
        raise ConfigError(f"{path}: no [[texts]] and no texts_from given")
    if not isinstance(texts_raw, list) or not all(isinstance(item, dict) for item in texts_raw):
        raise ConfigError(f"{path}: texts must be [[texts]] tables (id, text, reference_audio, reference_text)")
    ids = [item.get("id") for item in texts_raw]
    if len(set(map(str, ids))) != len(ids):
        raise ConfigError(
            f"{path}: [[texts]] ids must be unique; repeated: {sorted({str(i) for i in ids if ids.count(i) > 1})}"
        )
    texts = []
    for item in texts_raw:
        _check_keys(item, [f.name for f in fields(TextItem)], "[[texts]]", path)
        try:
            texts.append(TextItem(**item))
        except TypeError as exc:
            raise ConfigError(f"{path}: [[texts]] entry is incomplete: {exc}") from None
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    try:
        timing = TimingConfig(**timing_raw)
        quality = QualityConfig(**quality_raw)
        scenario = ScenarioConfig(**scenario_raw)
        gate = GatePolicy(**gate_raw)
        roofline = RooflineConfig(**roofline_raw)
        serving = ServingConfig(**serving_raw)
        thresholds = Thresholds(
            rtf=_level(thresholds_raw.get("rtf"), "rtf", path),
            cv=_level(thresholds_raw.get("cv"), "cv", path),
            **{k: v for k, v in thresholds_raw.items() if k not in ("rtf", "cv")},
        )
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except TypeError:  # a string where a number belongs, say: the dataclasses compare it
        where = "[timing], [quality], [scenario], [serving] or [gate]"
        raise ConfigError(f"{path}: a value in {where} has the wrong type") from None
    preflight_raw = data.get("preflight", {})
    _check_keys(preflight_raw, ("policy", "power_mode"), "[preflight]", path)
    preflight = preflight_raw.get("policy", "tag")
    try:
        check_choice("preflight policy", preflight, PREFLIGHT_POLICIES)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    vocoder_options = data.get("vocoder_options", {})
    from harness.vocoders import registry

    for backend in vocoder_options:
        try:
            registry.check_name(backend)
        except ConfigError as exc:
            raise ConfigError(f"{path}: [vocoder_options]: {exc}") from None
    return SuiteConfig(
        name=name,
        description=head.get("description", ""),
        path=str(path),
        runs=tuple(runs),
        texts=tuple(texts),
        timing=timing,
        thresholds=thresholds,
        preflight=preflight,
        power_mode=preflight_raw.get("power_mode"),
        quality=quality,
        scenario=scenario,
        serving=serving,
        gate=gate,
        roofline=roofline,
        vocoder_options=vocoder_options,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
    )
