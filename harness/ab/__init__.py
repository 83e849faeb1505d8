"""A/B comparisons measured for the gate: arms interleaved in one process (``gate-check``, an
injected slowdown against none) or two code revisions in alternating processes (``ab``), both
stopping on the sequential test of ``harness.sequential``."""
