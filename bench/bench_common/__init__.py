"""What the benchmarks in ``bench/`` share: the parent/child JSON-lines protocol
(``children``) and the server's core apart from the load generators' (``cores``)."""
