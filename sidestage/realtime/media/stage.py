"""One media worker's stages: who publishes in each room, who watches, what is recorded.

A publication is one speaker's camera (with microphone) or screen: one publisher peer
connection and a forwarder per track. A watch is one viewer's connection to one
publication, video with audio or audio only, on a seat reserved in the media budget
before any connection is made, so a full worker refuses instead of degrading for all.

With media workers, a room's viewers may outgrow the worker its speakers publish to (the
origin): the budget then seats them on other workers, which relay the publication from
the origin (``relay``) and fan it out to their own viewers. A relayed publication lives on
such an edge while someone there watches it, and ends when the origin's does.

Interpretation: an interpreter publishes a microphone for one language. The first in a
language is on air; another one of the same language stands by until they take over
(``take_over``), so a relay of interpreters hands over without a gap. A listener hears a
language on the sound of their watch (``listen``): the same connection, its audio now fed
by the channel's forwarder instead of the floor's, with no renegotiation. When a channel
ends, its listeners are moved back to the floor before its track stops.

Connections that fail or close (a speaker's laptop sleeps, a viewer's phone changes
network) end their publication or watch here, and ``on_change`` tells the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from sidestage.platform.errors import InvalidInput, NotFound, SidestageError, Unavailable
from sidestage.realtime.media.accel import stage_available
from sidestage.realtime.media.forwarder import Forwarder, ViewerTrack
from sidestage.realtime.media.peers import (
    CodecMismatch,
    Publisher,
    ViewerPeer,
    accept_publisher,
    offer_to_viewer,
)
from sidestage.realtime.media.recorder import Recorder
from sidestage.realtime.media.relay import Published, Relay, RelayRefused
from sidestage.realtime.media_budget import Admission, MediaBudget, Seat

log = logging.getLogger(__name__)
RECORDING_GRACE = 120.0  # seconds an empty stage keeps its file open for a speaker's return
SOURCES = ("camera", "screen", "interpretation")
INTERPRETATION = "interpretation"


@dataclass
class Publication:
    id: str
    session_id: int
    account_id: int
    source: str
    owner: str  # the signalling connection that published it ("" for a relayed one)
    publisher: Publisher | Relay  # Relay: published on another worker, relayed here
    language: str | None = None  # an interpretation channel's
    on_air: bool = True  # an interpreter standing by is not

    @property
    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.publisher.forwarders})

    @property
    def sound(self) -> Forwarder | None:
        return next((f for f in self.publisher.forwarders if f.kind == "audio"), None)

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id,
            "account_id": self.account_id,
            "source": self.source,
            "kinds": self.kinds,
            "language": self.language,
            "on_air": self.on_air,
        }


@dataclass
class Watch:
    id: str
    publication: Publication
    owner: str
    seat: Seat
    peer: ViewerPeer
    hearing: Publication | None = None  # the interpretation channel on its sound, if any

    @property
    def sound(self) -> ViewerTrack | None:
        return next((t for t in self.peer.tracks if t.kind == "audio"), None)


@dataclass
class _Stage:
    publications: dict[str, Publication] = field(default_factory=dict)
    recorder: Recorder | None = None
    channels: dict[str, Recorder] = field(default_factory=dict)  # by interpretation language
    closing: asyncio.TimerHandle | None = None


@dataclass(frozen=True)
class Relaying:
    """Lets a worker relay publications from the other workers: it is ``worker`` in the
    budget, and ``secret`` (the deployment's) signs its relay requests."""

    worker: str
    secret: bytes


ChangeListener = Callable[[int], Awaitable[None]]


class StageHost:
    """Every stage this process carries; the embedded default has one, each worker one."""

    def __init__(
        self,
        budget: MediaBudget,
        configuration: RTCConfiguration | None = None,
        data_dir: Path | None = None,
        relaying: Relaying | None = None,
    ) -> None:
        self.budget = budget
        self.configuration = configuration
        self.data_dir = data_dir  # None: nothing is recorded
        self.relaying = relaying  # None: one process carries every stage (embedded)
        self.on_change: ChangeListener | None = None
        self._rooms: dict[int, _Stage] = {}
        self._publications: dict[str, Publication] = {}
        self._relayed: dict[str, Publication] = {}
        self._opening: dict[str, asyncio.Task[Publication | None]] = {}
        self._joining: Counter[str] = Counter()  # publication id -> watches being set up
        self._watches: dict[str, Watch] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # Publishing

    async def publish(
        self,
        session_id: int,
        account_id: int,
        source: str,
        owner: str,
        offer: str,
        language: str | None = None,
    ) -> tuple[str, str]:
        """Answer a speaker's (or an interpreter's) offer: the publication's id and the
        answer's SDP."""
        if not stage_available():  # this aiortc hands out no encoded frames to forward
            raise refusal(Admission.NO_WORKER)
        if source not in SOURCES or (source == INTERPRETATION) != (language is not None):
            raise InvalidInput("stage.invalid", "Publish a camera or a screen.")
        try:
            publisher, answer = await accept_publisher(
                _description(offer, "offer"), self.configuration
            )
        except ValueError as error:
            log.info("a speaker's offer was refused: %s", error)
            raise InvalidInput(
                "stage.bad_media", "Your browser offered media the stage cannot forward."
            ) from None
        if language is not None and not _sound_only(publisher):
            await publisher.close()
            raise InvalidInput(
                "stage.bad_media", "An interpretation channel is sound only: send a microphone."
            )
        for old in self._find(session_id, account_id, source):
            if old.language == language:  # a new camera (or microphone) replaces the old
                await self._end_publication(old, announce=False)
        publication = Publication(
            uuid.uuid4().hex, session_id, account_id, source, owner, publisher, language
        )
        sound = publication.sound
        if language is not None and sound is not None:  # sound only, checked above
            publication.on_air = self._on_air(session_id, language) is None  # no one else
            sound.before_end = lambda: self._off_air(publication)
        self._publications[publication.id] = publication
        room = self._rooms.setdefault(session_id, _Stage())
        room.publications[publication.id] = publication
        self._record(session_id, room, publication)
        self._follow(publisher.pc, lambda: self._end_publication(publication))
        await self._changed(session_id)
        return publication.id, answer.sdp

    async def unpublish(self, session_id: int, publication_id: str, owner: str) -> None:
        publication = self._publications.get(publication_id)
        if publication is None or (publication.session_id, publication.owner) != (
            session_id,
            owner,
        ):
            raise NotFound("stage.not_found", "There is no such publication.")
        await self._end_publication(publication)

    async def take_over(self, session_id: int, publication_id: str, owner: str) -> None:
        """An interpreter standing by goes on air in their language; the one on air till
        now stands by (their listeners move as they follow ``stage.changed``)."""
        publication = self._publications.get(publication_id)
        if (
            publication is None
            or (publication.session_id, publication.owner) != (session_id, owner)
            or publication.language is None
        ):
            raise NotFound("stage.not_found", "There is no such interpretation channel.")
        if publication.on_air:
            return
        current = self._on_air(session_id, publication.language)
        if current is not None:
            current.on_air = False
        publication.on_air = True
        self._record_channel(session_id, self._rooms[session_id], publication)
        await self._changed(session_id)

    async def listen(
        self, session_id: int, watch_id: str, owner: str, channel_id: str | None
    ) -> None:
        """The watch's sound from now on: the interpretation channel ``channel_id`` (a
        publication of the room, relayed here if it is on another worker), or the floor."""
        watch = self._own_watch(session_id, watch_id, owner)
        sound = watch.sound
        floor = watch.publication.sound
        if sound is None or floor is None:
            raise NotFound("stage.no_audio", "This speaker sends no sound.")
        channel, target = None, floor
        if channel_id is not None:
            channel = await self._to_watch(session_id, channel_id)
            interpreted = channel.sound
            if channel.source != INTERPRETATION or interpreted is None:
                raise NotFound("stage.not_found", "There is no such interpretation channel.")
            target = interpreted
        previous = watch.hearing
        watch.hearing = channel
        sound.forwarder.hand_over(sound, target)
        if previous is not None and previous is not channel:
            await self._end_relayed_if_unwatched(previous)

    def _on_air(self, session_id: int, language: str) -> Publication | None:
        room = self._rooms.get(session_id)
        return next(
            (
                p
                for p in (room.publications.values() if room else ())
                if p.language == language and p.on_air
            ),
            None,
        )

    def _off_air(self, channel: Publication) -> None:
        """The channel's track is ending: its listeners hear the floor again, at once."""
        for watch in [w for w in self._watches.values() if w.hearing is channel]:
            watch.hearing = None
            sound, floor = watch.sound, watch.publication.sound
            if sound is not None and floor is not None:
                sound.forwarder.hand_over(sound, floor)

    async def publications(self, session_id: int) -> list[dict[str, object]]:
        room = self._rooms.get(session_id)
        return [p.describe() for p in room.publications.values()] if room else []

    async def recording(self, session_id: int) -> bool:
        room = self._rooms.get(session_id)
        return room is not None and room.recorder is not None

    def rooms(self) -> list[int]:
        """The sessions whose stage this host carries (publishing or recording)."""
        return list(self._rooms)

    # Watching

    async def watch(
        self,
        session_id: int,
        publication_id: str,
        owner: str,
        audio_only: bool,
        watch_id: str | None = None,
    ) -> tuple[str, str]:
        """Offer the publication on a seat; returns the watch's id and the offer.

        Without ``watch_id`` this host reserves the seat; with one, whoever routed the
        request here (``media_remote``) has seated the viewer on this worker already.
        """
        publication = await self._to_watch(session_id, publication_id)
        self._joining[publication.id] += 1  # keeps a relay open while the offer is made
        try:
            return await self._seat_and_offer(publication, owner, audio_only, watch_id)
        finally:
            self._joining[publication.id] -= 1
            if not self._joining[publication.id]:
                del self._joining[publication.id]
            await self._end_relayed_if_unwatched(publication)

    async def _seat_and_offer(
        self, publication: Publication, owner: str, audio_only: bool, watch_id: str | None
    ) -> tuple[str, str]:
        session_id = publication.session_id
        seat = Seat.AUDIO if audio_only else Seat.VIDEO
        if watch_id is None:
            watch_id = uuid.uuid4().hex
            admission = await self.budget.admit(session_id, watch_id, seat)
            if admission != Admission.ADMITTED:
                raise refusal(admission)
        wanted = [
            f for f in publication.publisher.forwarders if seat == Seat.VIDEO or f.kind == "audio"
        ]
        try:
            if not wanted:
                raise NotFound("stage.no_audio", "This speaker sends no sound.")
            viewer = await offer_to_viewer(wanted, self.configuration)
        except BaseException:
            await self.budget.release(session_id, watch_id)
            raise
        watch = Watch(watch_id, publication, owner, seat, viewer)
        self._watches[watch_id] = watch
        self._follow(viewer.pc, lambda: self._end_watch(watch))
        return watch_id, viewer.offer.sdp

    async def answer(self, session_id: int, watch_id: str, owner: str, answer: str) -> None:
        watch = self._own_watch(session_id, watch_id, owner)
        try:
            await watch.peer.accept_answer(_description(answer, "answer"))
        except (CodecMismatch, ValueError) as error:
            await self._end_watch(watch)
            log.info("a viewer's answer was refused: %s", error)
            raise InvalidInput("stage.bad_media", "Your browser cannot play this stream.") from None

    async def leave(self, session_id: int, watch_id: str, owner: str) -> None:
        await self._end_watch(self._own_watch(session_id, watch_id, owner))

    # Ending

    async def drop_owner(self, owner: str) -> None:
        """A signalling connection went away: end everything it published or watched."""
        for watch in [w for w in self._watches.values() if w.owner == owner]:
            await self._end_watch(watch)
        for publication in [p for p in self._publications.values() if p.owner == owner]:
            await self._end_publication(publication)

    async def drop_account(self, session_id: int, account_id: int) -> None:
        """Someone taken off the stage stops publishing in that room."""
        for publication in self._find(session_id, account_id):
            await self._end_publication(publication)

    async def close(self) -> None:
        for watch in list(self._watches.values()):
            await self._end_watch(watch)
        for relayed in list(self._relayed.values()):
            await self._end_relayed(relayed)
        for publication in list(self._publications.values()):
            await self._end_publication(publication, announce=False)
        for room in self._rooms.values():
            self._stop_recording(room)
        self._rooms.clear()

    async def _end_publication(self, publication: Publication, announce: bool = True) -> None:
        if self._publications.pop(publication.id, None) is None:
            return
        room = self._rooms[publication.session_id]
        room.publications.pop(publication.id, None)
        for watch in [w for w in self._watches.values() if w.publication is publication]:
            await self._end_watch(watch)
        if publication.language is not None:
            self._off_air(publication)
            if publication.on_air:  # the interpreter standing by longest goes on air
                waiting = [
                    p for p in room.publications.values() if p.language == publication.language
                ]
                if waiting:
                    waiting[0].on_air = True
                    self._record_channel(publication.session_id, room, waiting[0])
        await publication.publisher.close()
        if not room.publications and (room.recorder is not None or room.channels):
            loop = asyncio.get_running_loop()
            room.closing = loop.call_later(RECORDING_GRACE, self._stop_recording, room)
        if announce:
            await self._changed(publication.session_id)

    async def _end_watch(self, watch: Watch) -> None:
        if self._watches.pop(watch.id, None) is None:
            return
        await self.budget.release(watch.publication.session_id, watch.id)
        await watch.peer.close()
        await self._end_relayed_if_unwatched(watch.publication)
        if watch.hearing is not None:
            await self._end_relayed_if_unwatched(watch.hearing)

    def _own_watch(self, session_id: int, watch_id: str, owner: str) -> Watch:
        watch = self._watches.get(watch_id)
        if watch is None or (watch.publication.session_id, watch.owner) != (session_id, owner):
            raise NotFound("stage.not_found", "There is no such stream.")
        return watch

    def _find(
        self, session_id: int, account_id: int, source: str | None = None
    ) -> list[Publication]:
        room = self._rooms.get(session_id)
        return [
            p
            for p in (room.publications.values() if room else ())
            if p.account_id == account_id and source in (None, p.source)
        ]

    def _follow(self, pc: RTCPeerConnection, end: Callable[[], Awaitable[None]]) -> None:
        @pc.on("connectionstatechange")
        async def state_changed() -> None:
            if pc.connectionState in ("failed", "closed"):
                await end()

    async def _changed(self, session_id: int) -> None:
        if self.on_change is not None:
            try:
                await self.on_change(session_id)
            except Exception:
                log.exception("announcing the stage of session %s failed", session_id)

    # Relaying

    def relayable(self, publication_id: str) -> tuple[Published, list[Forwarder]] | None:
        """A publication made here, as an edge asks for it (``relay.RelayServer``)."""
        publication = self._publications.get(publication_id)
        if publication is None:
            return None
        forwarders = publication.publisher.forwarders
        codecs = [f.codec for f in forwarders]
        published = Published(
            publication.session_id, publication.account_id, publication.source, codecs
        )
        return published, forwarders

    async def _to_watch(self, session_id: int, publication_id: str) -> Publication:
        publication = self._publications.get(publication_id) or self._relayed.get(publication_id)
        if publication is None and self.relaying is not None:
            opening = self._opening.get(publication_id)
            if opening is None:  # the first viewer here: later ones wait for the same relay
                opening = asyncio.create_task(self._relay(session_id, publication_id))
                self._opening[publication_id] = opening
                opening.add_done_callback(lambda _: self._opening.pop(publication_id, None))
            publication = await asyncio.shield(opening)
        if publication is None or publication.session_id != session_id:
            raise NotFound("stage.not_found", "This speaker is no longer on stage.")
        return publication

    async def _relay(self, session_id: int, publication_id: str) -> Publication | None:
        """The publication relayed from the room's origin worker; None if it has none."""
        assert self.relaying is not None
        origin = await self.budget.assign(session_id)
        if origin is None or origin == self.relaying.worker:
            return None
        address = await self.budget.relay_address(origin)
        if address is None:
            return None
        try:
            relay = await Relay.open(address, publication_id, self.relaying.secret)
        except RelayRefused:
            return None
        except (OSError, TimeoutError, ValueError) as error:
            log.warning("could not relay %s from worker %s: %r", publication_id, origin, error)
            raise refusal(Admission.NO_WORKER) from None
        published = relay.published
        if published.session_id != session_id:
            await relay.close()
            return None
        publication = Publication(
            publication_id, session_id, published.account_id, published.source, "", relay
        )
        self._relayed[publication_id] = publication
        if publication.source == INTERPRETATION and publication.sound is not None:
            publication.sound.before_end = lambda: self._off_air(publication)
        ending = asyncio.create_task(self._end_with_origin(publication, relay))
        self._tasks.add(ending)
        ending.add_done_callback(self._tasks.discard)
        return publication

    async def _end_with_origin(self, publication: Publication, relay: Relay) -> None:
        await relay.ended.wait()
        await self._end_relayed(publication)

    async def _end_relayed_if_unwatched(self, publication: Publication) -> None:
        watched = any(publication in (w.publication, w.hearing) for w in self._watches.values())
        wanted = watched or publication.id in self._joining
        if not wanted and self._relayed.get(publication.id) is publication:
            await self._end_relayed(publication)

    async def _end_relayed(self, publication: Publication) -> None:
        if self._relayed.pop(publication.id, None) is None:
            return
        for watch in [w for w in self._watches.values() if w.publication is publication]:
            await self._end_watch(watch)
        self._off_air(publication)
        await publication.publisher.close()

    # Recording

    def _record(self, session_id: int, room: _Stage, publication: Publication) -> None:
        """The camera goes to the session's file; screens and further cameras are not kept,
        since putting several pictures in one would mean decoding and encoding them. Each
        interpretation channel goes to a file of its own beside it, from whichever
        interpreter is on air."""
        if publication.language is not None:
            self._record_channel(session_id, room, publication)
            return
        if self.data_dir is None or publication.source != "camera":
            return
        if room.closing is not None:
            room.closing.cancel()
            room.closing = None
        forwarders = publication.publisher.forwarders
        if room.recorder is None:
            room.recorder = Recorder(self.data_dir, session_id, forwarders)
        else:
            room.recorder.attach(forwarders)

    def _record_channel(self, session_id: int, room: _Stage, channel: Publication) -> None:
        language, sound = channel.language, channel.sound
        if self.data_dir is None or language is None or sound is None or not channel.on_air:
            return
        if room.closing is not None:
            room.closing.cancel()
            room.closing = None
        recorder = room.channels.get(language)
        if recorder is None:
            room.channels[language] = Recorder(
                self.data_dir, session_id, [sound], language=language
            )
        else:
            recorder.follow(sound)

    def _stop_recording(self, room: _Stage) -> None:
        if room.closing is not None:
            room.closing.cancel()
            room.closing = None
        for recorder in [room.recorder, *room.channels.values()]:
            if recorder is not None:
                with contextlib.suppress(Exception):
                    recorder.stop()
        room.recorder = None
        room.channels.clear()


def _sound_only(publisher: Publisher) -> bool:
    kinds = {f.kind for f in publisher.forwarders}
    return kinds == {"audio"}


def _description(sdp: str, kind: str) -> RTCSessionDescription:
    if not sdp.startswith("v=0"):
        raise InvalidInput("stage.bad_media", "That is not a session description.")
    return RTCSessionDescription(sdp=sdp, type=kind)


def refusal(admission: Admission) -> SidestageError:
    """The room offers the other ways in: ``details.instead`` lists them."""
    if admission == Admission.FULL:
        return Unavailable(
            "stage.full",
            "The stage is full. Listen with sound only, or open the stream.",
            details={"instead": ["audio", "stream"]},
        )
    return Unavailable(
        "stage.unavailable",
        "The stage is not available now. Open the stream instead.",
        details={"instead": ["stream"]},
    )
