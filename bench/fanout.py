"""Socket.IO fan-out on this machine: Sidestage beside a Node socket.io server and a raw one.

    .venv/bin/python bench/fanout.py            # about 4 minutes
    .venv/bin/python bench/fanout.py --quick    # smaller rooms, shorter windows
    .venv/bin/python bench/fanout.py --wave     # only the start of a wave (below)

One load generator (``fanout_kit/clients.py``, one process per core) drives all three
servers the same way over raw websockets, speaking the Engine.IO / Socket.IO wire protocol
itself, and reports its own CPU (each server has its own generator processes). The
servers, all three up at once, each measured while the others sit idle:

- ``node``: socket.io 4.8 on Node.js (``fanout_kit/node/server.js``);
- ``raw``: aiohttp websockets that build each frame once (``fanout_kit/raw_server.py``);
- ``sidestage``: ``sidestage serve`` on the embedded default, the demo program loaded.

Each server runs on a core of its own and the generators on the others, as the clients of
a deployed server are on other machines (``bench_common/cores.py`` says why); the
two-process cluster below is not pinned.

Phases, in one room (the demo's public side event for Sidestage), each server in turn:

1. join storm: 1,000 participants connect and enter at once; seconds, joins a second,
   and the server's resident memory per participant, read once they are idle (KB/p).
   Connections the kernel turned away from a full accept queue are counted (JSON and a
   note under the row): each costs its client a second. All three servers listen with
   the same backlog as ``sidestage serve``;
2. fan-out capacity: chat at 30 messages a second into the 1,000 for 5 s; deliveries a
   second and server CPU (user + system, from /proc) per delivery. Five rounds, each
   going through the servers in turn: this machine's speed drifts from one minute to the
   next (the same server's CPU per delivery moved by a third between runs, and single
   rounds' ratios to raw from 1.07 to 1.79 within one run), so the ratios compare the
   servers within each round, and the median round's ratio is the result. The table
   shows each server's median round, and the line under it that round's split between
   user space (the server's own code) and the kernel (mostly the sends);
3. latency: 1,000 more join, then 10 messages a second into the 2,000 for 10 s; p50 and
   p99 from send to arrival at every participant (a note under the row if Sidestage
   logged its event loop held up meanwhile, with how long);
   Sidestage only, then: live captions, a captioner (an organizer) sending 3 lines a
   second for as long, each to all 2,000: p50 and p99 from send to arrival (target: p99
   at most 300 ms);
4. vote burst: the 2,000 vote at once in a poll a moderator opened; the tallies the
   moderator receives must equal the votes acknowledged; votes a second, and seconds from
   the last acknowledgement to the exact tally's arrival.

Then Sidestage alone as deployed (``--no-cluster`` skips it): two ``sidestage serve``
processes sharing PostgreSQL and Redis (``SIDESTAGE_BENCH_POSTGRES``,
``SIDESTAGE_BENCH_REDIS``; the bench empties its own database and Redis database), 10,000
participants over 15 rooms, each connection to either process: the joins, chat at one
message a second in every room for 10 s (p50, p99), then everyone votes in their room's
poll (10,000 votes, exact tallies, results after the last vote).

Last, the start of a wave (``--wave`` runs it alone; ``--no-cluster`` skips it too), on
the same two processes started afresh: a speaker in each of the 15 rooms (on the
processes in turn, chatting from a process of their own) posts 2 messages a second; a
second later 5,000 people enter the 15 rooms at once, over both processes, and the chat
goes on 3 s after the last is in. Each joiner keeps its ``room.enter`` answer's ``seq``
and chat, and every ``chat.posted`` it receives, before the answer too; then each is held
against its room's feed in the database (``room_events``): missed, a message numbered
after its entry that never came; doubled, one that came twice, or although the entry's
state held it; not the room's, a number and message the room never had together.
Reported: join time (first connect to last answer) and joins a second, each one's wait
from connecting to its answer (an entry answered ``server.busy`` is tried again a second
later, as its message asks, and counted), the servers' CPU meanwhile, messages sent,
deliveries expected and received, missed, doubled, not the room's (and out of order),
latency p50 and p99 from each send to each receipt and to the speaker's ack; where
something went wrong, the room and process and a few of the joiners in full, and what
the servers logged.

Every phase fails (exit 1) if a message is missing or a tally is wrong; the wave does
once its lines are printed, on a message missed, doubled or not the room's, or a send
refused or not acknowledged within 30 s. Redis pub/sub channels are shared by every
database of a Redis server: give the bench a Redis server of its own
(``SIDESTAGE_BENCH_REDIS``) while tests use the same one, or their rooms' events reach
the bench's rooms of the same number (the wave counts them as not the room's). Output: a
table, then one JSON line with Sidestage's CPU per delivery as ratios to Node's and raw's
(the median, and each round's) and the wave's figures.
Targets: ratio to Node at most 1.0, to raw at most 1.5; p99 at most 100 ms at 2,000;
1,000 joins in 1 s; at most 50 KB per idle participant; the 15 rooms' p99 at most 250 ms;
exact tallies within 1 s of the last vote; the wave all in within 5 s, 0 missed, 0
doubled, p99 at most 250 ms (printed under it, met or not). ``--quick``: 1,000 joiners in
5 rooms, 2 s of chat after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_common.children import BenchError, Child, serve
from bench_common.cores import pin, placement
from fanout_kit.clients import ClientsRole
from fanout_kit.phases import (
    Load,
    broadcast,
    captions,
    join_storm,
    median_round,
    summary_of,
    vote_burst,
    wave,
    wave_failed,
)
from fanout_kit.servers import Cluster, Server, start, start_cluster

from sidestage.platform.collector import tune_for_serving

ENTRY = str(Path(__file__).resolve())
SERVERS = ("node", "raw", "sidestage")
GENERATORS = os.cpu_count() or 1
CLUSTER_PROCESSES = 2
CAPACITY_ROUNDS = 5
WAVE_RATE = 2.0  # chat messages a second in each room during the wave


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "join": 250, "capacity_rate": 20.0, "capacity_s": 3.0, "latency_s": 4.0,
            "cluster_participants": 1500, "cluster_rooms": 5, "cluster_s": 4.0,
            "wave_joiners": 1000, "wave_rooms": 5, "wave_tail_s": 2.0,
        }  # fmt: skip
    return {
        "join": 1000, "capacity_rate": 30.0, "capacity_s": 5.0, "latency_s": 10.0,
        "cluster_participants": 10_000, "cluster_rooms": 15, "cluster_s": 10.0,
        "wave_joiners": 5000, "wave_rooms": 15, "wave_tail_s": 3.0,
    }  # fmt: skip


async def generators(pinned: bool) -> Load:
    """The load generator's processes: on the cores the server does not have, if ``pinned``."""
    where = placement(1).arguments("clients") if pinned else []
    children = await asyncio.gather(
        *(Child.start(ENTRY, "clients", *where) for _ in range(GENERATORS))
    )
    return Load(list(children))


