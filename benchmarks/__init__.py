"""The benchmark suite: our middleware against the bare app and its peers, side by side.

``python -m benchmarks`` (or ``nox -s bench``) runs every variant in one process,
interleaved in rounds, and prints one table per driver; ``--quick`` is a smoke run.
See docs/performance.md for what is measured and how to read it.
"""
