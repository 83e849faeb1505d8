"""Vocoder backends: mel spectrogram in, waveform out, each checked against PyTorch Vocos."""
