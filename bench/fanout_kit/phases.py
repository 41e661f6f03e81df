"""The measured phases, run the same way against every server.

Every phase fails (``BenchError``) if a message is missing: each ``chat.send`` must reach
every participant in the room, the senders included. The start of a wave (``wave``) counts
what is missing instead, joiner by joiner against the room's numbered feed, and reports it.
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from bench_common.children import BenchError, Child, JsonDict

from .servers import Cluster, Server, room_feed

# Messages a second one person may send: Sidestage allows 5 in 10 s (chat's own limit).
CHAT_PER_SENDER = 0.45
IDLE_SETTLE = 2.0  # seconds after the joins before idle participants' memory is read
DRAIN_WITHIN = 60.0  # seconds for every delivery to arrive after the last send
RESULTS_WITHIN = 30.0  # seconds for exact tallies to reach the moderator after the votes
WAVE_LEAD = 1.0  # seconds the rooms chat before the first joiner connects
WAVE_CHAT_UNTIL = 600.0  # seconds: the speakers' bound; they stop when told, long before
SETTLE_WITHIN = 10.0  # seconds for every message to reach every joiner after the chat
# After everything arrived, how long a second copy is waited for: each process compares its
# rooms' numbers with the database once a second, and a wrong resend would come from there.
LATE_COPY_WITHIN = 1.5
WAVE_JOIN_TARGET_S = 5.0
WAVE_P99_TARGET_MS = 250.0
WAVE_COUNTS = ("expected", "received", "missed", "doubled", "out_of_order", "not_the_rooms")
ENTRY_FIGURES = ("entry_p50_s", "entry_p99_s", "entry_max_s", "entries_busy")
FAILING = {  # what fails the wave, as the message says it
    "missed": "missed",
    "doubled": "doubled",
    "not_the_rooms": "not the room's",
    "sends_refused": "sends refused or unacknowledged",
}


@dataclass
class Load:
    """The load generator's processes, the participants spread evenly over them."""

    children: list[Child]
    members: dict[int, int] = field(default_factory=dict)  # room -> participants in it

    @property
    def joined(self) -> int:
        return sum(self.members.values())

    async def join(
        self, urls: list[str], rooms: int | list[int], tokens: list[str], record: bool = False
    ) -> JsonDict:
        """``tokens`` connect (round robin over ``urls``) and enter ``rooms``: one room for
        all, or the i-th token the i-th room. With ``record``, each keeps what it entered
        at and received (``Joiner`` in ``clients.py``)."""
        each = [rooms] * len(tokens) if isinstance(rooms, int) else rooms
        count = len(self.children)
        results = await asyncio.gather(
            *(
                child.call(
                    "join",
                    wait_s=600,
                    urls=urls,
                    rooms=each[i::count],
                    tokens=tokens[i::count],
                    record=record,
                )
                for i, child in enumerate(self.children)
                if tokens[i::count]
            )
        )
        for room in each:
            self.members[room] = self.members.get(room, 0) + 1
        entries = sorted(took for r in results for took in r["entries_s"])
        return {
            "seconds": max(r["last"] for r in results) - min(r["started"] for r in results),
            "count": sum(r["count"] for r in results),
            # One person's wait, from connecting to the answer: whether the last ones in
            # waited long, or only came late.
            "entry_p50_s": _percentile(entries, 50),
            "entry_p99_s": _percentile(entries, 99),
            "entry_max_s": entries[-1],
            "entries_busy": sum(r["busy"] for r in results),  # refused, and tried again
        }

    async def cpu(self) -> float:
        return sum(await asyncio.gather(*(c.call("cpu") for c in self.children)))

    async def collect(self, reset: bool = False) -> list[JsonDict]:
        return list(await asyncio.gather(*(c.call("collect", reset=reset) for c in self.children)))

    async def close(self) -> None:
        await asyncio.gather(*(child.close() for child in self.children))


