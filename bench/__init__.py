"""Chronicle's benchmarks: Chronicle beside the raw driver and the ``eventsourcing`` library.

Run with ``make bench`` (full) or ``make bench-quick``; see ``bench/run.py`` for the options.
Benchmarks are run on demand and are never part of the test suite.
"""
