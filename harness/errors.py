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


# The exit codes of every command (docs/cli.md): a crash is never read as a regression.
EXIT_GATE = 1  # a regression, or a gate that failed (broken head, --strict inconclusive, thresholds)
EXIT_INPUT = 2  # bad input or usage: a suite, an option, a file; nothing was measured or judged
EXIT_CRASH = 3  # a bug in the harness or a library below it: the traceback is printed
EXIT_ENVIRONMENT = 4  # the machine failed the command: disk full, a folder not writable, out of memory
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT) or SIGTERM: finished work is kept, --resume continues


class Terminated(KeyboardInterrupt):
    """SIGTERM, taken like Ctrl-C so a sweep saves, marks itself interrupted and says how to resume."""


class HarnessError(Exception):
    """An expected failure with a message meant for the user (one line, no traceback)."""

    exit_code = EXIT_INPUT


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

    exit_code = EXIT_GATE