async def join_storm(load: Load, server: Server, count: int) -> JsonDict:
    """``count`` participants connect and enter at once; also what each costs in memory."""
    memory_before, overflows_before = server.memory(), listen_overflows()
    tokens = server.tokens[load.joined : load.joined + count]
    joined = await load.join([server.url], server.room, tokens)
    overflows = listen_overflows() - overflows_before
    await asyncio.sleep(IDLE_SETTLE)  # joins' transient buffers and tasks are done with
    return {
        "joins": count,
        "seconds": joined["seconds"],
        "per_s": count / joined["seconds"],
        "bytes_per_participant": (server.memory() - memory_before) / count,
        "listen_overflows": overflows,
    }


def listen_overflows() -> int:
    """Connections the kernel turned away from a full accept queue, machine-wide so far
    (Linux's TcpExt ListenOverflows). Each such client tries again only a second later,
    so a join storm with any of them takes over a second, however fast the server."""
    with open("/proc/net/netstat") as stats:
        lines = [line.split() for line in stats if line.startswith("TcpExt:")]
    names, values = lines[0], lines[1]
    return int(values[names.index("ListenOverflows")])


async def broadcast(
    load: Load, servers: list[Server], rooms: list[int], rate: float, seconds: float
) -> JsonDict:
    """Chat at ``rate`` for ``seconds`` into each of ``rooms`` at once; deliveries, latency,
    and the servers' CPU used."""
    await load.collect(reset=True)
    senders = math.ceil(rate / CHAT_PER_SENDER)
    logged = [server.log_size() for server in servers]
    (user_before, system_before), load_before = _cpu_split(servers), await load.cpu()
    wall_before = time.time()
    answers = await asyncio.gather(*_chat(load, rooms, rate, seconds, senders=senders))
    _accepted(servers, "sends", answers)
    per_room = int(rate * seconds)
    expected = per_room * sum(load.members[room] for room in rooms)
    counts = await _drained(load, expected)
    wall = time.time() - wall_before
    user_after, system_after = _cpu_split(servers)
    user, system = user_after - user_before, system_after - system_before
    cpu = user + system
    return {
        "rooms": len(rooms),
        "room": load.joined,
        "rate": rate,
        "sent": per_room * len(rooms),
        "deliveries": expected,
        "deliveries_per_s": expected / wall,
        "server_cpu_s": cpu,
        "server_us_per_delivery": cpu / expected * 1e6,
        # Where a difference between servers lies: user space is each one's own code;
        # system is the kernel's work for it, mostly the sends (on loopback, the
        # receiving half of each too). Read in clock ticks: a rough split.
        "server_user_us_per_delivery": user / expected * 1e6,
        "server_system_us_per_delivery": system / expected * 1e6,
        "generator_cpu_s": await load.cpu() - load_before,
    } | _latency(servers, logged, counts)


async def captions(
    load: Load, server: Server, room: int, token: str, rate: float, seconds: float
) -> JsonDict:
    """A captioner sends ``rate`` lines a second for ``seconds`` into ``room``, where
    everyone joined so far is: latency from each line's send to its arrival at everyone."""
    await load.collect(reset=True)
    logged = [server.log_size()]
    answer = await load.children[0].call(
        "caption", wait_s=seconds + 120, url=server.url, token=token, room=room, rate=rate,
        seconds=seconds,
    )  # fmt: skip
    _accepted([server], "captions", [answer])
    expected = answer["sent"] * load.members[room]
    counts = await _drained(load, expected)
    result = {"room": load.members[room], "language": answer["language"], "lines": answer["sent"]}
    return result | {"deliveries": expected} | _latency([server], logged, counts)


