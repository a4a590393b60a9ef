"""wfnb's benchmark suite: wfnb next to the tools users would use instead, on the same machine.

One module per workload family (fingerprints, storage, memory, hits, listing), each a
``run(ctx)`` that measures wfnb and its peers on the same data and records the issue's
targets; ``python -m benchmarks`` runs them and writes docs/benchmarks.md.
"""
