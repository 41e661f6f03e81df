"""Stage media fan-out on this machine: viewers per core, CPU per packet, latency per hop.

    .venv/bin/python bench/stage.py            # full run, about 3 minutes
    .venv/bin/python bench/stage.py --quick    # about 1 minute

Side by side, in the same run: the Sidestage forwarder (``sidestage.realtime.media``:
encoded frames fanned out, nothing decoded or re-encoded) and stock aiortc ``MediaRelay``
(the published track decoded once, re-encoded for every viewer). Each setup runs its
processes apart, so each side's CPU is its own:

- publisher: one aiortc peer sending 640x480 VP8 at 30 fps pinned to 1 Mbit/s (a moving
  gradient with a band of noise, so the encoder really fills it) and Opus (a tone);
- server: the publisher's receiving peer, the forwarder or the relay, and the sending side
  of N viewer peers. Its CPU (``time.process_time()``, all threads) is measured over a
  steady window;
- viewers: N aiortc peers that connect (ICE, DTLS) and check and decrypt every packet
  with SRTP like any aiortc viewer, then only read its RTP header to count frames
  (``stage_kit/viewers.py``): never depayloading, assembling or decoding, which is all a
  load generator needs. They are spread over one process per core
  (``stage_kit/viewer_pool.py``), each scheduled SCHED_IDLE.

The server has a core to itself, as a media worker has in production (one per core): it
is pinned to the first core, the publisher and the viewers to the others
(``bench_common/cores.py`` says why; the ``relayed`` setup, two servers, is not pinned).

A third setup, ``relayed``, is the forwarder over two server processes, as when a room
outgrows one media worker: the publisher's (the origin) and an edge that relays its
forwarders over TCP on loopback (``sidestage.realtime.media.relay``); viewers join them in
turn. Its server CPU is both processes', and an edge viewer's added latency includes the
relay hop.

A fourth, ``channel``, is simultaneous interpretation: the publisher sends a second sound
(an interpreter's channel); 100 sound-only viewers join on the floor's sound and are each
handed to the channel (``Forwarder.hand_over``), then back and forth, as listeners
choosing a language do: the seconds from each hand-over to the first frame from the new
source leaving for that viewer ("switch"), and, over the window, a channel's listeners
per core against the sound-only viewers' at the same count (targets: p99 switch within a
second; at least 0.9 of the sound-only figure).

Viewers per core = viewers served / server CPU seconds per second, where a viewer counts
only for the share of the publisher's frames it received (a server that drops frames does
not look fast). Every window fails (exit 1) if the publisher's frames stop reaching the
server or a viewer gets under a tenth of them. A row is marked SAT where the cores filled
up (over 85%: the server's core or the load generators', or the whole machine when
unpinned): there the machine, not the server's cost, limits it, and the summary leaves it
out.

Added latency per hop, video, in a second window after the CPU one (noting send times costs
CPU): the publisher notes when each frame's last packet left it, the server when it left
for each of 10 sampled viewers, the viewers when it arrived. One network leg's baseline
(publisher to server, no viewers yet) is measured first. Added = (server sent to viewer -
publisher sent) - 1 leg: what the server adds, the loopback leg to the viewer being ~0.
"In server" = (server sent to viewer - server's receiver got the frame's last packet):
the part of "added" after the server read the packet off its socket (the rest is the wait
for its loop, or for a core, before that). "At viewer" = (viewer arrival - publisher
sent) - 2 legs: it also counts the viewers process's own queueing, a load-generator
artefact, so it is an upper bound. RTP timestamps get a random origin per sender: the
publisher stamps frames with their capture time, whose scheduling jitter makes the gaps
distinctive enough to align each viewer's with its own.

Output: a table, then one JSON line. Targets (PASS/FAIL, a result, not an error): at least
300 video viewers per core, at most 5 ms added per hop.

Code: this file is the entry point (and each child's, with --role); the parts are in
``bench/stage_kit/``, whose docstring lists them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict

from bench_common.cores import pin, placement

# sys.path[0] is this file's folder, for this process and for the children it starts with
# --role, so the package next to it imports without being installed.
from stage_kit import report
from stage_kit.aiortc_patches import offer_loopback_only, pin_video_bitrate
from stage_kit.child_processes import serve
from stage_kit.common import BenchError, JsonDict
from stage_kit.plans import plans
from stage_kit.publisher import PublisherRole
from stage_kit.rows import Row
from stage_kit.server import ServerRole
from stage_kit.stage_run import run_plan
from stage_kit.viewers import ViewersRole

from sidestage.platform.collector import tune_for_serving

VIEWERS_NICENESS = 10  # where SCHED_IDLE is missing


def yield_to_the_server() -> None:
    """The viewers processes run only on a core nothing else wants (SCHED_IDLE).

    Why: they stand in for people on other machines, but here they share the server's two
    cores and are woken by the very packets the server is sending. At nice 10 they still
    preempted the server in the middle of a fan-out: alternating runs at 100 viewers gave
    p99 added latency 8.4, 10.2, 6.7 ms at nice 10 against 6.8, 6.2, 5.7 ms with SCHED_IDLE,
    and the fan-out's CPU time (p99 4.3 ms) was half its wall time (p99 8.9 ms).
    """
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(VIEWERS_NICENESS)


async def run(quick: bool) -> None:
    window = 4.0 if quick else 10.0
    load_start = os.getloadavg()
    print(f"machine: {report.machine()}; load {load_start}; window {window:g} s", flush=True)
    print(f"cores: {placement(1).describe()}; relayed: {placement(2).describe()}", flush=True)
    print(report.HEADER, flush=True)
    rows: list[Row] = []
    legs: list[JsonDict] = []
    for plan in plans(quick):
        plan_rows, leg = await run_plan(plan, window)
        rows += plan_rows
        legs += [leg] if not plan.audio_only else []
    summary = report.summary(rows, legs)
    print("\n" + "\n".join(report.summary_lines(summary)))
    result = {
        "bench": "stage",
        "quick": quick,
        "window_s": window,
        "machine": {**report.machine(), "load_start": load_start, "load_end": os.getloadavg()},
        "cores": {"one server": placement(1).describe(), "relayed": placement(2).describe()},
        "summary": summary,
        "rows": [{**asdict(r), "saturated": r.saturated} for r in rows],
    }
    print(json.dumps(result))


def child_main(role: str, mode: str, cpus: str | None) -> None:
    """One of the child processes, answering the parent's requests until it says close."""
    pin(cpus)
    offer_loopback_only()
    pin_video_bitrate()
    if role == "viewers":
        yield_to_the_server()
    if role == "server":
        tune_for_serving()  # the collector as a media worker sets it: no full-heap pauses

    async def main() -> None:
        actor: PublisherRole | ServerRole | ViewersRole
        if role == "publisher":
            actor = PublisherRole()
        elif role == "viewers":
            actor = ViewersRole()
        else:
            actor = ServerRole(mode)
        await serve(actor.handlers(), actor.close)

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer viewers, shorter windows")
    parser.add_argument(
        "--role", choices=["publisher", "server", "viewers"], help=argparse.SUPPRESS
    )
    parser.add_argument("--mode", choices=["forwarder", "relay"], help=argparse.SUPPRESS)
    parser.add_argument("--cpus", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        child_main(args.role, args.mode, args.cpus)
        return
    try:
        asyncio.run(run(args.quick))
    except BenchError as error:
        sys.exit(f"stage bench FAILED: {error}")


if __name__ == "__main__":
    main()
