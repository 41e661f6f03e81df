"""What the benchmarks in ``bench/`` share: the parent/child JSON-lines protocol."""
