"""Benchmarks for monitor: ``python -m bench`` (see bench/README.md)."""
