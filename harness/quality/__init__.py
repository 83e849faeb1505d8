"""Quality proxies: ASR word error rate, spectral distance to a reference render, speaker similarity."""
