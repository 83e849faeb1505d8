"""Registers the tts-harness pytest plugin (suites under suites/ and the harness's own tests)."""

pytest_plugins = ["harness.pytest_plugin"]