@dataclass
class Stand:
    """One server under test and the generator processes that drive it."""

    name: str
    server: Server
    load: Load


async def measure_all(names: list[str], quick: bool, workdir: Path) -> dict[str, dict[str, Any]]:
    """Every server up at once, measured in turn: the join storms one after another, then
    the fan-out capacity in ``CAPACITY_ROUNDS`` rounds that go through the servers in turn
    (so each round compares the servers over the same minute of a machine whose speed
    drifts), then latency and the vote burst for each."""
    plan = sizes(quick)
    stands: list[Stand] = []
    try:
        for name in names:
            server = await start(name, 2 * plan["join"] + 1, workdir)
            stands.append(Stand(name, server, await generators(pinned=True)))
        await _settled([stand.server for stand in stands])
        rows: dict[str, dict[str, Any]] = {stand.name: {} for stand in stands}
        for stand in stands:
            rows[stand.name]["joins"] = await join_storm(stand.load, stand.server, plan["join"])
        for _ in range(CAPACITY_ROUNDS):
            for stand in stands:
                window = (plan["capacity_rate"], plan["capacity_s"])
                done = await broadcast(stand.load, [stand.server], [stand.server.room], *window)
                rows[stand.name].setdefault("capacity_rounds", []).append(done)
        for row in rows.values():
            row["capacity"] = median_round(row["capacity_rounds"])
        for stand in stands:
            rows[stand.name] |= await _latency_and_votes(stand, plan)
        return rows
    except BenchError:
        print_errors([stand.server for stand in stands])
        raise
    finally:
        for stand in stands:
            await stand.load.close()
            await stand.server.stop()


