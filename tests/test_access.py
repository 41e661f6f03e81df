"""Who may enter which session; roles granted by organizers; invite links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from sidestage.platform.access.models import Invite, InviteRedemption, Role, RoleGrant
from sidestage.platform.db import transaction
from sidestage.platform.program.models import Session
from tests.helpers import bearer, guest_token, load_demo_program, registered_token, user_with_role


async def _session(db, visibility: str) -> Session:  # type: ignore[no-untyped-def]
    async with db() as s:
        found = await s.scalar(
            select(Session)
            .where(Session.visibility == visibility, Session.kind == "side_event")
            .order_by(Session.id)
            .limit(1)
        )
    assert found is not None
    return found


async def _may_enter(client: TestClient, session_id: int, token: str | None) -> bool:
    headers = bearer(token) if token else {}
    response = await client.get(f"/api/sessions/{session_id}", headers=headers)
    assert response.status == 200
    return bool((await response.json())["may_enter"])


async def _host_invite(client, db, session: Session, **options) -> dict:  # type: ignore[no-untyped-def]
    host = await user_with_role(db, client, Role.HOST, organization_id=session.host_organization_id)
    body = {"session_id": session.id, "label": "our network", **options}
    response = await client.post(
        f"/api/organizations/{session.host_organization_id}/invites",
        json=body,
        headers=bearer(host),
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def test_visibility_rules(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    public = await _session(db, "public")
    registered = await _session(db, "registered")
    closed = await _session(db, "invite_only")
    guest, member = await guest_token(client), await registered_token(client)
    assert [await _may_enter(client, public.id, t) for t in (None, guest, member)] == [True] * 3
    assert [await _may_enter(client, registered.id, t) for t in (None, guest, member)] == [
        False,
        False,
        True,
    ]
    assert [await _may_enter(client, closed.id, t) for t in (None, guest, member)] == [False] * 3
    moderator = await user_with_role(db, client, Role.MODERATOR, session_id=closed.id)
    assert await _may_enter(client, closed.id, moderator)


async def test_invite_link_admits_a_guest(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    closed = await _session(db, "invite_only")
    invite = await _host_invite(client, db, closed, max_uses=5)
    assert invite["url"].endswith(f"/invite/{invite['code']}")
    guest = await guest_token(client, "Invited guest")
    assert not await _may_enter(client, closed.id, guest)
    response = await client.post(f"/api/invites/{invite['code']}/redeem", headers=bearer(guest))
    assert response.status == 200
    assert await _may_enter(client, closed.id, guest)
    # Redeeming again is harmless and costs no extra use.
    await client.post(f"/api/invites/{invite['code']}/redeem", headers=bearer(guest))
    async with db() as s:
        assert await s.scalar(select(Invite.uses).where(Invite.code == invite["code"])) == 1
        assert await s.scalar(select(func.count()).select_from(InviteRedemption)) == 1


async def test_expired_and_used_up_links_do_not_admit(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    closed = await _session(db, "invite_only")
    once = await _host_invite(client, db, closed, max_uses=1)
    first, second = await guest_token(client, "First"), await guest_token(client, "Second")
    assert (
        await client.post(f"/api/invites/{once['code']}/redeem", headers=bearer(first))
    ).status == 200
    used_up = await client.post(f"/api/invites/{once['code']}/redeem", headers=bearer(second))
    assert used_up.status == 403 and (await used_up.json())["error"]["code"] == "invite.used_up"
    assert not await _may_enter(client, closed.id, second)

    expiring = await _host_invite(client, db, closed)
    async with transaction(db) as s:
        await s.execute(
            update(Invite)
            .where(Invite.code == expiring["code"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    expired = await client.post(f"/api/invites/{expiring['code']}/redeem", headers=bearer(second))
    assert expired.status == 403 and (await expired.json())["error"]["code"] == "invite.expired"
    assert not await _may_enter(client, closed.id, second)
    unknown = await client.post("/api/invites/nope/redeem", headers=bearer(second))
    assert unknown.status == 404


async def test_concurrent_redemptions_never_exceed_the_cap(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    await load_demo_program(db)
    closed = await _session(db, "invite_only")
    invite = await _host_invite(client, db, closed, max_uses=3)
    tokens = [await guest_token(client, f"G{n}") for n in range(8)]
    answers = await asyncio.gather(
        *(client.post(f"/api/invites/{invite['code']}/redeem", headers=bearer(t)) for t in tokens)
    )
    assert sorted(a.status for a in answers) == [200] * 3 + [403] * 5
    async with db() as s:
        assert await s.scalar(select(Invite.uses).where(Invite.code == invite["code"])) == 3


async def test_only_hosts_of_the_organization_make_invites(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    closed = await _session(db, "invite_only")
    other_host = await user_with_role(
        db, client, Role.HOST, organization_id=closed.host_organization_id + 1
    )
    for token in (await guest_token(client), await registered_token(client), other_host):
        response = await client.post(
            f"/api/organizations/{closed.host_organization_id}/invites",
            json={"session_id": closed.id},
            headers=bearer(token),
        )
        assert response.status == 403
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(Invite)) == 0


async def test_organizer_grants_and_revokes_roles(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    organizer = await user_with_role(db, client, Role.ORGANIZER)
    await registered_token(client, "partner@example.org")
    closed = await _session(db, "invite_only")
    body = {
        "email": "partner@example.org",
        "role": "host",
        "organization_id": closed.host_organization_id,
    }
    member = await registered_token(client)
    refused = await client.post("/api/roles", json=body, headers=bearer(member))
    assert refused.status == 403
    made = await client.post("/api/roles", json=body, headers=bearer(organizer))
    assert made.status == 201
    grant_id = (await made.json())["id"]
    missing_scope = await client.post(
        "/api/roles",
        json={"email": "partner@example.org", "role": "host"},
        headers=bearer(organizer),
    )
    assert (await missing_scope.json())["error"]["code"] == "access.scope_required"
    listed = await (await client.get("/api/roles", headers=bearer(organizer))).json()
    assert any(g["id"] == grant_id and g["account_email"] == "partner@example.org" for g in listed)
    assert (await client.delete(f"/api/roles/{grant_id}", headers=bearer(organizer))).status == 200
    async with db() as s:
        assert await s.get(RoleGrant, grant_id) is None


async def test_organizer_sets_session_visibility_and_host(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    public = await _session(db, "public")
    organizer = await user_with_role(db, client, Role.ORGANIZER)
    member = await registered_token(client)
    body = {
        "kind": "side_event",
        "visibility": "invite_only",
        "host_organization_id": None,
        "capacity": 200,
        "stream_url": "https://stream.example.org/live",
    }
    refused = await client.put(
        f"/api/sessions/{public.id}/settings", json=body, headers=bearer(member)
    )
    assert refused.status == 403
    changed = await client.put(
        f"/api/sessions/{public.id}/settings", json=body, headers=bearer(organizer)
    )
    assert changed.status == 200, await changed.text()
    answer = await changed.json()
    assert (answer["visibility"], answer["host"], answer["capacity"]) == ("invite_only", None, 200)
    assert not await _may_enter(client, public.id, member)
    for bad in ({"stream_url": "javascript:alert(1)"}, {"host_organization_id": 999999}):
        response = await client.put(
            f"/api/sessions/{public.id}/settings", json={**body, **bad}, headers=bearer(organizer)
        )
        assert response.status in (400, 404)
    async with db() as s:
        kept = await s.get(Session, public.id)
        assert kept is not None and kept.stream_url == "https://stream.example.org/live"