def _chat(
    load: Load, rooms: list[int], rate: float, seconds: float, **options: Any
) -> list[Awaitable[Any]]:
    """Each of ``load``'s processes chatting in its share of ``rooms`` (``send`` in
    ``clients.py``, which ``options`` go to): the calls, to be awaited together."""
    shares = [rooms[i :: len(load.children)] for i in range(len(load.children))]
    # Rooms' messages spread evenly over each interval: in step, every room's message
    # would land in the same instant, a burst no conference produces.
    phases = {str(room): index / len(rooms) for index, room in enumerate(rooms)}
    return [
        child.call(
            "send",
            wait_s=seconds + 120,
            rooms=share,
            phases=phases,
            rate=rate,
            seconds=seconds,
            **options,
        )
        for child, share in zip(load.children, shares, strict=True)
        if share
    ]


def _accepted(servers: list[Server], what: str, answers: list[JsonDict]) -> None:
    refused = [r for answer in answers for r in answer["refused"]]
    if refused:
        raise BenchError(f"{servers[0].name}: {what} refused: {refused}")


def _latency(servers: list[Server], logged: list[int], counts: list[JsonDict]) -> JsonDict:
    """p50 and p99 of what the generators collected, and whether a server (by its log
    since ``logged``) or a generator had its event loop held up meanwhile."""
    latencies = sorted(x for c in counts for x in c["latencies"])
    return {
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
        "loop_held_up_ms": [
            ms
            for server, offset in zip(servers, logged, strict=True)
            for ms in server.held_up_since(offset)
        ],
        "generator_held_up_ms": [ms for c in counts for ms in c["held_up_ms"]],
    }


async def wave(
    load: Load, speakers: Load, cluster: Cluster, joiners: int, rate: float, tail_s: float
) -> JsonDict:
    """The start of a wave: ``joiners`` enter the cluster's rooms all at once (the i-th
    the i-th room in turn, the processes in turn) while each room's speaker chats at
    ``rate``, from before the first connects until ``tail_s`` after the last entered.
    Then each joiner's receipts are held against its room's feed: what was missed, what
    came twice, and the latency from each send to each receipt."""
    rooms, servers = cluster.rooms, cluster.servers
    await _seat_speakers(speakers, cluster)
    logged = [server.log_size() for server in servers]
    await asyncio.gather(*_chat(speakers, rooms, rate, WAVE_CHAT_UNTIL, senders=1, background=True))
    await asyncio.sleep(WAVE_LEAD)  # the wave enters rooms that are already talking
    joined = await _everyone_enters(load, cluster, joiners)
    await asyncio.sleep(tail_s)  # chat after the wave: what the last ones in must get too
    sent = await asyncio.gather(*(child.call("sent") for child in speakers.children))
    found = await _checked(load, await room_feed(cluster.database_url, rooms, "chat.posted"))
    result = (
        {"processes": len(servers), "rooms": len(rooms), "rate": rate}
        | joined
        | _sends(sent)
        | found
        | _latency(servers, logged, await load.collect())
    )
    return result | {"targets_met": _wave_targets(result)}


async def _everyone_enters(load: Load, cluster: Cluster, joiners: int) -> JsonDict:
    """The joins of the wave, and the servers' CPU over them (the chat's fan-out meanwhile
    included), in seconds and in cores kept busy: whether they had the machine's cores, or
    shared them with whatever else runs on it."""
    await load.collect(reset=True)
    entering = [cluster.rooms[i % len(cluster.rooms)] for i in range(joiners)]
    cpu_before, load_before = _cpu(cluster.servers), await load.cpu()
    machine_before = machine_busy()
    joined = await load.join(cluster.urls, entering, cluster.tokens[:joiners], record=True)
    cpu = _cpu(cluster.servers) - cpu_before
    machine = machine_busy() - machine_before
    return {
        "joiners": joined["count"],
        "join_s": joined["seconds"],
        "joins_per_s": joined["count"] / joined["seconds"],
        "server_cpu_s": cpu,
        "server_cores": cpu / joined["seconds"],
        # Where the rest of the machine went: the load generators (they share its cores),
        # and everything else (PostgreSQL, Redis, the speakers, the kernel's own work).
        "generator_cpu_s": await load.cpu() - load_before,
        "machine_cpu_s": machine,
        "machine_cores": machine / joined["seconds"],
        **{key: joined[key] for key in ENTRY_FIGURES},
    }


