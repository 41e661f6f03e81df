"""Which media worker carries which room's stage, and how many viewers it may still take.

Each media worker announces a budget in units (a video viewer costs more than an
audio-only one) and renews it with a heartbeat; a worker that stops renewing drops out
and its rooms go to others on their next assignment. A room's stage lives on one worker,
its origin (chosen with the most free units, then kept), and each viewer reserves units
before a worker sets up their peer connection. A budget made with ``spread`` seats the
viewers a full origin cannot take on the worker with the most free units, which relays
the stage from the origin (media workers announce where they relay from); without it,
or once every worker is full, the viewer is refused with a clear answer instead of
overloading a worker for everyone in the room.

With Redis the budget is shared by every process (each step one Lua script, so two
processes cannot both take the last seat); on the embedded default it is in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, cast

from redis.asyncio import Redis

WORKER_TTL = 15  # seconds: three missed heartbeats of 5 s


class Seat(StrEnum):
    """What a viewer costs, in units of a worker's budget."""

    VIDEO = "video"
    AUDIO = "audio"


COST = {Seat.VIDEO: 10, Seat.AUDIO: 1}  # forwarding 1 Mbit/s of video vs ~40 kbit/s Opus


class Admission(StrEnum):
    ADMITTED = "admitted"
    FULL = "full"  # the room's worker has no units left for this seat
    NO_WORKER = "no_worker"  # no media worker is running


class MediaBudget(Protocol):
    async def heartbeat(self, worker: str, capacity: int, relay: str | None = None) -> None: ...

    async def assign(self, room: int) -> str | None: ...

    async def admit(self, room: int, viewer: str, seat: Seat) -> Admission: ...

    async def seated_on(self, room: int, viewer: str) -> str | None:
        """The worker holding the viewer's seat, if it has one."""
        ...

    async def release(self, room: int, viewer: str) -> None: ...

    async def used(self, worker: str) -> int: ...

    async def relay_address(self, worker: str) -> str | None:
        """Where ``worker`` serves its publications to other workers (``media.relay``)."""
        ...


@dataclass
class _Worker:
    capacity: int
    used: int = 0
    alive_until: float = 0.0
    relay: str | None = None

    @property
    def free(self) -> int:
        return self.capacity - self.used


@dataclass
class MemoryMediaBudget:
    """One process: the workers are in it (the embedded default)."""

    clock: Callable[[], float] = field(default_factory=lambda: time.monotonic)
    spread: bool = False
    workers: dict[str, _Worker] = field(default_factory=dict)
    rooms: dict[int, str] = field(default_factory=dict)
    seats: dict[tuple[int, str], tuple[str, int]] = field(default_factory=dict)

    def _now(self) -> float:
        return self.clock()

    def _alive(self, worker: str | None) -> bool:
        found = self.workers.get(worker or "")
        return found is not None and found.alive_until > self._now()

    async def heartbeat(self, worker: str, capacity: int, relay: str | None = None) -> None:
        known = self.workers.setdefault(worker, _Worker(capacity))
        known.capacity, known.alive_until = capacity, self._now() + WORKER_TTL
        known.relay = relay

    async def assign(self, room: int) -> str | None:
        if self._alive(self.rooms.get(room)):
            return self.rooms[room]
        alive = [
            (w.used - w.capacity, name) for name, w in self.workers.items() if self._alive(name)
        ]
        if not alive:
            return None
        self.rooms[room] = min(alive)[1]  # the most free units; on a tie, the first name
        return self.rooms[room]

    async def admit(self, room: int, viewer: str, seat: Seat) -> Admission:
        worker = await self.assign(room)
        if worker is None:
            return Admission.NO_WORKER
        if (room, viewer) in self.seats:
            return Admission.ADMITTED  # a retry of the same viewer takes no second seat
        cost = COST[seat]
        if self.workers[worker].free < cost and self.spread:
            # The most free units; on a tie, the first name (as ``assign`` and the Lua).
            worker = min((-w.free, name) for name, w in self.workers.items() if self._alive(name))[
                1
            ]
        if self.workers[worker].free < cost:
            return Admission.FULL
        self.workers[worker].used += cost
        self.seats[(room, viewer)] = (worker, cost)
        return Admission.ADMITTED

    async def seated_on(self, room: int, viewer: str) -> str | None:
        held = self.seats.get((room, viewer))
        return held[0] if held else None

    async def release(self, room: int, viewer: str) -> None:
        held = self.seats.pop((room, viewer), None)
        if held is not None and held[0] in self.workers:
            self.workers[held[0]].used -= held[1]

    async def used(self, worker: str) -> int:
        return self.workers[worker].used if worker in self.workers else 0

    async def relay_address(self, worker: str) -> str | None:
        return self.workers[worker].relay if self._alive(worker) else None


