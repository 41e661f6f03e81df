"""The stage as an app process sees it when media workers run apart (``media_link``).

Implements ``rooms.shared.StageMedia`` by routing each request to the worker the budget
assigns the room, and reading the room's stage from the state its worker keeps in Redis.
A viewer is seated first (``media_budget``: on the room's worker while it has room, else on
another, which relays the stage), and the watch, its answer and its leaving go to the
worker that holds the seat. No worker, or one that does not answer, is
``stage.unavailable``: the room offers the external stream, and everything else in it
goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from sidestage.platform.errors import NotFound
from sidestage.realtime import media_link as link
from sidestage.realtime.media.stage import refusal
from sidestage.realtime.media_budget import Admission, MediaBudget, Seat

log = logging.getLogger(__name__)


class WorkerFailed(RuntimeError):
    """The worker hit an unexpected error; the caller answers ``server.error``."""


class RemoteStage:
    def __init__(
        self, redis: Redis, budget: MediaBudget, process_id: str, reply_within: float | None = None
    ) -> None:
        self.budget = budget
        self._redis = redis
        self._replies = link.replies_channel(process_id)
        self._reply_within = link.REPLY_WITHIN if reply_within is None else reply_within
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._pubsub: PubSub | None = None
        self._listening: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._replies)
        self._listening = asyncio.create_task(self._listen(self._pubsub))

    async def close(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
        if self._pubsub is not None:
            await self._pubsub.aclose()

    # StageMedia

    async def publish(
        self,
        session_id: int,
        account_id: int,
        source: str,
        owner: str,
        offer: str,
        language: str | None = None,
    ) -> tuple[str, str]:
        publication_id, answer = await self._call(
            session_id,
            "publish",
            account_id=account_id,
            source=source,
            owner=owner,
            offer=offer,
            language=language,
        )
        return publication_id, answer

    async def take_over(self, session_id: int, publication_id: str, owner: str) -> None:
        await self._call(session_id, "take_over", publication_id=publication_id, owner=owner)

    async def listen(
        self, session_id: int, watch_id: str, owner: str, channel_id: str | None
    ) -> None:
        worker = await self._seat_of(session_id, watch_id)  # where the watch is: it relays
        await self._call_on(
            worker, session_id, "listen", watch_id=watch_id, owner=owner, channel_id=channel_id
        )

    async def unpublish(self, session_id: int, publication_id: str, owner: str) -> None:
        await self._call(session_id, "unpublish", publication_id=publication_id, owner=owner)

    async def watch(
        self, session_id: int, publication_id: str, owner: str, audio_only: bool
    ) -> tuple[str, str]:
        watch_id = uuid.uuid4().hex
        seat = Seat.AUDIO if audio_only else Seat.VIDEO
        admission = await self.budget.admit(session_id, watch_id, seat)
        if admission != Admission.ADMITTED:
            raise refusal(admission)
        worker = await self.budget.seated_on(session_id, watch_id)
        if worker is None:  # its worker died and the seat went with it
            raise refusal(Admission.NO_WORKER)
        try:
            offered_id, offer = await self._call_on(
                worker,
                session_id,
                "watch",
                publication_id=publication_id,
                owner=owner,
                audio_only=audio_only,
                watch_id=watch_id,
            )
        except BaseException:
            await self.budget.release(session_id, watch_id)  # the worker may not have
            raise
        return offered_id, offer

    async def answer(self, session_id: int, watch_id: str, owner: str, answer: str) -> None:
        worker = await self._seat_of(session_id, watch_id)
        await self._call_on(
            worker, session_id, "answer", watch_id=watch_id, owner=owner, answer=answer
        )

    async def leave(self, session_id: int, watch_id: str, owner: str) -> None:
        worker = await self._seat_of(session_id, watch_id)
        await self._call_on(worker, session_id, "leave", watch_id=watch_id, owner=owner)

    async def drop_account(self, session_id: int, account_id: int) -> None:
        await self._call(session_id, "drop_account", account_id=account_id)

    async def publications(self, session_id: int) -> list[dict[str, Any]]:
        return list((await self._state(session_id)).get("publications", []))

    async def recording(self, session_id: int) -> bool:
        return bool((await self._state(session_id)).get("recording", False))

    async def drop_owner(self, owner: str) -> None:
        """A signalling connection went away: every worker ends what it opened."""
        request = {"op": "drop_owner", "args": {"owner": owner}}
        await self._redis.publish(link.EVERY_WORKER, json.dumps(request))

    # Routing

    async def _state(self, session_id: int) -> dict[str, Any]:
        raw = await self._redis.get(link.state_key(session_id))
        return dict(json.loads(raw)) if raw else {}

    async def _seat_of(self, session_id: int, watch_id: str) -> str:
        worker = await self.budget.seated_on(session_id, watch_id)
        if worker is None:
            raise NotFound("stage.not_found", "There is no such stream.")
        return worker

    async def _call(self, session_id: int, op: str, **args: Any) -> Any:
        """``op`` on the room's worker (its origin)."""
        worker = await self.budget.assign(session_id)
        if worker is None:
            raise refusal(Admission.NO_WORKER)
        return await self._call_on(worker, session_id, op, **args)

    async def _call_on(self, worker: str, session_id: int, op: str, **args: Any) -> Any:
        request_id = uuid.uuid4().hex
        reply = self._waiting[request_id] = asyncio.get_running_loop().create_future()
        request = {
            "id": request_id,
            "reply_to": self._replies,
            "op": op,
            "args": {"session_id": session_id, **args},
        }
        try:
            listeners = await self._redis.publish(
                link.requests_channel(worker), json.dumps(request)
            )
            if listeners == 0:
                raise refusal(Admission.NO_WORKER)  # it stopped since its last heartbeat
            answer = await asyncio.wait_for(reply, self._reply_within)
        except TimeoutError:
            log.error("media worker %s did not answer %s in time", worker, op)
            raise refusal(Admission.NO_WORKER) from None
        finally:
            self._waiting.pop(request_id, None)
        if answer.get("ok"):
            return answer.get("result")
        if answer.get("error") is None:
            raise WorkerFailed(f"media worker {worker} failed on {op}")
        raise link.refusal_from_wire(answer["error"])

    async def _listen(self, pubsub: PubSub) -> None:
        async for data in link.messages(pubsub):
            try:
                answer = json.loads(data)
                waiting = self._waiting.get(answer["id"])
            except (ValueError, KeyError, TypeError):
                log.error("an unreadable media reply was ignored")
                continue
            if waiting is not None and not waiting.done():
                waiting.set_result(answer)