async def _settled(servers: list[Server], within: float = 30.0) -> None:
    """Until no server is still busy starting up (Sidestage's first program reads, Node's
    compiling), which would otherwise land in the first join storm: each used under 2% of
    a core over the last half second, or ``within`` seconds have passed."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = [server.cpu() for server in servers]
        await asyncio.sleep(0.5)  # the window the CPU is read over
        if all(server.cpu() - used < 0.01 for server, used in zip(servers, before, strict=True)):
            return


async def _latency_and_votes(stand: Stand, plan: dict[str, Any]) -> dict[str, Any]:
    server, load, rooms = stand.server, stand.load, [stand.server.room]
    moderator = server.tokens[-1]  # Sidestage's is an organizer; the references take anyone
    await load.join([server.url], server.room, server.tokens[plan["join"] : 2 * plan["join"]])
    latency = await broadcast(load, [server], rooms, 10.0, plan["latency_s"])
    result = {"latency": latency}
    if stand.name == "sidestage":  # live captions: the others have none
        rate, seconds = CAPTION_RATE, plan["latency_s"]
        result["captions"] = await captions(load, server, server.room, moderator, rate, seconds)
    votes = await vote_burst(load, [server], rooms, moderator, stand.name == "sidestage")
    return result | {"votes": votes}


CAPTION_RATE = 3.0  # lines a second: a fast captioner, or speech recognition's pace


def print_errors(servers: list[Server], warnings: bool = False) -> None:
    """What the servers logged of errors (and with ``warnings``, of warnings), to stderr: a
    failed phase's cause is often there, and the working directory with the logs is
    removed on the way out."""
    for server in servers:
        logged = server.logged_errors()
        if warnings:
            logged = "\n".join(server.logged_warnings() + [logged]).strip()
        said = logged or "nothing of note"
        print(f"--- {server.name} (port {server.port}) logged:\n{said}", file=sys.stderr)


def _memory(servers: list[Server]) -> int:
    return sum(server.memory() for server in servers)


@contextlib.asynccontextmanager
async def running_cluster(
    participants: int, rooms: int, workdir: Path, speakers: bool = False
) -> AsyncIterator[tuple[Cluster, Load]]:
    """The two-process cluster and its load generators, stopped on the way out; what the
    servers logged of errors is printed if a phase fails."""
    cluster = await start_cluster(CLUSTER_PROCESSES, participants, rooms, workdir, speakers)
    load = await generators(pinned=False)  # two servers: nobody is pinned
    try:
        yield cluster, load
    except BenchError:
        print_errors(cluster.servers)
        raise
    finally:
        await load.close()
        await cluster.stop()


async def measure_cluster(quick: bool, workdir: Path) -> dict[str, Any]:
    """Sidestage's production shape: two processes, PostgreSQL and Redis; participants in
    many rooms at once, chatting, then all voting."""
    plan = sizes(quick)
    running = running_cluster(plan["cluster_participants"], plan["cluster_rooms"], workdir)
    async with running as (cluster, load):
        memory_before, started = _memory(cluster.servers), time.monotonic()
        for index, room in enumerate(cluster.rooms):
            await load.join(cluster.urls, room, cluster.tokens[index :: len(cluster.rooms)])
        join_s = time.monotonic() - started
        print(f"(cluster: {load.joined} joined in {join_s:.1f} s; chat next)", file=sys.stderr)
        chat = await broadcast(load, cluster.servers, cluster.rooms, 1.0, plan["cluster_s"])
        votes = await vote_burst(load, cluster.servers, cluster.rooms, cluster.moderator, True)
        memory = _memory(cluster.servers) - memory_before
        return {
            "processes": CLUSTER_PROCESSES,
            "participants": load.joined,
            "join_s": join_s,
            "bytes_per_participant": memory / load.joined,
            "chat": chat,
            "votes": votes,
        }


async def measure_wave(quick: bool, workdir: Path) -> dict[str, Any]:
    """The start of a wave on the two-process cluster: everyone enters at once while every
    room chats (``phases.wave``). The speakers chat from a process of their own, so that
    the joins the generators work through do not hold their sends back."""
    plan = sizes(quick)
    joiners, rooms = plan["wave_joiners"], plan["wave_rooms"]
    async with running_cluster(joiners, rooms, workdir, speakers=True) as (cluster, load):
        speakers = Load([await Child.start(ENTRY, "clients")])
        try:
            row = await wave(load, speakers, cluster, joiners, WAVE_RATE, plan["wave_tail_s"])
        finally:
            await speakers.close()
        if wave_failed(row):
            print_errors(cluster.servers, warnings=True)  # before the logs go
        return row


def caption_line(row: dict[str, Any]) -> str:
    target = "PASS" if row["p99_ms"] <= CAPTION_P99_MS else "FAIL"
    return (
        f"  captions: {row['lines']} lines ({row['language']}) to {row['room']} people, "
        f"p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms "
        f"(target p99 <= {CAPTION_P99_MS} ms: {target})"
    )


CAPTION_P99_MS = 300  # issue 25's target at 2,000 participants


def line(name: str, row: dict[str, Any]) -> str:
    joins, capacity, latency, votes = row["joins"], row["capacity"], row["latency"], row["votes"]
    return (
        f"{name:<10}{joins['joins']:>6}{joins['seconds']:>8.2f}{joins['per_s']:>8.0f}"
        f"{joins['bytes_per_participant'] / 1024:>7.1f}"
        f"{capacity['room']:>7}{capacity['deliveries_per_s']:>10.0f}"
        f"{capacity['server_us_per_delivery']:>9.1f}{capacity['generator_cpu_s']:>8.1f}"
        f"{latency['room']:>7}{latency['p50_ms']:>9.1f}{latency['p99_ms']:>9.1f}"
        f"{votes['votes']:>7}{votes['votes_per_s']:>8.0f}{votes['results_after_last_vote_s']:>9.2f}"
    )


HEADER = (
    f"{'server':<10}{'joins':>6}{'join s':>8}{'join/s':>8}{'KB/p':>7}{'room':>7}{'deliv/s':>10}"
    f"{'us/deliv':>9}{'gen cpu':>8}{'room':>7}{'p50 ms':>9}{'p99 ms':>9}"
    f"{'votes':>7}{'vote/s':>8}{'result s':>9}"
)


def split_line(rows: dict[str, dict[str, Any]]) -> str:
    """Each server's CPU per delivery in its median capacity round, user + system: its
    own code, and the kernel's work for it (mostly the sends)."""
    parts = [
        f"{name} {row['capacity']['server_user_us_per_delivery']:.1f} + "
        f"{row['capacity']['server_system_us_per_delivery']:.1f}"
        for name, row in rows.items()
    ]
    return "  us per delivery, user + system: " + ", ".join(parts)


