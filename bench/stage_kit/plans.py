"""What one run measures: each setup (forwarder or relay, with or without video) and its steps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    mode: str  # "forwarder", "relayed" (two forwarder processes, the second relaying), "relay"
    audio_only: bool
    counts: tuple[int, ...]
    # Sound only, every viewer's sound handed from the floor to an interpretation channel
    # (a second audio track of the publisher's) once connected, as a listener choosing a
    # language: what one channel's listeners cost, and how soon the channel reaches them.
    interpreted: bool = False

    @property
    def media(self) -> str:
        if self.interpreted:
            return "channel"
        return "audio" if self.audio_only else "video+audio"

    @property
    def kind(self) -> str:
        """The kind whose frames are counted: video when there is video."""
        return "audio" if self.audio_only else "video"


def plans(quick: bool) -> list[Plan]:
    if quick:
        return [
            Plan("forwarder", False, (10, 25)),
            Plan("forwarder", True, (25,)),
            Plan("forwarder", True, (25,), interpreted=True),
            Plan("relayed", False, (50,)),
            Plan("relay", False, (2, 5)),
            Plan("relay", True, (5,)),
        ]
    return [
        Plan("forwarder", False, (10, 25, 50, 100)),
        Plan("forwarder", True, (25, 50, 100)),
        Plan("forwarder", True, (100,), interpreted=True),
        # The same stage over two workers, the publisher's and an edge relaying from it, at
        # the counts one worker has above (200 would saturate this machine's load generator).
        Plan("relayed", False, (50, 100)),
        # Five relay viewers already take over a core (an encoder each): ten would take the
        # machine, and the relay's frames then come too late to match for the latency.
        Plan("relay", False, (2, 5)),
        Plan("relay", True, (5, 10)),
    ]