def machine_busy() -> float:
    """Seconds of CPU the whole machine spent busy so far, all cores added (/proc/stat)."""
    with open("/proc/stat") as stats:
        ticks = [int(n) for n in stats.readline().split()[1:]]
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def _sends(sent: list[JsonDict]) -> JsonDict:
    acks = sorted(took for answer in sent for took in answer["acks_s"])
    return {
        "sent": sum(answer["sent"] for answer in sent),
        # Refused, or no ack within 30 s: counted, not a reason to stop before the count.
        "sends_refused": sum(answer["refused_count"] for answer in sent),
        "refusals": [r for answer in sent for r in answer["refused"]][:3],
        # Send to ack: how long the messages waited for their commit, before any fan-out.
        "ack_p50_ms": _percentile(acks, 50) * 1000,
        "ack_p99_ms": _percentile(acks, 99) * 1000,
    }


async def _seat_speakers(speakers: Load, cluster: Cluster) -> None:
    """Each room's speaker enters it, on the processes in turn."""
    urls = cluster.urls
    for index, (room, token) in enumerate(zip(cluster.rooms, cluster.speakers, strict=True)):
        await speakers.join([urls[index % len(urls)]], room, [token])


async def _checked(load: Load, feed: dict[int, list[tuple[int, int]]]) -> JsonDict:
    """The joiners' receipts against ``feed`` once none is missing any more (or
    ``SETTLE_WITHIN`` has passed), looked at again ``LATE_COPY_WITHIN`` later."""
    deadline = time.monotonic() + SETTLE_WITHIN
    while True:
        missed = (await _check(load, feed))["missed"]
        if not missed or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)  # polling the generators' receipts until the last arrives
    await asyncio.sleep(LATE_COPY_WITHIN)  # a second copy, if any, arrives meanwhile
    return await _check(load, feed)


async def _check(load: Load, feed: dict[int, list[tuple[int, int]]]) -> JsonDict:
    """Every generator's ``check``, added up."""
    feed_of = {str(room): events for room, events in feed.items()}
    answers = await asyncio.gather(*(c.call("check", feed=feed_of) for c in load.children))
    counts: Counter[str] = Counter()
    places: dict[str, Counter[str]] = {}
    for answer in answers:
        counts.update(answer["counts"])
        for place, found in answer["places"].items():
            places.setdefault(place, Counter()).update(found)
    examples = [example for answer in answers for example in answer["examples"]]
    return {key: counts.get(key, 0) for key in WAVE_COUNTS} | {
        "places": places,
        "examples": examples,
    }


def wave_failed(result: JsonDict) -> str | None:
    """Why the wave fails the bench, if it does: as in the other phases, a message lost
    (missed, or never acknowledged), one delivered twice, or one the room never had."""
    wrong = [f"{result[key]} {said}" for key, said in FAILING.items() if result[key]]
    return ", ".join(wrong) or None


def _wave_targets(result: JsonDict) -> dict[str, bool]:
    return {
        f"all joined within {WAVE_JOIN_TARGET_S:.0f} s": result["join_s"] <= WAVE_JOIN_TARGET_S,
        "0 missed": result["missed"] == 0,
        "0 doubled": result["doubled"] == 0 and result["not_the_rooms"] == 0,
        f"p99 <= {WAVE_P99_TARGET_MS:.0f} ms": result["p99_ms"] <= WAVE_P99_TARGET_MS,
    }


def _cpu(servers: list[Server]) -> float:
    return sum(server.cpu() for server in servers)


def _cpu_split(servers: list[Server]) -> tuple[float, float]:
    """User and system seconds of all ``servers``, each read once."""
    splits = [server.cpu_split() for server in servers]
    return sum(user for user, _ in splits), sum(system for _, system in splits)