def cluster_lines(row: dict[str, Any]) -> str:
    chat, votes = row["chat"], row["votes"]
    return (
        f"sidestage, {row['processes']} processes, PostgreSQL + Redis: "
        f"{row['participants']} participants in {chat['rooms']} rooms, joined in "
        f"{row['join_s']:.1f} s, {row['bytes_per_participant'] / 1024:.1f} KB each\n"
        f"  chat at {chat['rate']:.0f}/s per room: {chat['deliveries']} deliveries, p50 "
        f"{chat['p50_ms']:.1f} ms, p99 {chat['p99_ms']:.1f} ms, "
        f"{chat['server_us_per_delivery']:.1f} us CPU per delivery\n"
        f"  vote burst: {votes['votes']} votes in {votes['rooms']} polls, exact, "
        f"{votes['votes_per_s']:.0f} votes/s, results {votes['results_after_last_vote_s']:.2f} s "
        f"after the last vote"
    )


def held_up(phase: dict[str, Any]) -> None:
    """A note when Sidestage logged its event loop held up while this phase was measured,
    or a load generator's own loop was (its latencies then include it): what a stall in
    the p99 came from."""
    stalls = phase["loop_held_up_ms"]
    if stalls:
        print(f"  (event loop held up {len(stalls)} times meanwhile, longest {max(stalls):.0f} ms)")
    late = phase["generator_held_up_ms"]
    if late:
        print(
            f"  (a load generator's own event loop was held up {len(late)} times, longest"
            f" {max(late):.0f} ms: the latencies include it)"
        )


