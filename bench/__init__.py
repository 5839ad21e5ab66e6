"""Benchmarks over ../shared/corpus; each module writes its figures into bench/RESULTS.md."""
