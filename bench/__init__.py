"""Benchmarks: ``python -m bench.run`` (see bench/README.md). They print figures; they never assert."""
