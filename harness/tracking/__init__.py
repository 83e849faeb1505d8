"""Tracking: results directories logged to MLflow, during a sweep or afterwards."""
