"""Who is in which room, counted once per person however many tabs or processes they use.

In memory on one process; in Redis across processes. Each process also keeps its
own share (``mine``) and a heartbeat, so when a process dies the others can
take its connections out of the totals (``sweep_dead``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

from redis.asyncio import Redis

HEARTBEAT_TTL = 15  # seconds without a heartbeat before a process counts as dead
PREFIX = "sidestage:presence"


class Presence(Protocol):
    async def join(self, session_id: int, account_id: int) -> bool:
        """Count one more connection; True when it is the person's first in the room."""
        ...

    async def leave(self, session_id: int, account_id: int) -> bool:
        """Count one connection less; True when the person has no connection left there."""
        ...

    async def counts(self, session_ids: Iterable[int]) -> dict[int, int]: ...

    async def present(self, session_id: int, account_id: int) -> bool: ...

    async def heartbeat(self) -> None: ...

    async def sweep_dead(self) -> list[tuple[int, int]]:
        """Remove dead processes' connections; return the (room, person) pairs now absent."""
        ...

    def local_pairs(self) -> set[tuple[int, int]]: ...

    def local_rooms(self) -> set[int]:
        """The rooms with someone connected here (cheaper than their pairs)."""
        ...


class MemoryPresence:
    """One process holds everything: its own share is the whole truth."""

    def __init__(self) -> None:
        self._connections: dict[int, dict[int, int]] = defaultdict(dict)

    async def join(self, session_id: int, account_id: int) -> bool:
        room = self._connections[session_id]
        room[account_id] = room.get(account_id, 0) + 1
        return room[account_id] == 1

    async def leave(self, session_id: int, account_id: int) -> bool:
        room = self._connections[session_id]
        if account_id not in room:
            return False
        room[account_id] -= 1
        if room[account_id] > 0:
            return False
        del room[account_id]
        return True

    async def counts(self, session_ids: Iterable[int]) -> dict[int, int]:
        return {sid: len(self._connections.get(sid, {})) for sid in session_ids}

    async def present(self, session_id: int, account_id: int) -> bool:
        return account_id in self._connections.get(session_id, {})

    async def heartbeat(self) -> None:
        return None

    async def sweep_dead(self) -> list[tuple[int, int]]:
        return []

    def local_pairs(self) -> set[tuple[int, int]]:
        return {(s, a) for s, room in self._connections.items() for a in room}

    def connections(self) -> dict[tuple[int, int], int]:
        """(room, person) -> connections here."""
        return {(s, a): n for s, room in self._connections.items() for a, n in room.items()}

    def local_rooms(self) -> set[int]:
        return {s for s, room in self._connections.items() if room}


class RedisPresence:
    """Totals in ``{PREFIX}:total:{room}`` (person -> connections, all processes);
    this process's share in ``{PREFIX}:proc:{id}`` (``room:person`` -> connections)."""

    def __init__(self, redis: Redis, process_id: str) -> None:
        self._redis = redis
        self._process = process_id
        self._local = MemoryPresence()

    def _total(self, session_id: int) -> str:
        return f"{PREFIX}:total:{session_id}"

    def _share(self, process_id: str) -> str:
        return f"{PREFIX}:proc:{process_id}"

    async def join(self, session_id: int, account_id: int) -> bool:
        await self._local.join(session_id, account_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self._total(session_id), str(account_id), 1)
            pipe.hincrby(self._share(self._process), f"{session_id}:{account_id}", 1)
            total, _ = await pipe.execute()
        return int(total) == 1

    async def leave(self, session_id: int, account_id: int) -> bool:
        if not await self._local.present(session_id, account_id):
            return False
        await self._local.leave(session_id, account_id)
        return await self._remove(self._process, session_id, account_id, 1)

    async def _remove(self, process_id: str, session_id: int, account_id: int, n: int) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self._total(session_id), str(account_id), -n)
            pipe.hincrby(self._share(process_id), f"{session_id}:{account_id}", -n)
            total, share = await pipe.execute()
        if int(share) <= 0:
            await self._redis.hdel(self._share(process_id), f"{session_id}:{account_id}")
        if int(total) <= 0:
            # Delete only if still zero: another process may have joined meanwhile.
            await self._redis.eval(
                _DELETE_IF_NOT_POSITIVE, 1, self._total(session_id), str(account_id)
            )
            return True
        return False

    async def counts(self, session_ids: Iterable[int]) -> dict[int, int]:
        ids = list(session_ids)
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in ids:
                pipe.hlen(self._total(session_id))
            lengths = await pipe.execute()
        return {sid: int(n) for sid, n in zip(ids, lengths, strict=True)}

    async def present(self, session_id: int, account_id: int) -> bool:
        value = await self._redis.hget(self._total(session_id), str(account_id))
        return value is not None and int(value) > 0

    async def heartbeat(self) -> None:
        """Say this process lives; if Redis had forgotten it (restarted without its data,
        or this process was taken for dead), put its people back in the counts."""
        alive = f"{PREFIX}:alive:{self._process}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(alive, str(time.time()), ex=HEARTBEAT_TTL, get=True)
            pipe.sadd(f"{PREFIX}:processes", self._process)
            previous, _ = await pipe.execute()
        if previous is None:
            await self._restore()

    async def _restore(self) -> None:
        """Make Redis hold this process's connections as it knows them: by difference, so
        that running it when nothing was lost changes nothing."""
        held = await self._redis.hgetall(self._share(self._process))
        known = {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in held.items()}
        mine = {f"{s}:{a}": n for (s, a), n in self._local.connections().items()}
        for field in set(known) | set(mine):
            change = mine.get(field, 0) - known.get(field, 0)
            session_id, account_id = (int(part) for part in field.split(":"))
            if change > 0:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.hincrby(self._total(session_id), str(account_id), change)
                    pipe.hincrby(self._share(self._process), field, change)
                    await pipe.execute()
            elif change < 0:
                await self._remove(self._process, session_id, account_id, -change)

    async def sweep_dead(self) -> list[tuple[int, int]]:
        gone: list[tuple[int, int]] = []
        for raw in await self._redis.smembers(f"{PREFIX}:processes"):
            process = raw.decode() if isinstance(raw, bytes) else str(raw)
            if process == self._process or await self._redis.exists(f"{PREFIX}:alive:{process}"):
                continue
            # Only one sweeper takes a dead process's share.
            if not await self._redis.set(f"{PREFIX}:sweeping:{process}", "1", nx=True, ex=60):
                continue
            gone += await self._take_over(process)
        return gone

    async def _take_over(self, process: str) -> list[tuple[int, int]]:
        gone = []
        share = await self._redis.hgetall(self._share(process))
        for field, connections in share.items():
            text = field.decode() if isinstance(field, bytes) else str(field)
            session_id, account_id = (int(part) for part in text.split(":"))
            if await self._remove(process, session_id, account_id, int(connections)):
                gone.append((session_id, account_id))
        await self._redis.delete(self._share(process))
        await self._redis.srem(f"{PREFIX}:processes", process)
        return gone

    def local_pairs(self) -> set[tuple[int, int]]:
        return self._local.local_pairs()

    def local_rooms(self) -> set[int]:
        return self._local.local_rooms()


_DELETE_IF_NOT_POSITIVE = """
local value = redis.call('HGET', KEYS[1], ARGV[1])
if value and tonumber(value) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""
