"""The viewers spread over several processes, so the load generator is not the limit.

Viewer ``i`` (in the order the server made them) lives in process ``i % K`` at position
``i // K`` there; ``call`` keeps the single-process protocol of ``ViewersRole``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .child_processes import Child, start_child


class ViewerPool:
    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self.joined = 0

    @classmethod
    async def start(cls, processes: int, *extra: str) -> ViewerPool:
        started = await asyncio.gather(*(start_child("viewers", *extra) for _ in range(processes)))
        return cls(list(started))

    def _place(self, viewer: int) -> tuple[int, int]:
        return viewer % len(self.children), viewer // len(self.children)

    async def call(self, op: str, **params: Any) -> Any:
        if op == "answer":
            return await self._answer(params["offers"])
        if op in ("record", "arrivals"):
            return await self._sampled(op, params["viewers"])
        results = await asyncio.gather(*(c.call(op, **params) for c in self.children))
        if op == "cpu":
            return sum(results)
        if op == "sample":  # the same order every time: process by process
            return [viewer for result in results for viewer in result]
        return None

    async def _answer(self, offers: list[Any]) -> list[Any]:
        """The server's new offers, each to its viewer's process; answers in the same order."""
        shares: list[list[int]] = [[] for _ in self.children]
        for position in range(len(offers)):
            shares[self._place(self.joined + position)[0]].append(position)
        replies = await asyncio.gather(
            *(
                child.call("answer", offers=[offers[p] for p in share])
                for child, share in zip(self.children, shares, strict=True)
            )
        )
        answers: list[Any] = [None] * len(offers)
        for share, reply in zip(shares, replies, strict=True):
            for position, answer in zip(share, reply, strict=True):
                answers[position] = answer
        self.joined += len(offers)
        return answers

    async def _sampled(self, op: str, viewers: list[int]) -> list[Any] | None:
        places = [self._place(v) for v in viewers]
        replies = await asyncio.gather(
            *(
                child.call(op, viewers=[local for proc, local in places if proc == index])
                for index, child in enumerate(self.children)
            )
        )
        if op == "record":
            return None
        taken = [iter(reply) for reply in replies]
        return [next(taken[proc]) for proc, _ in places]

    async def close(self) -> None:
        await asyncio.gather(*(child.close() for child in reversed(self.children)))
