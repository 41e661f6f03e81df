"""One server, real clients: the room's basic flow end to end."""

from __future__ import annotations

from sqlalchemy import select

from sidestage.platform.access.models import Role
from sidestage.platform.program.models import Session
from tests.helpers import guest_token, load_demo_program, user_with_role
from tests.live import Client


async def _public_live_session(db) -> Session:  # type: ignore[no-untyped-def]
    async with db() as s:
        found = await s.scalar(
            select(Session)
            .where(Session.visibility == "public", Session.kind == "side_event")
            .limit(1)
        )
    assert found is not None
    return found


async def test_chat_poll_question_tool(client, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    session = await _public_live_session(db)
    url = str(client.make_url("/"))
    moderator = await Client(
        url, await user_with_role(db, client, Role.MODERATOR, session_id=session.id)
    ).connect()
    amina = await Client(url, await guest_token(client, "Amina")).connect()
    try:
        for c in (moderator, amina):
            state = await c.ok("room.enter", {"session_id": session.id})
            assert state["chat"] == [] and "count" in state
        sent = await amina.ok("chat.send", {"session_id": session.id, "text": "مرحبا everyone"})
        posted = await moderator.wait_for("chat.posted", lambda m: m["id"] == sent["id"])
        assert posted["text"] == "مرحبا everyone" and posted["author"]["name"] == "Amina"

        poll = await moderator.ok(
            "poll.create",
            {
                "session_id": session.id,
                "question": "Which first?",
                "options": ["Schools", "Inspection"],
            },
        )
        await moderator.ok("poll.open", {"poll_id": poll["poll_id"]})
        await amina.wait_for("poll.opened")
        await amina.ok("poll.vote", {"poll_id": poll["poll_id"], "choices": [1]})
        results = await amina.wait_for("poll.results_changed", lambda r: r["voters"] == 1)
        assert results["counts"] == [0, 1]

        asked = await amina.ok(
            "qa.ask", {"session_id": session.id, "text": "What about rural areas?"}
        )
        await moderator.wait_for("qa.question_added", lambda q: q["id"] == asked["question_id"])
        await moderator.ok("qa.moderate", {"question_id": asked["question_id"], "action": "answer"})
        changed = await amina.wait_for("qa.question_changed", lambda q: q["status"] == "answered")
        assert changed["id"] == asked["question_id"]

        await moderator.ok(
            "tool.launch",
            {"session_id": session.id, "title": "Toolkit", "url": "https://example.org/toolkit"},
        )
        tool = await amina.wait_for("tool.launched")
        assert tool["link"] == f"/tools/{tool['id']}/go"
        count = await amina.wait_for("room.count_changed", lambda c: c["count"] == 2)
        assert count["session_id"] == session.id
    finally:
        await moderator.close()
        await amina.close()
