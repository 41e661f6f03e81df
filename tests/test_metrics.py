"""/metrics: Prometheus's text format, counted per app, served to localhost (or the
configured networks, or a token) only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from ipaddress import ip_network
from pathlib import Path

import prometheus_client
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from sidestage.platform import fast_paths
from sidestage.platform.errors import ConfigurationError
from sidestage.platform.settings import DB_TIMEOUT, LOCALHOST, Settings, load_settings
from sidestage.realtime.accel import BROADCASTS
from sidestage.web.app import create_app
from sidestage.web.keys import METRICS
from tests.helpers import bearer
from tests.rooms_world import World

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
TOKEN = "m" * 32


async def scrape(http: TestClient, headers: Mapping[str, str] | None = None) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_commands_connections_rooms_and_deliveries_are_counted(world: World) -> None:
    amina, omar = await world.guest("Amina"), await world.guest("Omar")
    room = world.public.id
    for guest in (amina, omar):
        await guest.ok("room.enter", {"session_id": room})
    before = await scrape(world.http)

    for text in ("one", "two", "three"):
        await amina.ok("chat.send", {"session_id": room, "text": text})
    refused = await amina.call("chat.send", {"session_id": room})  # no text
    assert refused["error"]["code"] == "chat.invalid"
    await omar.wait_for("chat.posted", lambda posted: posted["text"] == "three")
    after = await scrape(world.http)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("sidestage_commands_total", command="chat.send", outcome="ok") == 3
    assert moved("sidestage_commands_total", command="chat.send", outcome="chat.invalid") == 1
    assert moved("sidestage_command_seconds_count", command="chat.send") == 4
    assert moved("sidestage_command_seconds_bucket", command="chat.send", le="+Inf") == 4
    assert value(after, "sidestage_commands_total", command="room.enter", outcome="ok") == 2
    assert value(after, "sidestage_connections") == 2
    assert value(after, "sidestage_live_rooms") == 1
    # Three messages to two people, and one ack for each of the four commands (acks are
    # counted where the fast path writes them: python-socketio's own sends count nothing).
    broadcasts = sum(moved("sidestage_deliveries_total", kind="broadcast", path=p) for p in PATHS)
    replies = sum(moved("sidestage_deliveries_total", kind="reply", path=p) for p in PATHS)
    assert (broadcasts, replies) == (6, 4 if fast_paths.runs(BROADCASTS) else 0)


PATHS = ("direct", "queued", "stock")


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_fanout_lag_and_error_counters_are_exposed(client: TestClient) -> None:
    metrics = client.app[METRICS]
    metrics.fanout_lag.observe(0.02)  # as the room delivery code does
    metrics.unreachable("database")
    metrics.unreachable("redis")
    metrics.unreachable("redis")
    samples = await scrape(client)
    assert value(samples, "sidestage_fanout_lag_seconds_count") == 1
    assert value(samples, "sidestage_fanout_lag_seconds_bucket", le="0.025") == 1
    assert value(samples, "sidestage_database_errors_total") == 1
    assert value(samples, "sidestage_redis_errors_total") == 2


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_each_app_counts_apart(settings: Settings) -> None:
    first, second = create_app(settings), create_app(settings)
    assert first[METRICS] is not second[METRICS]
    first[METRICS].unreachable("database")
    assert b"sidestage_database_errors_total 1.0" in first[METRICS].exposition()
    assert b"sidestage_database_errors_total 0.0" in second[METRICS].exposition()
    # Nothing lands in prometheus-client's process-wide registry.
    assert b"sidestage_" not in prometheus_client.generate_latest(prometheus_client.REGISTRY)


FROM_ELSEWHERE = {"X-Forwarded-For": "203.0.113.7"}


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_only_local_or_allowed_scrapers(settings: Settings, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    behind_proxy = replace(settings, trust_proxy=True, metrics_token=TOKEN)
    http = await aiohttp_client(create_app(behind_proxy))
    await scrape(http)  # the test client is on 127.0.0.1
    await scrape(http, {"X-Forwarded-For": "127.0.0.1"})  # a proxy on the same host
    refused = await http.get("/metrics", headers=FROM_ELSEWHERE)
    assert refused.status == 403
    assert "sidestage_" not in await refused.text()
    wrong = await http.get("/metrics", headers={**FROM_ELSEWHERE, **bearer("x" * 32)})
    assert wrong.status == 403
    await scrape(http, {**FROM_ELSEWHERE, **bearer(TOKEN)})

    office = replace(behind_proxy, metrics_from=(ip_network("203.0.113.0/24"),))
    http = await aiohttp_client(create_app(office))
    await scrape(http, FROM_ELSEWHERE)
    assert (await http.get("/metrics")).status == 403  # the list replaces localhost


def test_settings(tmp_path: Path) -> None:
    base = {"SIDESTAGE_DATA_DIR": str(tmp_path)}
    default = load_settings(base)
    assert default.metrics_from == LOCALHOST and default.metrics_token is None
    assert default.db_timeout == DB_TIMEOUT
    given = load_settings(
        {
            **base,
            "SIDESTAGE_METRICS_FROM": "10.0.0.0/8, 192.168.1.7",
            "SIDESTAGE_METRICS_TOKEN": TOKEN,
            "SIDESTAGE_DB_TIMEOUT": "2.5",
        }
    )
    assert given.metrics_from == (ip_network("10.0.0.0/8"), ip_network("192.168.1.7/32"))
    assert given.metrics_token == TOKEN and given.db_timeout == 2.5
    for bad in (
        {"SIDESTAGE_METRICS_FROM": "10.0.0.0/33"},
        {"SIDESTAGE_METRICS_FROM": "intranet"},
        {"SIDESTAGE_METRICS_TOKEN": "short"},
        {"SIDESTAGE_DB_TIMEOUT": "0"},
        {"SIDESTAGE_DB_TIMEOUT": "soon"},
    ):
        with pytest.raises(ConfigurationError):
            load_settings({**base, **bad})


def test_the_deployment_keeps_metrics_inside_and_checks_readiness() -> None:
    import yaml

    root = Path(__file__).resolve().parents[1]
    nginx = (root / "deploy" / "nginx.conf").read_text()
    assert re.search(r"location = /metrics \{\s*return 404;", nginx)
    compose = yaml.safe_load((root / "compose.yaml").read_text())
    assert "/readyz" in " ".join(compose["services"]["app"]["healthcheck"]["test"])