def wave_lines(row: dict[str, Any]) -> str:
    met = ", ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in row["targets_met"].items())
    lines = [
        f"the start of a wave: sidestage, {row['processes']} processes, PostgreSQL + Redis: "
        f"{row['joiners']} joined {row['rooms']} rooms in {row['join_s']:.1f} s "
        f"({row['joins_per_s']:.0f} joins/s) while each room chatted at {row['rate']:.0f}/s",
        f"  messages sent {row['sent']} (refused, or no ack within 30 s: {row['sends_refused']});"
        f" deliveries expected {row['expected']}, received "
        f"{row['received']}; missed {row['missed']}, doubled {row['doubled']}, not the room's "
        f"{row['not_the_rooms']}, out of order {row['out_of_order']}",
        f"  each one's entry, connect to answer: p50 {row['entry_p50_s']:.2f} s, p99 "
        f"{row['entry_p99_s']:.2f} s, longest {row['entry_max_s']:.2f} s; answered "
        f"server.busy (and tried again a second later): {row['entries_busy']}",
        f"  servers' CPU over the joins, chat's fan-out included: {row['server_cpu_s']:.1f} s, "
        f"{row['server_cores']:.2f} of {os.cpu_count()} cores; the load generators' "
        f"{row['generator_cpu_s']:.1f} s; the whole machine's {row['machine_cpu_s']:.1f} s, "
        f"{row['machine_cores']:.2f} cores",
        f"  latency from send to receipt: p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms"
        f" (to the speaker's ack: p50 {row['ack_p50_ms']:.1f} ms, p99 {row['ack_p99_ms']:.1f} ms)",
        f"  targets: {met}",
    ]
    for place, found in row["places"].items():
        lines.append(
            f"  {place}: {found['joiners']} joiners missed {found.get('missed', 0)}, doubled "
            f"{found.get('doubled', 0)}, not the room's {found.get('not_the_rooms', 0)}, out of "
            f"order {found.get('out_of_order', 0)}"
        )
    lines += [f"  e.g. {json.dumps(example)}" for example in row["examples"] + row["refusals"]]
    return "\n".join(lines)


