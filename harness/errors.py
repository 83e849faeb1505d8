"""Error types the CLI turns into one line and an exit code."""

from __future__ import annotations


class HarnessError(Exception):
    """An expected failure with a message meant for the user (one line, no traceback)."""

    exit_code = 2


class ConfigError(HarnessError):
    """A suite file, option or configuration value is invalid."""


class InputError(HarnessError):
    """An input file (audio, checkpoint, results, baseline, ONNX model) is missing or unusable."""


class WeightsUnavailable(HarnessError):
    """Model weights were asked for from a source that cannot provide them here."""


class BackendUnavailable(HarnessError):
    """A vocoder, ASR or telemetry backend cannot run on this machine."""


class GateFailure(HarnessError):
    """A threshold or baseline gate failed; the message names the measurement."""

    exit_code = 1
