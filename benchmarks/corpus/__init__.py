"""Real third-party notebooks to check wfnb's cache on (python -m benchmarks.corpus)."""
