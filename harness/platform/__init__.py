"""What machine state a result was measured in: fingerprint, telemetry sources, preflight."""
