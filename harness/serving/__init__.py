"""Serving the live stream: arrivals, streaming, dynamic batching, open-loop load, SLO search, HTTP."""
