"""Socket.IO fan-out on this machine: Sidestage beside a Node socket.io server and a raw one.

    .venv/bin/python bench/fanout.py            # about 3 minutes
    .venv/bin/python bench/fanout.py --quick    # smaller rooms, shorter windows

One load generator (``fanout_kit/clients.py``, one process per core) drives all three
servers the same way over raw websockets, speaking the Engine.IO / Socket.IO wire protocol
itself, and reports its own CPU. The servers, each alone on the machine in turn:

- ``node``: socket.io 4.8 on Node.js (``fanout_kit/node/server.js``);
- ``raw``: aiohttp websockets that build each frame once (``fanout_kit/raw_server.py``);
- ``sidestage``: ``sidestage serve`` on the embedded default, the demo program loaded.

Phases, in one room (the demo's public side event for Sidestage):

1. join storm: 1,000 participants connect and enter at once; seconds, joins a second,
   and the server's resident memory per participant, read once they are idle (KB/p);
2. fan-out capacity: chat at 30 messages a second into the 1,000 for 5 s; deliveries a
   second and server CPU (user + system, from /proc) per delivery;
3. latency: 1,000 more join, then 10 messages a second into the 2,000 for 10 s; p50 and
   p99 from send to arrival at every participant.

Every phase fails (exit 1) if a message is missing. Output: a table, then one JSON line
with Sidestage's CPU per delivery as ratios to Node's and raw's. Targets: ratio to Node
at most 1.0, to raw at most 1.5; p99 at most 100 ms at 2,000; 1,000 joins in 1 s; at most
50 KB per idle participant. Not measured yet: the vote burst across two processes, and 15
rooms with 10,000 participants at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_common.children import BenchError, Child, serve
from fanout_kit.clients import ClientsRole
from fanout_kit.phases import Load, broadcast, join_storm, summary_of
from fanout_kit.servers import start

ENTRY = str(Path(__file__).resolve())
SERVERS = ("node", "raw", "sidestage")
GENERATORS = os.cpu_count() or 1


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"join": 250, "capacity_rate": 20.0, "capacity_s": 3.0, "latency_s": 4.0}
    return {"join": 1000, "capacity_rate": 30.0, "capacity_s": 5.0, "latency_s": 10.0}


async def measure(name: str, quick: bool, workdir: Path) -> dict[str, Any]:
    plan = sizes(quick)
    server = await start(name, 2 * plan["join"], workdir)
    children = await asyncio.gather(*(Child.start(ENTRY, "clients") for _ in range(GENERATORS)))
    load = Load(list(children))
    try:
        joins = await join_storm(load, server, plan["join"])
        capacity = await broadcast(load, server, plan["capacity_rate"], plan["capacity_s"])
        await load.join(server, plan["join"])
        latency = await broadcast(load, server, 10.0, plan["latency_s"])
        return {"joins": joins, "capacity": capacity, "latency": latency}
    finally:
        await asyncio.gather(*(child.close() for child in children))
        await server.stop()


def line(name: str, row: dict[str, Any]) -> str:
    joins, capacity, latency = row["joins"], row["capacity"], row["latency"]
    return (
        f"{name:<10}{joins['joins']:>6}{joins['seconds']:>8.2f}{joins['per_s']:>8.0f}"
        f"{joins['bytes_per_participant'] / 1024:>7.1f}"
        f"{capacity['room']:>7}{capacity['deliveries_per_s']:>10.0f}"
        f"{capacity['server_us_per_delivery']:>9.1f}{capacity['generator_cpu_s']:>8.1f}"
        f"{latency['room']:>7}{latency['p50_ms']:>9.1f}{latency['p99_ms']:>9.1f}"
    )


HEADER = (
    f"{'server':<10}{'joins':>6}{'join s':>8}{'join/s':>8}{'KB/p':>7}{'room':>7}{'deliv/s':>10}"
    f"{'us/deliv':>9}{'gen cpu':>8}{'room':>7}{'p50 ms':>9}{'p99 ms':>9}"
)


async def run(quick: bool, names: list[str]) -> None:
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()}", flush=True)
    print(HEADER, flush=True)
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="sidestage-fanout-") as workdir:
        for name in names:
            rows[name] = await measure(name, quick, Path(workdir))
            print(line(name, rows[name]), flush=True)
    summary = summary_of(rows)
    side = rows.get("sidestage")
    if side:
        summary |= {
            "p99_ms_at_2000": side["latency"]["p99_ms"],
            "join_s": side["joins"]["seconds"],
            "kb_per_idle_participant": side["joins"]["bytes_per_participant"] / 1024,
        }
    print("\n" + json.dumps(summary))
    print(json.dumps({"bench": "fanout", "quick": quick, "rows": rows, "summary": summary}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller rooms, shorter windows")
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    parser.add_argument("--role", choices=["clients"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        role = ClientsRole()
        asyncio.run(serve(role.handlers(), role.close))
        return
    try:
        asyncio.run(run(args.quick, args.servers))
    except BenchError as error:
        sys.exit(f"fanout bench FAILED: {error}")


if __name__ == "__main__":
    main()