async def vote_burst(
    load: Load, servers: list[Server], rooms: list[int], moderator: str, create: bool
) -> JsonDict:
    """Everyone votes at once in their room's poll; the tallies a moderator then receives
    must be exact, and how long after the last vote they arrive is the result."""
    polls = (
        await load.children[0].call(
            "moderate", url=servers[0].url, token=moderator, rooms=rooms, create=create
        )
    )["polls"]
    cpu_before, started = _cpu(servers), time.time()
    answers = await asyncio.gather(
        *(c.call("vote", wait_s=300, polls=polls) for c in load.children)
    )
    _accepted(servers, "votes", answers)
    cast = _added([answer["counted"] for answer in answers])
    last_vote = max(answer["last"] for answer in answers)
    arrivals = await _exact_results(load.children[0], cast)
    votes = sum(sum(counts) for counts in cast.values())
    return {
        "rooms": len(rooms),
        "votes": votes,
        "votes_per_s": votes / (last_vote - started),
        "results_after_last_vote_s": max(arrivals) - last_vote,
        "server_cpu_s": _cpu(servers) - cpu_before,
    }


def _added(tallies: list[dict[str, list[int]]]) -> dict[str, list[int]]:
    total: dict[str, list[int]] = {}
    for tally in tallies:
        for poll, counts in tally.items():
            into = total.setdefault(poll, [0] * len(counts))
            total[poll] = [a + b for a, b in zip(into, counts, strict=True)]
    return total


async def _exact_results(moderator: Child, cast: dict[str, list[int]]) -> list[float]:
    """When each poll's exact tally reached the moderator; fails on a wrong or missing one."""
    deadline = time.monotonic() + RESULTS_WITHIN
    while True:
        seen = await moderator.call("results")
        exact = [seen[poll][0] for poll, counts in cast.items() if _tally(seen.get(poll)) == counts]
        if len(exact) == len(cast):
            return exact
        if time.monotonic() > deadline:
            wrong = {poll: _tally(seen.get(poll)) for poll in cast}
            raise BenchError(f"tallies received {wrong}, votes acknowledged {cast}")
        await asyncio.sleep(0.2)  # polling the moderator's last results until all are exact


def _tally(seen: list[Any] | None) -> list[int] | None:
    return None if seen is None else list(seen[1]["counts"])


async def _drained(load: Load, expected: int) -> list[JsonDict]:
    deadline = time.monotonic() + DRAIN_WITHIN
    while True:
        counts = await load.collect()
        received = sum(c["received"] for c in counts)
        if received == expected:
            return counts
        if received > expected or time.monotonic() > deadline:
            raise BenchError(f"{received} deliveries of {expected} expected")
        await asyncio.sleep(0.2)  # polling the generators' counters until the last arrives


def _percentile(values: list[float], percent: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(percent) - 1]


def median_round(rounds: list[JsonDict]) -> JsonDict:
    """Of several rounds of a phase, the one with the median CPU per delivery."""
    ordered = sorted(rounds, key=lambda done: done["server_us_per_delivery"])
    return ordered[(len(ordered) - 1) // 2]


def summary_of(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Sidestage's CPU per delivery as ratios to the references' (targets: at most 1.0 to
    Node, 1.5 to raw). Each capacity round compares the servers over the same minute; the
    result is the median of the rounds' ratios, and each round's is listed."""
    summary: dict[str, Any] = {}
    for name in ("node", "raw"):
        if "sidestage" not in rows or name not in rows:
            summary[f"cpu_ratio_to_{name}"] = None
            continue
        mine, theirs = rows["sidestage"]["capacity_rounds"], rows[name]["capacity_rounds"]
        by_round = [
            ours["server_us_per_delivery"] / other["server_us_per_delivery"]
            for ours, other in zip(mine, theirs, strict=True)
        ]
        summary[f"cpu_ratio_to_{name}"] = statistics.median(by_round)
        summary[f"cpu_ratio_to_{name}_by_round"] = by_round
    return summary
