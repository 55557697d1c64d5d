"""Benchmarks: scripts that print tables. Run with ``make bench`` or ``python -m benchmarks.<name>``."""
