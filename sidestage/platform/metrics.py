"""What one process counts, for Prometheus at ``/metrics``.

The registry belongs to the app that creates ``Metrics`` (never prometheus-client's global
one), so two apps in one process, as in the tests, count apart. Figures the process keeps
anyway (connections, rooms, deliveries) are read when scraped, through ``read_at_scrape``,
and cost nothing on the paths that move them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from sidestage.platform.outages import DATABASE

CONTENT_TYPE = CONTENT_TYPE_LATEST
# From a command answered out of memory (about 0.1 ms) to one that waited for a frozen
# database to time out (seconds).
SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
Samples = Iterable[tuple[Sequence[str], float]]  # label values, then the value


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "sidestage_commands",
            "Live-room commands answered, by command and outcome (ok, or the error code).",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.command_seconds = Histogram(
            "sidestage_command_seconds",
            "Time from a command's arrival to its answer, waiting for its turn included.",
            ["command"],
            buckets=SECONDS,
            registry=self.registry,
        )
        self.fanout_lag = Histogram(
            "sidestage_fanout_lag_seconds",
            "Time from a room event's commit to its delivery to the room's connections.",
            buckets=SECONDS,
            registry=self.registry,
        )
        self.database_errors = Counter(
            "sidestage_database_errors",
            "Requests, commands and handshakes failed because the database was unreachable.",
            registry=self.registry,
        )
        self.redis_errors = Counter(
            "sidestage_redis_errors",
            "Requests, commands and handshakes failed because Redis was unreachable.",
            registry=self.registry,
        )

    def command_answered(self, command: str, outcome: str, seconds: float) -> None:
        self.commands.labels(command, outcome).inc()
        self.command_seconds.labels(command).observe(seconds)

    def unreachable(self, service: str) -> None:
        """One failure for want of ``service`` (``outages.DATABASE`` or ``REDIS``)."""
        (self.database_errors if service == DATABASE else self.redis_errors).inc()

    def read_at_scrape(
        self,
        name: str,
        documentation: str,
        read: Callable[[], Samples],
        *,
        labels: Sequence[str] = (),
        counter: bool = False,
    ) -> None:
        """A gauge (or a counter kept elsewhere) whose samples ``read`` gives when scraped."""
        self.registry.register(_Reading(name, documentation, read, labels, counter))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _Reading:
    def __init__(
        self,
        name: str,
        documentation: str,
        read: Callable[[], Samples],
        labels: Sequence[str],
        counter: bool,
    ) -> None:
        self._family = CounterMetricFamily if counter else GaugeMetricFamily
        self._name, self._documentation, self._labels = name, documentation, list(labels)
        self._read = read

    def _empty(self) -> CounterMetricFamily | GaugeMetricFamily:
        return self._family(self._name, self._documentation, labels=self._labels)

    def describe(self) -> Iterator[Metric]:
        yield self._empty()  # the name, so the registry refuses a second one

    def collect(self) -> Iterator[Metric]:
        family = self._empty()
        for values, value in self._read():
            family.add_metric(list(values), value)
        yield family
