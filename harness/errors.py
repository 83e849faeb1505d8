"""Error types the CLI turns into one line and an exit code."""

from __future__ import annotations

import re

_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s:]*(:[^/@\s]*)?@")


def redact(text: str) -> str:
    """``text`` with the user and password of every URI in it hidden (``http://u:p@host`` ->
    ``http://***@host``): tracking URIs may carry credentials, and messages and logs must not."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's first line, cut to ``limit`` characters (its type when it has no message)."""
    lines = str(exc).splitlines()
    return lines[0][:limit] if lines else type(exc).__name__


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


class NonFiniteOutput(HarnessError):
    """A configuration produced NaN or Inf in its mel or waveform."""


class GateFailure(HarnessError):
    """A threshold or baseline gate failed; the message names the measurement."""

    exit_code = 1