async def run(quick: bool, names: list[str], cluster: bool, waves: bool) -> None:
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()}", flush=True)
    print(f"cores: {placement(1).describe()}; the two-process cluster: not pinned", flush=True)
    with tempfile.TemporaryDirectory(prefix="sidestage-fanout-") as workdir:
        rows = await _single_servers(names, quick, Path(workdir)) if names else {}
        clustered = await measure_cluster(quick, Path(workdir)) if cluster else None
        waved = await measure_wave(quick, Path(workdir) / "wave") if waves else None
    if clustered:
        print("\n" + cluster_lines(clustered), flush=True)
        held_up(clustered["chat"])
    if waved:
        print("\n" + wave_lines(waved), flush=True)
        held_up(waved)
    summary = _summary(rows, clustered, waved)
    report = {"bench": "fanout", "quick": quick, "rows": rows, "cluster": clustered}
    print("\n" + json.dumps(summary))
    print(json.dumps(report | {"wave": waved, "summary": summary}))
    failed = wave_failed(waved) if waved else None
    if failed:
        raise BenchError(f"the wave: {failed}")


async def _single_servers(names: list[str], quick: bool, workdir: Path) -> dict[str, Any]:
    """The servers one by one, each on a core of its own: the table's rows, printed."""
    print(HEADER, flush=True)
    rows = await measure_all(names, quick, workdir)
    for name, row in rows.items():
        print(line(name, row), flush=True)
        overflows = row["joins"]["listen_overflows"]
        if overflows:
            print(f"  ({overflows} joins found the accept queue full: 1 s lost each)")
        held_up(row["latency"])
        if "captions" in row:
            print(caption_line(row["captions"]), flush=True)
    print(split_line(rows), flush=True)
    return rows


def _summary(
    rows: dict[str, Any], clustered: dict[str, Any] | None, waved: dict[str, Any] | None
) -> dict[str, Any]:
    summary = summary_of(rows)
    side = rows.get("sidestage")
    if side:
        summary |= {
            "p99_ms_at_2000": side["latency"]["p99_ms"],
            "caption_p99_ms_at_2000": side["captions"]["p99_ms"],
            "join_s": side["joins"]["seconds"],
            "kb_per_idle_participant": side["joins"]["bytes_per_participant"] / 1024,
            "results_after_last_vote_s": side["votes"]["results_after_last_vote_s"],
        }
    if clustered:
        summary |= {
            "cluster_p99_ms": clustered["chat"]["p99_ms"],
            "cluster_votes": clustered["votes"]["votes"],
            "cluster_results_after_last_vote_s": clustered["votes"]["results_after_last_vote_s"],
        }
    if waved:
        summary |= {f"wave_{key}": waved[key] for key in WAVE_SUMMARY}
        summary["wave_targets_met"] = all(waved["targets_met"].values())
    return summary


WAVE_SUMMARY = (
    "joiners", "join_s", "joins_per_s", "server_cores", "generator_cpu_s", "machine_cores",
    "entries_busy", "sent",
    "sends_refused", "expected", "received", "missed", "doubled", "p50_ms", "p99_ms",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller rooms, shorter windows")
    parser.add_argument(
        "--servers",
        nargs="*",
        choices=SERVERS,
        default=list(SERVERS),
        help="none: the two-process runs only",
    )
    parser.add_argument(
        "--no-cluster",
        action="store_true",
        help="skip the two-process PostgreSQL + Redis runs (the cluster and the wave)",
    )
    parser.add_argument(
        "--wave", action="store_true", help="only the start of a wave (two processes)"
    )
    parser.add_argument("--role", choices=["clients"], help=argparse.SUPPRESS)
    parser.add_argument("--cpus", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        pin(args.cpus)
        tune_for_serving()  # thousands of connections: as the server, no second-long pauses
        role = ClientsRole()
        asyncio.run(serve(role.handlers(), role.close))
        return
    names, cluster = ([], False) if args.wave else (args.servers, not args.no_cluster)
    try:
        asyncio.run(run(args.quick, names, cluster, args.wave or cluster))
    except BenchError as error:
        sys.exit(f"fanout bench FAILED: {error}")


if __name__ == "__main__":
    main()
