"""Benchmarks: `python -m scripts.bench.all` (`make bench`) runs them all, one table."""