# KEYS[1] the set of workers; ARGV[1] the room; ARGV[2] the key prefix. The room's worker
# if it is alive, else the live worker with the most free units (dead ones are forgotten).
ASSIGN = """
local prefix = ARGV[2]
local current = redis.call('GET', prefix .. 'room:' .. ARGV[1])
if current and redis.call('EXISTS', prefix .. 'worker:' .. current) == 1 then
  return current
end
local best, best_free = nil, nil
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local budget = redis.call('HMGET', prefix .. 'worker:' .. name, 'capacity', 'used')
  if budget[1] then
    local free = tonumber(budget[1]) - tonumber(budget[2] or '0')
    if best == nil or free > best_free or (free == best_free and name < best) then
      best, best_free = name, free
    end
  else
    redis.call('SREM', KEYS[1], name)
  end
end
if best then redis.call('SET', prefix .. 'room:' .. ARGV[1], best) end
return best or false
"""

# KEYS[1] the set of workers, KEYS[2] the viewer's seat; ARGV[1] the cost, ARGV[2] the
# room's worker, ARGV[3] the key prefix, ARGV[4] "1" to spread. The seat's worker if
# admitted (or already seated), 0 full, -1 the room's worker is gone. Spreading takes the
# live worker with the most free units, on a tie the first name, as ASSIGN does.
ADMIT = """
local prefix, cost = ARGV[3], tonumber(ARGV[1])
local held = redis.call('GET', KEYS[2])
if held then return string.match(held, '^(%S+)') end
local function free(name)
  local budget = redis.call('HMGET', prefix .. 'worker:' .. name, 'capacity', 'used')
  if not budget[1] then return nil end
  return tonumber(budget[1]) - tonumber(budget[2] or '0')
end
local chosen, chosen_free = ARGV[2], free(ARGV[2])
if chosen_free == nil then return -1 end
if chosen_free < cost and ARGV[4] == '1' then
  for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    local other = free(name)
    if other and (other > chosen_free or (other == chosen_free and name < chosen)) then
      chosen, chosen_free = name, other
    end
  end
end
if chosen_free < cost then return 0 end
redis.call('HINCRBY', prefix .. 'worker:' .. chosen, 'used', cost)
redis.call('SET', KEYS[2], chosen .. ' ' .. cost)
return chosen
"""

# KEYS[1] the viewer's seat; ARGV[1] the key prefix. Gives the seat's units back once.
RELEASE = """
local held = redis.call('GET', KEYS[1])
if not held then return 0 end
redis.call('DEL', KEYS[1])
local worker, cost = string.match(held, '^(%S+) (%d+)$')
local budget = ARGV[1] .. 'worker:' .. worker
if redis.call('EXISTS', budget) == 1 then redis.call('HINCRBY', budget, 'used', -tonumber(cost)) end
return 1
"""


class RedisMediaBudget:
    """Shared by every process through Redis."""

    def __init__(
        self, redis: Redis, prefix: str = "sidestage:media:", spread: bool = False
    ) -> None:
        self.redis, self.prefix, self.spread = redis, prefix, spread
        self._assign = redis.register_script(ASSIGN)
        self._admit = redis.register_script(ADMIT)
        self._release = redis.register_script(RELEASE)

    def _worker(self, worker: str) -> str:
        return f"{self.prefix}worker:{worker}"

    def _seat(self, room: int, viewer: str) -> str:
        return f"{self.prefix}seat:{room}:{viewer}"

    async def heartbeat(self, worker: str, capacity: int, relay: str | None = None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._worker(worker), "capacity", capacity)
            if relay is not None:
                pipe.hset(self._worker(worker), "relay", relay)
            pipe.hsetnx(self._worker(worker), "used", 0)
            pipe.expire(self._worker(worker), WORKER_TTL)
            pipe.sadd(f"{self.prefix}workers", worker)
            await pipe.execute()

    async def assign(self, room: int) -> str | None:
        chosen = await self._assign(keys=[f"{self.prefix}workers"], args=[room, self.prefix])
        return chosen.decode() if chosen else None

    async def admit(self, room: int, viewer: str, seat: Seat) -> Admission:
        worker = await self.assign(room)
        if worker is None:
            return Admission.NO_WORKER
        answer = await self._admit(
            keys=[f"{self.prefix}workers", self._seat(room, viewer)],
            args=[COST[seat], worker, self.prefix, int(self.spread)],
        )
        if answer == -1:  # the worker died since it was assigned; assign skips it now
            return await self.admit(room, viewer, seat)
        return Admission.FULL if answer == 0 else Admission.ADMITTED

    async def seated_on(self, room: int, viewer: str) -> str | None:
        held = cast(bytes | None, await self.redis.get(self._seat(room, viewer)))
        return held.decode().split(" ")[0] if held else None

    async def release(self, room: int, viewer: str) -> None:
        await self._release(keys=[self._seat(room, viewer)], args=[self.prefix])

    async def used(self, worker: str) -> int:
        return int(await self.redis.hget(self._worker(worker), "used") or 0)

    async def relay_address(self, worker: str) -> str | None:
        address = cast(bytes | None, await self.redis.hget(self._worker(worker), "relay"))
        return address.decode() if address else None
