"""tts-harness: benchmark and regression gates for F5-TTS + Vocos speech synthesis."""

__version__ = "0.1.0"
