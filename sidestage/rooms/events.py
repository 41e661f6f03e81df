"""Domain events and their audiences, collected in an outbox and delivered after commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel


@dataclass(frozen=True)
class Audience:
    """Who receives an event. Moderation traffic names moderators and never reaches the room."""

    kind: str  # "room", "moderators", "user", "poll_voters", "marathon"
    key: int | str = 0

    @property
    def channel(self) -> str:
        return {
            "room": f"s:{self.key}",
            "moderators": f"s:{self.key}:mod",
            "user": f"u:{self.key}",
            "poll_voters": f"p:{self.key}:voters",
            "marathon": "marathon",
        }[self.kind]


def room(session_id: int) -> Audience:
    return Audience("room", session_id)


def moderators(session_id: int) -> Audience:
    return Audience("moderators", session_id)


def user(account_id: int) -> Audience:
    return Audience("user", account_id)


def poll_voters(poll_id: int) -> Audience:
    return Audience("poll_voters", poll_id)


MARATHON = Audience("marathon")


ModelT = TypeVar("ModelT", bound=type[BaseModel])

# Every broadcast's name and payload model; docs/protocol.md documents each one.
CATALOG: dict[str, type[BaseModel]] = {}


def broadcast(*names: str) -> Callable[[ModelT], ModelT]:
    def register(model: ModelT) -> ModelT:
        for name in names:
            CATALOG[name] = model
        return model

    return register


# Coalesced on a tick, where only the latest counts: never numbered, never replayed.
SIGNALS = frozenset({"room.count_changed", "poll.results_changed", "marathon.counts"})


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]
    audience: Audience

    @property
    def sequenced(self) -> bool:
        """A room event every participant must see: numbered in the room's feed and
        delivered without gaps (``rooms/feed``)."""
        return self.audience.kind == "room" and self.name not in SIGNALS


@dataclass
class Outbox:
    """Events a command produced; published only once its transaction has committed."""

    events: list[Event] = field(default_factory=list)
    dirty_polls: set[int] = field(default_factory=set)
    # Transport steps (joining channels, presence) that must wait for the commit too.
    after_commit: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    # Undo for hot state changed before the commit, should the transaction fail.
    on_rollback: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    def add(self, name: str, body: BaseModel, audience: Audience) -> None:
        if CATALOG.get(name) is not type(body):
            raise ValueError(f"event {name} is not declared with {type(body).__name__}")
        self.events.append(Event(name, body.model_dump(mode="json"), audience))

    def poll_changed(self, poll_id: int) -> None:
        """Tallies are coalesced on a tick, not sent per vote."""
        self.dirty_polls.add(poll_id)
