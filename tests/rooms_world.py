"""A demo conference with people in roles, and real clients for them."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from sidestage.platform.access.models import Role
from sidestage.platform.program.models import Session
from tests.helpers import bearer, guest_token, load_demo_program, user_with_role
from tests.live import Client


@dataclass(repr=False)  # pytest prints arguments of failing tests; keep that cheap
class World:
    http: TestClient
    db: object
    public: Session
    closed: Session  # invite-only, hosted by a partner
    on_site: Session  # days 2-4: not a live room
    clients: list[Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.http.make_url("/"))

    async def connect(self, token: str) -> Client:
        client = await Client(self.url, token).connect()
        self.clients.append(client)
        return client

    async def guest(self, name: str = "Guest") -> Client:
        return await self.connect(await guest_token(self.http, name))

    async def with_role(self, role: Role, **scope: int | None) -> Client:
        return await self.connect(await user_with_role(self.db, self.http, role, **scope))  # type: ignore[arg-type]

    async def invited_guest(self, session: Session, name: str = "Invited") -> Client:
        host = await user_with_role(
            self.db,
            self.http,
            Role.HOST,  # type: ignore[arg-type]
            organization_id=session.host_organization_id,
        )
        made = await self.http.post(
            f"/api/organizations/{session.host_organization_id}/invites",
            json={"session_id": session.id},
            headers=bearer(host),
        )
        code = (await made.json())["code"]
        token = await guest_token(self.http, name)
        redeemed = await self.http.post(f"/api/invites/{code}/redeem", headers=bearer(token))
        assert redeemed.status == 200
        return await self.connect(token)

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


async def make_world(http: TestClient, db) -> World:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    async with db() as s:

        def first(*where):  # type: ignore[no-untyped-def]
            return s.scalar(select(Session).where(*where).order_by(Session.id).limit(1))

        public = await first(Session.visibility == "public", Session.kind == "side_event")
        closed = await first(Session.visibility == "invite_only", Session.kind == "side_event")
        on_site = await first(Session.kind == "thematic")
    assert public and closed and on_site
    return World(http, db, public, closed, on_site)
