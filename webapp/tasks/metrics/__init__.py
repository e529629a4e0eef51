"""Metrics per kind and queue: histogram bins, percentiles from the rollup, charts, Prometheus."""
